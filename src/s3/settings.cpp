#include "esper/s3/settings.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "esper/core/ascii.h"

namespace esper::s3 {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string ExpandHome(std::string path, const Environment& env) {
  if (path == "~" || path.starts_with("~/")) path = env("HOME").value_or("") + path.substr(1);
  return path;
}

// Reads the section named `section` of an AWS shared file into `out` (keys lower-case). Returns
// whether the section exists; a missing file is "not there", a malformed line an error.
Result<bool> ReadSection(const std::string& path, std::string_view section,
                         std::map<std::string, std::string, std::less<>>& out) {
  std::ifstream in(path);
  if (!in) return false;
  std::string line;
  int lineno = 0;
  bool in_section = false, found = false, in_subsection = false;
  while (std::getline(in, line)) {
    ++lineno;
    const std::string_view t = Trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t[0] == '[') {
      if (t.back() != ']')
        return Error::InvalidArgument(path + ":" + std::to_string(lineno) + ": section header without ']'");
      std::string name(Trim(t.substr(1, t.size() - 2)));
      in_section = name == section;
      found = found || in_section;
      in_subsection = false;
      continue;
    }
    const bool indented = line[0] == ' ' || line[0] == '\t';
    const size_t eq = t.find('=');
    if (eq == std::string_view::npos)
      return Error::InvalidArgument(path + ":" + std::to_string(lineno) + ": expected 'key = value'");
    if (indented && in_subsection) continue;  // a nested property ("s3 =\n  max_concurrent_requests = 20")
    const std::string_view value = Trim(t.substr(eq + 1));
    in_subsection = value.empty();
    if (!in_section) continue;
    out.insert_or_assign(AsciiLowerCopy(Trim(t.substr(0, eq))), std::string(value));
  }
  return found;
}

}  // namespace

Environment ProcessEnvironment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr || *v == '\0') return std::nullopt;
    return std::string(v);
  };
}

Environment MapEnvironment(std::map<std::string, std::string, std::less<>> values) {
  return [values = std::move(values)](std::string_view name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end() || it->second.empty()) return std::nullopt;
    return it->second;
  };
}

std::optional<std::string> Profile::Get(std::string_view key) const {
  auto it = values.find(key);
  if (it == values.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

std::string ProfileName(std::string_view explicit_name, const Environment& env) {
  if (!explicit_name.empty()) return std::string(explicit_name);
  return env("AWS_PROFILE").value_or("default");
}

Result<Profile> LoadProfile(std::string_view explicit_name, const Environment& env) {
  Profile p;
  p.name = ProfileName(explicit_name, env);
  p.config_file = ExpandHome(env("AWS_CONFIG_FILE").value_or("~/.aws/config"), env);
  p.credentials_file = ExpandHome(env("AWS_SHARED_CREDENTIALS_FILE").value_or("~/.aws/credentials"), env);
  // The config file names a profile "[profile NAME]" ("[default]" or "[profile default]" for
  // the default one); the credentials file "[NAME]". Credentials-file values win.
  bool found = false;
  if (p.name == "default") {
    ESPER_ASSIGN_OR_RETURN(bool plain, ReadSection(p.config_file, "default", p.values));
    found = plain;
  }
  ESPER_ASSIGN_OR_RETURN(bool prefixed, ReadSection(p.config_file, "profile " + p.name, p.values));
  ESPER_ASSIGN_OR_RETURN(bool creds, ReadSection(p.credentials_file, p.name, p.values));
  p.found = found || prefixed || creds;
  if (!p.found && p.name != "default" )
    return Error::InvalidArgument("AWS profile '" + p.name + "' is in neither " + p.config_file + " nor " +
                                  p.credentials_file);
  return p;
}

Result<std::string> ResolveEndpoint(std::string_view explicit_url, std::string_view explicit_profile,
                                    const Environment& env) {
  if (!explicit_url.empty()) return std::string(explicit_url);
  for (std::string_view var : {"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "S3_ENDPOINT_URL"})
    if (auto v = env(var)) return *v;
  ESPER_ASSIGN_OR_RETURN(Profile p, LoadProfile(explicit_profile, env));
  return p.Get("endpoint_url").value_or("");
}

Result<std::string> ResolveRegion(std::string_view explicit_region, std::string_view explicit_profile,
                                  const Environment& env) {
  if (!explicit_region.empty()) return std::string(explicit_region);
  for (std::string_view var : {"AWS_REGION", "AWS_DEFAULT_REGION"})
    if (auto v = env(var)) return *v;
  ESPER_ASSIGN_OR_RETURN(Profile p, LoadProfile(explicit_profile, env));
  return p.Get("region").value_or("us-east-1");
}

}  // namespace esper::s3
