// S3Store: creation (endpoint, region, credentials, the http client), shutdown, and the public
// methods that are not ObjectStore operations (Presign, health_check, get_performance_stats).
#include "esper/s3/s3_store.h"

#include <fmt/format.h>

#include <charconv>
#include <future>

#include "esper/core/version.h"
#include "esper/log/logger.h"
#include "esper/s3/errors.h"
#include "s3/s3_store_impl.h"

namespace esper::s3 {
namespace {

// A provider the caller shares (S3StoreOptions::credentials_provider), as the chain's one link.
class SharedProvider final : public CredentialsProvider {
 public:
  explicit SharedProvider(std::shared_ptr<CredentialsProvider> p) : p_(std::move(p)) {}
  std::string name() const override { return p_->name(); }
  Result<Credentials> Fetch() override { return p_->Fetch(); }

 private:
  std::shared_ptr<CredentialsProvider> p_;
};

Status Bad(std::string_view field, std::string_view why) {
  return Error::InvalidArgument(fmt::format("S3StoreOptions.{} {}", field, why));
}

Status Validate(const S3StoreOptions& o) {
  if (o.max_attempts < 0 || o.max_attempts > 100) return Bad("max_attempts", "must be 0 (AWS_MAX_ATTEMPTS, else 3) to 100");
  if (o.request_timeout.count() <= 0) return Bad("request_timeout", "must be > 0");
  if (o.transfer_timeout.count() <= 0) return Bad("transfer_timeout", "must be > 0");
  if (o.max_in_flight < 1) return Bad("max_in_flight", "must be >= 1");
  if (o.part_size < (uint64_t{5} << 20) || o.part_size > detail::kMaxPartSize) {
    return Bad("part_size", "must be 5 MiB (S3's smallest part) to 5 GiB");
  }
  if (o.multipart_threshold < o.part_size) return Bad("multipart_threshold", "must be >= part_size");
  if (o.part_concurrency < 1 || o.part_concurrency > 1000) return Bad("part_concurrency", "must be 1 to 1000");
  if (o.credentials && o.credentials->access_key_id.empty()) return Bad("credentials", "has no access key id");
  return OkStatus();
}

// Attempts per request: the option, else AWS_MAX_ATTEMPTS, else AWS standard mode's 3.
Result<int> MaxAttempts(const S3StoreOptions& o, const Environment& env) {
  if (o.max_attempts > 0) return o.max_attempts;
  std::optional<std::string> v = env("AWS_MAX_ATTEMPTS");
  if (!v) return 3;
  int n = 0;
  const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || end != v->data() + v->size() || n < 1 || n > 100) {
    return Error::InvalidArgument(fmt::format("AWS_MAX_ATTEMPTS='{}' is not a number of attempts (1..100)", *v));
  }
  return n;
}

}  // namespace

http::ClientOptions S3StoreOptions::DefaultHttpOptions() {
  http::ClientOptions o;
  o.user_agent = fmt::format("esper-s3/{}", kVersion);
  // The breaker judges a window, not a streak. With hundreds of requests in flight, a few faults
  // land next to each other by chance — 5 failed attempts in a row is routine at a 5 % fault rate
  // over 1,000 operations — and the http client's default (5 consecutive failures) would then fail
  // every operation for a minute: tests/stress/s3 measured 89 % failures on fauxqs that way, and
  // 0 with this window. It opens when half of the last 100 attempts (at least 20) failed.
  o.breaker.window = resilience::WindowType::kCountBased;
  o.breaker.window_size = 100;
  o.breaker.minimum_calls = 20;
  o.breaker.failure_rate_threshold = 50.0;
  return o;
}

// ---- creation and shutdown ----

S3Store::Impl::Impl(Setup s)
    : options_(std::move(s.options)),
      client_(std::move(s.client)),
      owns_client_(s.owns_client),
      addressing_(std::move(s.addressing)),
      endpoint_(std::move(s.endpoint)),
      region_(std::move(s.region)),
      signing_{.region = region_},
      max_attempts_(s.max_attempts),
      credentials_(std::move(s.credentials)) {}

Result<std::unique_ptr<S3Store>> S3Store::Create(S3StoreOptions options) {
  ESPER_RETURN_IF_ERROR(Validate(options));
  const Environment env = options.env ? options.env : ProcessEnvironment();
  ESPER_ASSIGN_OR_RETURN(std::string endpoint, ResolveEndpoint(options.endpoint_url, options.profile, env));
  ESPER_ASSIGN_OR_RETURN(std::string region, ResolveRegion(options.region, options.profile, env));
  ESPER_ASSIGN_OR_RETURN(Addressing addressing,
                         Addressing::Create({.endpoint_url = endpoint, .region = region, .style = options.addressing}));
  ESPER_ASSIGN_OR_RETURN(int attempts, MaxAttempts(options, env));

  ProviderPtr provider =
      options.credentials_provider
          ? std::make_unique<SharedProvider>(options.credentials_provider)
          : DefaultChain({.env = env, .profile = options.profile, .region = region}, options.credentials);
  ESPER_ASSIGN_OR_RETURN(std::unique_ptr<CredentialsCache> cache, CredentialsCache::Create(std::move(provider)));

  std::shared_ptr<http::Client> client = options.http_client;
  const bool owns = client == nullptr;
  if (owns) {
    http::ClientOptions http = options.http;
    // A logger at trace level gets libcurl's transfer log (the http client redacts every
    // credential in it: Authorization, X-Amz-Security-Token, signatures in URLs).
    if (options.logger && options.logger->ShouldLog(log::Level::kTrace) && !http.debug_log) {
      http.debug_log = [logger = options.logger](std::string_view line) { ESPER_LOG_TRACE(*logger, "{}", line); };
    }
    ESPER_ASSIGN_OR_RETURN(std::unique_ptr<http::Client> own, http::Client::Create(std::move(http)));
    client = std::move(own);
  }
  auto impl = std::make_unique<Impl>(Impl::Setup{.options = std::move(options),
                                                 .client = std::move(client),
                                                 .owns_client = owns,
                                                 .addressing = std::move(addressing),
                                                 .endpoint = std::move(endpoint),
                                                 .region = std::move(region),
                                                 .credentials = std::move(cache),
                                                 .max_attempts = attempts});
  metrics::Registry* registry = impl->options_.metrics;
  std::unique_ptr<S3Store> store(new S3Store(std::move(impl)));
  if (registry) {
    ESPER_ASSIGN_OR_RETURN(store->metrics_,
                           detail::PublishStoreStats([s = store.get()] { return s->get_performance_stats(); }, *registry));
  }
  return store;
}

S3Store::S3Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
S3Store::~S3Store() = default;

bool S3Store::IsCallbackThread() const noexcept { return impl_->client_->IsLoopThread(); }
const std::string& S3Store::endpoint_url() const noexcept { return impl_->endpoint_; }
const std::string& S3Store::region() const noexcept { return impl_->region_; }
http::Client& S3Store::http_client() const noexcept { return *impl_->client_; }

// ---- presigned URLs ----

Result<std::string> S3Store::Presign(const PresignRequest& request) {
  ESPER_RETURN_IF_ERROR(storage::ValidateBucketName(request.bucket));
  if (!request.key.empty()) ESPER_RETURN_IF_ERROR(storage::ValidateKey(request.key));
  std::optional<Credentials> creds = impl_->credentials_->TryGet();
  if (!creds) {
    if (IsCallbackThread()) {
      return Error::FailedPrecondition(
          "S3Store::Presign on the store's callback thread must wait for credentials: call it elsewhere");
    }
    ESPER_ASSIGN_OR_RETURN(Credentials fetched, impl_->credentials_->Get());
    creds = std::move(fetched);
  }
  http::Request r{.method = request.method,
                  .url = impl_->addressing_.ObjectUrl(request.bucket, request.key),
                  .headers = request.headers};
  return s3::Presign(r, *creds, impl_->signing_, impl_->SigningNow(), request.expires);
}

// ---- the seed's health_check() and get_performance_stats() ----

Result<HealthReport> S3Store::health_check(std::string_view bucket, std::chrono::milliseconds timeout) {
  if (IsCallbackThread()) {
    return Error::FailedPrecondition("S3Store::health_check blocks: call it off the store's callback thread");
  }
  if (!bucket.empty()) ESPER_RETURN_IF_ERROR(storage::ValidateBucketName(bucket));
  if (timeout.count() <= 0) return Error::InvalidArgument("health_check: the timeout must be > 0");
  Impl& s = *impl_;
  const detail::OpContext ctx = Impl::Context(bucket.empty() ? detail::Op::kListBuckets : detail::Op::kStat,
                                              std::string(bucket));
  detail::Exchange ex;
  ex.request = bucket.empty() ? http::Request::Get(s.addressing_.ObjectUrl(""))
                              : http::Request::Head(s.addressing_.ObjectUrl(bucket));
  ex.bodyless_404 = "NoSuchBucket";
  ex.max_attempts = 1;
  ex.timeout = timeout;
  const std::string url = ex.request.url;
  std::promise<Result<http::Response>> answer;
  ESPER_RETURN_IF_ERROR(s.Send(ctx, std::move(ex), [&answer](Result<http::Response> r) { answer.set_value(std::move(r)); }));
  Result<http::Response> r = answer.get_future().get();

  HealthReport rep;
  rep.latency = std::chrono::duration_cast<std::chrono::nanoseconds>(SystemClock().Now() - ctx.start);
  rep.endpoint = s.addressing_.endpoint_url();
  rep.region = s.region_;
  rep.healthy = r.has_value();
  rep.status = r ? "healthy" : "unhealthy: " + r.error().ToString();
  rep.breaker_state = "unknown";
  if (auto key = http::HostKey(url)) {
    const http::ClientStats stats = s.client_->get_stats();
    if (auto it = stats.find(*key); it != stats.end()) rep.breaker_state = it->second.breaker_state;
  }
  return rep;
}

PerformanceStats S3Store::get_performance_stats() const {
  PerformanceStats out = impl_->stats_.Snapshot(impl_->in_flight());
  out.part_buffer_bytes = impl_->part_buffers_->now.load(std::memory_order_relaxed);
  out.peak_part_buffer_bytes = impl_->part_buffers_->peak.load(std::memory_order_relaxed);
  out.possibly_orphaned_uploads = impl_->possibly_orphaned_uploads_.load(std::memory_order_relaxed);
  return out;
}

// ---- operations: see store_objects.cpp and store_listing.cpp ----

}  // namespace esper::s3
