// The providers that ask a service over HTTP: STS (web identity), the container endpoint, IMDSv2.
// Each owns an http::Client created at its first Fetch.
#include <pugixml.hpp>

#include <fstream>
#include <mutex>
#include <sstream>

#include "esper/core/ascii.h"
#include "esper/http/client.h"
#include "esper/s3/credentials.h"
#include "esper/s3/xml.h"
#include "s3/credentials_internal.h"
#include "s3/url_parts.h"

namespace esper::s3 {
namespace {

Result<std::string> ReadFile(const std::string& path, const std::string& where) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::FromErrno(errno, where + ": read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string TrimNewlines(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// A provider with a lazily created http::Client.
class HttpProvider : public CredentialsProvider {
 protected:
  explicit HttpProvider(ProviderOptions o) : o_(std::move(o)) {}

  Result<http::Client*> GetClient() {
    std::lock_guard lock(mu_);
    if (!client_) {
      ESPER_ASSIGN_OR_RETURN(client_, http::Client::Create({.user_agent = "esper-s3-credentials",
                                                            .connect_timeout = o_.timeout,
                                                            .request_timeout = o_.timeout,
                                                            .retry = {.max_attempts = 2},
                                                            .breaker_per_host = false}));
    }
    return client_.get();
  }

  // Sends `r`; transport failures and HTTP errors become errors naming `where`.
  Result<http::Response> Send(http::Request r, const std::string& where) {
    ESPER_ASSIGN_OR_RETURN(http::Client * c, GetClient());
    r.options.accept_http_errors = true;
    auto resp = c->Send(std::move(r));
    if (!resp) return std::move(resp.error()).Wrap(where);
    return resp;
  }

  ProviderOptions o_;

 private:
  std::mutex mu_;
  std::unique_ptr<http::Client> client_;
};

// --- web identity --------------------------------------------------------------------------

class WebIdentityProvider final : public HttpProvider {
 public:
  explicit WebIdentityProvider(ProviderOptions o) : HttpProvider(std::move(o)) {}
  std::string name() const override { return "web identity"; }

  Result<Credentials> Fetch() override {
    const Environment env = detail::EnvOf(o_);
    std::optional<std::string> token_file = env("AWS_WEB_IDENTITY_TOKEN_FILE");
    std::optional<std::string> role_arn = env("AWS_ROLE_ARN");
    std::optional<std::string> session = env("AWS_ROLE_SESSION_NAME");
    if (!token_file && !role_arn) {
      ESPER_ASSIGN_OR_RETURN(Profile p, LoadProfile(o_.profile, env));
      token_file = p.Get("web_identity_token_file");
      role_arn = p.Get("role_arn");
      if (!session) session = p.Get("role_session_name");
      if (!token_file) return detail::NotConfigured("web identity: AWS_WEB_IDENTITY_TOKEN_FILE is unset");
    }
    const std::string where = "web identity (STS AssumeRoleWithWebIdentity)";
    if (!token_file) return Error::InvalidArgument(where + ": AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE is not");
    if (!role_arn) return Error::InvalidArgument(where + ": AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not");
    ESPER_ASSIGN_OR_RETURN(std::string token, ReadFile(*token_file, where));
    token = TrimNewlines(std::move(token));

    std::string endpoint = env("AWS_ENDPOINT_URL_STS").value_or(env("AWS_ENDPOINT_URL").value_or(""));
    if (endpoint.empty()) {
      ESPER_ASSIGN_OR_RETURN(std::string region, ResolveRegion(o_.region, o_.profile, env));
      endpoint = "https://sts." + region + ".amazonaws.com";
    }
    const http::QueryParams form{{"Action", "AssumeRoleWithWebIdentity"},
                                 {"Version", "2011-06-15"},
                                 {"RoleArn", *role_arn},
                                 {"RoleSessionName", session.value_or("esper-s3")},
                                 {"WebIdentityToken", token}};
    std::string body = http::AppendQuery("", form);
    if (!body.empty() && body[0] == '?') body.erase(0, 1);
    http::Request req = http::Request::Post(endpoint, http::Body::FromString(std::move(body)));
    req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/xml"}};
    req.options.retry_safe = true;  // AssumeRoleWithWebIdentity has no side effect to repeat
    const std::string at = where + " at " + http::RedactUrl(endpoint);
    ESPER_ASSIGN_OR_RETURN(http::Response resp, Send(std::move(req), at));

    pugi::xml_document doc;
    (void)doc.load_buffer(resp.body.data(), resp.body.size(), pugi::parse_default, pugi::encoding_utf8);
    if (resp.status != 200) {
      const pugi::xml_node e = doc.child("ErrorResponse").child("Error");
      Error err = Error::FromHttpStatus(resp.status, at + ": HTTP " + std::to_string(resp.status) +
                                                         (e ? std::string(" ") + e.child("Code").text().as_string() +
                                                                  ": " + e.child("Message").text().as_string()
                                                            : std::string()));
      if (e) err.WithServiceCode(e.child("Code").text().as_string());
      return err.WithRequestId(doc.child("ErrorResponse").child("RequestId").text().as_string());
    }
    const pugi::xml_node c =
        doc.child("AssumeRoleWithWebIdentityResponse").child("AssumeRoleWithWebIdentityResult").child("Credentials");
    if (!c) return Error::Unavailable(at + ": the answer has no AssumeRoleWithWebIdentityResult/Credentials");
    Credentials out{.access_key_id = c.child("AccessKeyId").text().as_string(),
                    .secret_access_key = Secret(std::string(c.child("SecretAccessKey").text().as_string())),
                    .session_token = Secret(std::string(c.child("SessionToken").text().as_string())),
                    .expiration = ParseIso8601(c.child("Expiration").text().as_string()),
                    .source = "web identity (" + *role_arn + ")"};
    if (out.access_key_id.empty() || out.secret_access_key.empty())
      return Error::Unavailable(at + ": the answer has no AccessKeyId or SecretAccessKey");
    return out;
  }
};

// --- container -----------------------------------------------------------------------------

bool IsLoopbackOrContainerHost(std::string_view host) {
  return host == "localhost" || host.starts_with("127.") || host == "[::1]" || host == "169.254.170.2" ||
         host == "169.254.170.23" || host == "[fd00:ec2::23]";
}

class ContainerProvider final : public HttpProvider {
 public:
  explicit ContainerProvider(ProviderOptions o) : HttpProvider(std::move(o)) {}
  std::string name() const override { return "container"; }

  Result<Credentials> Fetch() override {
    const Environment env = detail::EnvOf(o_);
    std::string url;
    if (auto rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) {
      url = "http://169.254.170.2" + *rel;
    } else if (auto full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI")) {
      url = *full;
    } else {
      return detail::NotConfigured("container: AWS_CONTAINER_CREDENTIALS_FULL_URI and _RELATIVE_URI are unset");
    }
    const std::string where = "container credentials at " + http::RedactUrl(url);
    ESPER_ASSIGN_OR_RETURN(detail::UrlParts parts, detail::SplitUrl(url));
    if (parts.scheme == "http" && !IsLoopbackOrContainerHost(AsciiLowerCopy(parts.host)))
      return Error::InvalidArgument(where + ": plain http is allowed only to a loopback or the ECS/EKS host; use https");
    http::Request req = http::Request::Get(url);
    req.headers = {{"Accept", "application/json"}};
    std::string token;
    if (auto t = env("AWS_CONTAINER_AUTHORIZATION_TOKEN")) {
      token = *t;
    } else if (auto f = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")) {
      ESPER_ASSIGN_OR_RETURN(token, ReadFile(*f, where));
      token = TrimNewlines(std::move(token));
    }
    if (token.find_first_of("\r\n") != std::string::npos)
      return Error::InvalidArgument(where + ": the authorization token contains a line break");
    if (!token.empty()) req.headers.emplace_back("Authorization", token);
    ESPER_ASSIGN_OR_RETURN(http::Response resp, Send(std::move(req), where));
    if (resp.status != 200) return Error::FromHttpStatus(resp.status, where + ": HTTP " + std::to_string(resp.status));
    return detail::ParseCredentialsJson(resp.body, "container credentials");
  }
};

// --- IMDSv2 --------------------------------------------------------------------------------

class ImdsProvider final : public HttpProvider {
 public:
  explicit ImdsProvider(ProviderOptions o) : HttpProvider(std::move(o)) {}
  std::string name() const override { return "IMDS"; }

  Result<Credentials> Fetch() override {
    const Environment env = detail::EnvOf(o_);
    if (EqualsIgnoreCase(env("AWS_EC2_METADATA_DISABLED").value_or(""), "true"))
      return detail::NotConfigured("IMDS: disabled by AWS_EC2_METADATA_DISABLED");
    std::string base = env("AWS_EC2_METADATA_SERVICE_ENDPOINT").value_or("http://169.254.169.254");
    while (!base.empty() && base.back() == '/') base.pop_back();
    const std::string where = "IMDS at " + http::RedactUrl(base);

    http::Request tok{.method = http::Method::kPut, .url = base + "/latest/api/token",
                      .headers = {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}}};
    auto token = Send(std::move(tok), where);
    if (!token) {
      // Not on EC2 (nothing answers): not configured, so the chain reports "no credentials".
      if (token.error().code() == ErrorCode::kUnavailable || token.error().code() == ErrorCode::kDeadlineExceeded)
        return detail::NotConfigured(where + ": not reachable (" + token.error().message() + ")");
      return token.error();
    }
    if (token->status != 200) return Error::FromHttpStatus(token->status, where + ": token PUT answered HTTP " + std::to_string(token->status));
    const http::Headers auth{{"X-aws-ec2-metadata-token", token->body}};

    http::Request roles{.url = base + "/latest/meta-data/iam/security-credentials/", .headers = auth};
    ESPER_ASSIGN_OR_RETURN(http::Response r, Send(std::move(roles), where));
    if (r.status == 404) return detail::NotConfigured(where + ": no IAM role attached to this instance");
    if (r.status != 200) return Error::FromHttpStatus(r.status, where + ": role lookup answered HTTP " + std::to_string(r.status));
    std::string role = r.body.substr(0, r.body.find('\n'));
    role = TrimNewlines(std::move(role));
    if (role.empty()) return detail::NotConfigured(where + ": no IAM role attached to this instance");

    http::Request creds{.url = base + "/latest/meta-data/iam/security-credentials/" + http::EncodeQueryComponent(role),
                        .headers = auth};
    ESPER_ASSIGN_OR_RETURN(http::Response c, Send(std::move(creds), where));
    if (c.status != 200) return Error::FromHttpStatus(c.status, where + ": credentials of role " + role + " answered HTTP " + std::to_string(c.status));
    ESPER_ASSIGN_OR_RETURN(Credentials out, detail::ParseCredentialsJson(c.body, where));
    out.source = "IMDS (role " + role + ")";
    return out;
  }
};

}  // namespace

ProviderPtr WebIdentityCredentials(ProviderOptions options) {
  return std::make_unique<WebIdentityProvider>(std::move(options));
}
ProviderPtr ContainerCredentials(ProviderOptions options) {
  return std::make_unique<ContainerProvider>(std::move(options));
}
ProviderPtr ImdsCredentials(ProviderOptions options) { return std::make_unique<ImdsProvider>(std::move(options)); }

}  // namespace esper::s3
