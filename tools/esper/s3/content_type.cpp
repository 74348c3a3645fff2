#include "s3/content_type.h"

#include <fstream>
#include <sstream>
#include <unordered_map>

#include "esper/core/ascii.h"

namespace esper::cli::s3cmd {
namespace {

using Table = std::unordered_map<std::string, std::string>;

// The types Python's mimetypes knows without a system file, for a machine without /etc/mime.types.
Table BuiltIn() {
  return {{"txt", "text/plain"},         {"html", "text/html"},        {"htm", "text/html"},
          {"css", "text/css"},           {"csv", "text/csv"},          {"js", "text/javascript"},
          {"json", "application/json"},  {"xml", "text/xml"},          {"pdf", "application/pdf"},
          {"zip", "application/zip"},    {"gz", "application/gzip"},   {"tar", "application/x-tar"},
          {"png", "image/png"},          {"jpg", "image/jpeg"},        {"jpeg", "image/jpeg"},
          {"gif", "image/gif"},          {"svg", "image/svg+xml"},     {"wasm", "application/wasm"},
          {"yaml", "application/yaml"},  {"md", "text/markdown"},      {"bin", "application/octet-stream"}};
}

// "type ext ext …" lines; '#' starts a comment.
Table Load() {
  Table t = BuiltIn();
  std::ifstream in("/etc/mime.types");
  std::string line;
  while (std::getline(in, line)) {
    if (const size_t hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream words(line);
    std::string type, ext;
    if (!(words >> type)) continue;
    while (words >> ext) t[ext] = type;
  }
  return t;
}

}  // namespace

std::string GuessContentType(std::string_view name) {
  static const Table kTable = Load();
  const size_t slash = name.find_last_of('/');
  if (slash != std::string_view::npos) name.remove_prefix(slash + 1);
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == name.size()) return "";
  const std::string_view ext = name.substr(dot + 1);
  if (auto it = kTable.find(std::string(ext)); it != kTable.end()) return it->second;
  if (auto it = kTable.find(AsciiLowerCopy(ext)); it != kTable.end()) return it->second;
  return "";
}

}  // namespace esper::cli::s3cmd
