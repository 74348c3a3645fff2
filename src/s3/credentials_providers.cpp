// The providers that need no network: static, environment, profile, and the chain.
#include <algorithm>

#include "esper/s3/credentials.h"
#include "s3/credentials_internal.h"

namespace esper::s3 {
namespace detail {

Environment EnvOf(const ProviderOptions& o) { return o.env ? o.env : ProcessEnvironment(); }

Error NotConfigured(std::string what) { return Error::NotFound(std::move(what)); }

}  // namespace detail

namespace {

class StaticProvider final : public CredentialsProvider {
 public:
  explicit StaticProvider(Credentials c) : c_(std::move(c)) {
    if (c_.source.empty()) c_.source = "explicit";
  }
  std::string name() const override { return "explicit"; }
  Result<Credentials> Fetch() override {
    if (c_.access_key_id.empty() || c_.secret_access_key.empty())
      return Error::InvalidArgument("explicit credentials need both an access key id and a secret access key");
    return c_;
  }

 private:
  Credentials c_;
};

class EnvironmentProvider final : public CredentialsProvider {
 public:
  explicit EnvironmentProvider(ProviderOptions o) : o_(std::move(o)) {}
  std::string name() const override { return "environment"; }
  Result<Credentials> Fetch() override {
    const Environment env = detail::EnvOf(o_);
    auto id = env("AWS_ACCESS_KEY_ID");
    auto secret = env("AWS_SECRET_ACCESS_KEY");
    if (!id && !secret) return detail::NotConfigured("environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are unset");
    if (!id) return Error::InvalidArgument("environment: AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not");
    if (!secret) return Error::InvalidArgument("environment: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
    return Credentials{.access_key_id = *id,
                       .secret_access_key = Secret(std::move(*secret)),
                       .session_token = Secret(env("AWS_SESSION_TOKEN").value_or("")),
                       .source = "environment"};
  }

 private:
  ProviderOptions o_;
};

class ProfileProvider final : public CredentialsProvider {
 public:
  explicit ProfileProvider(ProviderOptions o) : o_(std::move(o)) {}
  std::string name() const override { return "profile"; }
  Result<Credentials> Fetch() override {
    ESPER_ASSIGN_OR_RETURN(Profile p, LoadProfile(o_.profile, detail::EnvOf(o_)));
    const std::string where = "profile " + p.name + " (" + p.credentials_file + ", " + p.config_file + ")";
    auto id = p.Get("aws_access_key_id");
    auto secret = p.Get("aws_secret_access_key");
    if (!id && !secret) return detail::NotConfigured(where + ": no aws_access_key_id / aws_secret_access_key");
    if (!id || !secret)
      return Error::InvalidArgument(where + ": has " + (id ? "aws_access_key_id" : "aws_secret_access_key") +
                                    " but not " + (id ? "aws_secret_access_key" : "aws_access_key_id"));
    return Credentials{.access_key_id = *id,
                       .secret_access_key = Secret(std::move(*secret)),
                       .session_token = Secret(p.Get("aws_session_token").value_or("")),
                       .source = "profile " + p.name};
  }

 private:
  ProviderOptions o_;
};

class ChainProvider final : public CredentialsProvider {
 public:
  explicit ChainProvider(std::vector<ProviderPtr> p) : providers_(std::move(p)) {}
  std::string name() const override { return "chain"; }
  Result<Credentials> Fetch() override {
    std::string tried;
    for (auto& p : providers_) {
      auto c = p->Fetch();
      if (c) return c;
      if (c.error().code() != ErrorCode::kNotFound) return c;  // configured and failed: stop here
      if (!tried.empty()) tried += "; ";
      tried += c.error().message();
    }
    return Error::Unauthenticated("no AWS credentials found (" + tried + ")");
  }

 private:
  std::vector<ProviderPtr> providers_;
};

}  // namespace

ProviderPtr StaticCredentials(Credentials credentials) {
  return std::make_unique<StaticProvider>(std::move(credentials));
}
ProviderPtr EnvironmentCredentials(ProviderOptions options) {
  return std::make_unique<EnvironmentProvider>(std::move(options));
}
ProviderPtr ProfileCredentials(ProviderOptions options) { return std::make_unique<ProfileProvider>(std::move(options)); }
ProviderPtr ProviderChain(std::vector<ProviderPtr> providers) {
  return std::make_unique<ChainProvider>(std::move(providers));
}

ProviderPtr DefaultChain(ProviderOptions options, std::optional<Credentials> explicit_credentials) {
  std::vector<ProviderPtr> p;
  if (explicit_credentials && !explicit_credentials->access_key_id.empty())
    p.push_back(StaticCredentials(std::move(*explicit_credentials)));
  p.push_back(EnvironmentCredentials(options));
  p.push_back(ProfileCredentials(options));
  p.push_back(ProcessCredentials(options));
  p.push_back(WebIdentityCredentials(options));
  p.push_back(ContainerCredentials(options));
  p.push_back(ImdsCredentials(std::move(options)));
  return ProviderChain(std::move(p));
}

}  // namespace esper::s3
