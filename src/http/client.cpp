// The public Client: option validation, Create, submission (a request is validated on the
// caller's thread and queued for the loop), the blocking conveniences, statistics and the health
// check. The rest of Client::Impl is in the files client_impl.h names.
#include "esper/http/client.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "client_impl.h"
#include "esper/core/ascii.h"
#include "esper/core/redact.h"
#include "metrics.h"
#include "headers.h"

namespace esper::http {

using resilience::CircuitBreaker;
using resilience::Deadline;
using resilience::RetryBudget;
using resilience::RetryPolicy;
using std::chrono::milliseconds;

namespace {

RetryPolicy MakePolicy(const ClientOptions& o) {
  resilience::RetryOptions r = o.retry;
  r.per_try_timeout = Clock::Duration::zero();  // the loop sets per-try limits itself
  return RetryPolicy(r);
}

}  // namespace

Client::Impl::Impl(ClientOptions options) : options_(std::move(options)), policy_(MakePolicy(options_)) {}

// ---- submission (any thread) ----

Status Client::Impl::Submit(Request request, Callback done) {
  if (!done) return Error::InvalidArgument("SendAsync: the callback is empty");
  if (ForkGeneration() != fork_generation_) [[unlikely]] {
    return Error::FailedPrecondition(
        "http::Client: this process is a fork() child of the one that created the client, and the "
        "client's event-loop thread did not come with it; create a Client in this process");
  }
  auto t = std::make_unique<Transfer>();
  t->impl = this;
  t->done = std::move(done);
  std::stop_token cancel = std::move(request.options.cancel);
  ESPER_RETURN_IF_ERROR(Prepare(*t, std::move(request)));
  if (cancel.stop_requested()) {
    return Error::Cancelled(fmt::format("{} {}: cancelled before it was sent", t->method, t->redacted_url));
  }
  int now = in_flight_.fetch_add(1, std::memory_order_acq_rel) + 1;
  if (now > options_.max_in_flight) {
    in_flight_.fetch_sub(1, std::memory_order_acq_rel);
    return Error::ResourceExhausted(fmt::format(
        "{} {}: {} requests already in flight (max_in_flight)", t->method, t->redacted_url,
        options_.max_in_flight));
  }
  // From here a stop flags the transfer (at once, on this thread, if it comes before this line
  // ends); the loop looks at the flag before every attempt.
  if (cancel.stop_possible()) {
    t->on_cancel = std::make_unique<std::stop_callback<detail::CancelRequest>>(std::move(cancel),
                                                                                 detail::CancelRequest{t.get()});
  }
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      in_flight_.fetch_sub(1, std::memory_order_acq_rel);
      return Error::Cancelled(fmt::format("{} {}: the client is shutting down", t->method, t->redacted_url));
    }
    {
      std::lock_guard slock(stats_mu_);
      ++t->host->stats.requests;
    }
    t->seq = ++submit_seq_;
    queue_.push_back(t.release());
    // One wakeup per batch: the loop drains the whole queue when it wakes.
    if (!ClaimWakeupLocked()) return OkStatus();
  }
  Wakeup();
  return OkStatus();
}

Status Client::Impl::Post(std::function<void()> task) {
  if (!task) return Error::InvalidArgument("Post: the task is empty");
  if (ForkGeneration() != fork_generation_) [[unlikely]] {
    return Error::FailedPrecondition("http::Client::Post: this process is a fork() child; the loop is not here");
  }
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Error::Cancelled("http::Client::Post: the client is shutting down");
    posted_.push_back(std::move(task));
    if (!ClaimWakeupLocked()) return OkStatus();
  }
  Wakeup();
  return OkStatus();
}

void Client::Impl::CancelAll() {
  if (ForkGeneration() != fork_generation_) return;  // no loop here, nothing in flight
  {
    std::lock_guard lock(mu_);
    cancel_upto_ = submit_seq_;
    if (!ClaimWakeupLocked()) return;
  }
  Wakeup();
}

void Client::Impl::RequestCancel(Transfer* t) {
  t->cancel_requested.store(true, std::memory_order_release);
  {
    std::lock_guard lock(mu_);
    cancel_flagged_ = true;
    if (!ClaimWakeupLocked()) return;
  }
  Wakeup();
}

void detail::CancelRequest::operator()() const noexcept { t->impl->RequestCancel(t); }

ClientStats Client::Impl::Stats() const {
  ClientStats out;
  std::lock_guard hl(hosts_mu_);
  std::lock_guard sl(stats_mu_);
  for (const auto& [key, h] : hosts_) {
    HostStats s = h->stats;
    h->finish_counts.AddTo(s);
    const resilience::RetryBudgetStats budget = h->budget->stats();
    s.retries_denied = budget.retries_denied;
    s.retry_budget_tokens = budget.tokens;
    if (h->breaker) s.breaker_transitions = h->breaker->stats().transitions;
    s.breaker_state = h->breaker ? AsciiLowerCopy(resilience::BreakerStateName(h->breaker->state()))
                                 : "disabled";
    out.emplace(key, std::move(s));
  }
  return out;
}

std::string Client::Impl::BreakerStateOf(const std::string& url) const {
  auto key = HostKey(url);
  if (!key) return "unknown";
  std::lock_guard hl(hosts_mu_);
  auto it = hosts_.find(*key);
  if (it == hosts_.end() || !it->second->breaker) return "disabled";
  return AsciiLowerCopy(resilience::BreakerStateName(it->second->breaker->state()));
}

// Whether curl sends a body (possibly empty): a body was given, or the method carries one.
bool Client::Impl::HasBody(const Request& r) {
  return r.body.kind() != Body::Kind::kNone || r.method == Method::kPost || r.method == Method::kPut ||
         r.method == Method::kPatch;
}

// The fields a request sends besides curl's own, in order: the defaults it does not override,
// its own headers, traceparent/tracestate, then User-Agent (a header line rather than
// CURLOPT_USERAGENT, which curl would format anew for every request) unless one is given.
template <typename Emit>
void Client::Impl::ForEachSentHeader(const Headers& own, const CallOptions& co, Emit&& emit) const {
  for (const auto& [k, v] : options_.default_headers) {
    if (!FindHeader(own, k)) emit(k, v);
  }
  for (const auto& [k, v] : own) emit(k, v);
  if (!co.traceparent.empty() && !FindHeader(own, "traceparent")) {
    emit("traceparent", co.traceparent);
    if (!co.tracestate.empty()) emit("tracestate", co.tracestate);
  }
  if (!options_.user_agent.empty() && !FindHeader(own, "User-Agent") &&
      !FindHeader(options_.default_headers, "User-Agent")) {
    emit("User-Agent", options_.user_agent);
  }
}

// The request's header list (headers and trace context already validated): ForEachSentHeader,
// and for requests with a body the lines detail::AppendBodyLines adds. `out` may be null
// (nothing to send). false: out of memory (nothing allocated).
bool Client::Impl::BuildHeaderList(const Headers& own, const CallOptions& co, bool has_body,
                                   curl_slist*& out) const {
  curl_slist* list = nullptr;
  bool ok = true;
  ForEachSentHeader(own, co, [&](std::string_view k, std::string_view v) { ok = ok && detail::AppendHeader(list, k, v); });
  if (has_body) {
    ok = ok && detail::AppendBodyLines(list, FindHeader(own, "Content-Type") ||
                                                 FindHeader(options_.default_headers, "Content-Type"));
  }
  out = list;
  return ok;
}

// Validates the request and fills the Transfer (caller's thread).
Status Client::Impl::Prepare(Transfer& t, Request&& r) {
  t.verb = r.method;
  t.method = MethodName(r.method);
  ESPER_ASSIGN_OR_RETURN(std::string abs, ResolveUrl(options_.base_url, r.url));
  t.url = AppendQuery(std::move(abs), r.query);
  t.redacted_url = RedactUrl(t.url);
  ESPER_ASSIGN_OR_RETURN(std::string key, HostKey(t.url));
  if (r.method == Method::kHead && r.body.kind() != Body::Kind::kNone) {
    return Error::InvalidArgument(fmt::format("HEAD {}: a HEAD request cannot carry a body", t.redacted_url));
  }
  if (r.sink.kind() == Sink::Kind::kStream && !r.sink.write_fn()) {
    return Error::InvalidArgument(fmt::format("{} {}: the stream sink has no write function", t.method, t.redacted_url));
  }
  if (r.sink.kind() == Sink::Kind::kFile && r.sink.path().empty()) {
    return Error::InvalidArgument(fmt::format("{} {}: the file sink has an empty path", t.method, t.redacted_url));
  }
  if (r.body.kind() == Body::Kind::kStream && !r.body.read_fn()) {
    return Error::InvalidArgument(fmt::format("{} {}: the stream body has no read function", t.method, t.redacted_url));
  }
  const CallOptions& co = r.options;
  if (!co.traceparent.empty() && !IsValidTraceparent(co.traceparent)) {
    return Error::InvalidArgument(fmt::format(
        "{} {}: traceparent '{}' is not a valid W3C version-00 traceparent "
        "(00-<32 hex>-<16 hex>-<2 hex>)", t.method, t.redacted_url, co.traceparent));
  }
  if (!detail::IsValidHeaderValue(co.tracestate)) {
    return Error::InvalidArgument(fmt::format("{} {}: tracestate contains CR/LF", t.method, t.redacted_url));
  }
  if (co.timeout && co.timeout->count() <= 0) {
    return Error::InvalidArgument(fmt::format("{} {}: timeout must be > 0", t.method, t.redacted_url));
  }
  if (co.max_attempts && (*co.max_attempts < 1 || *co.max_attempts > 100)) {
    return Error::InvalidArgument(fmt::format("{} {}: max_attempts must be 1..100", t.method, t.redacted_url));
  }
  // Headers: defaults not overridden, then the request's, then ours. A request with no headers
  // of its own (the common case) shares a list built once at Create.
  ESPER_RETURN_IF_ERROR(detail::ValidateHeaders(r.headers, t.method, t.redacted_url));  // the defaults: Create()
  t.has_body = HasBody(r);
  t.path_as_is = co.path_as_is;
  if (co.before_attempt) {
    // The hook rewrites the fields before every attempt; the list is built then (StartAttempt).
    ForEachSentHeader(r.headers, co, [&](std::string_view k, std::string_view v) { t.headers.emplace_back(k, v); });
  } else if (r.headers.empty() && co.traceparent.empty()) {
    t.header_list = shared_headers_[t.has_body ? 1 : 0];
    t.owns_header_list = false;
  } else if (!BuildHeaderList(r.headers, co, t.has_body, t.header_list)) {
    return Error::ResourceExhausted("curl_slist_append: out of memory");
  }

  t.host = GetHost(key);
  t.idempotent = IsIdempotent(r.method) || co.retry_safe;
  if (co.max_attempts) {
    resilience::RetryOptions ro = policy_.options();
    ro.max_attempts = *co.max_attempts;
    t.own_policy = std::make_unique<RetryPolicy>(ro);
    t.policy = t.own_policy.get();
  } else {
    t.policy = &policy_;
  }
  Clock& clock = *options_.clock;
  t.submitted = clock.Now();
  milliseconds overall = co.overall_timeout.value_or(options_.overall_timeout);
  t.deadline = overall.count() > 0 ? Deadline::After(overall, clock) : Deadline::Infinite(clock);
  if (co.deadline) t.deadline = Deadline::Earlier(t.deadline, *co.deadline);
  t.per_try = co.timeout.value_or(options_.request_timeout);
  t.accept_http_errors = co.accept_http_errors;
  t.classify = std::move(r.options.classify);
  t.before_attempt = std::move(r.options.before_attempt);
  t.body = std::move(r.body);
  t.sink = std::move(r.sink);
  return OkStatus();
}

Client::Impl::HostState* Client::Impl::GetHost(const std::string& key) {
  std::lock_guard lock(hosts_mu_);
  auto& slot = hosts_[key];
  if (!slot) {
    slot = std::make_unique<HostState>();
    slot->key = key;
    // "scheme://host:port"
    const size_t sep = key.find("://");
    const size_t colon = key.rfind(':');
    slot->host_name = key.substr(sep + 3, colon - sep - 3);
    slot->port = std::strtol(key.c_str() + colon + 1, nullptr, 10);
    slot->https = key.compare(0, sep, "https") == 0;
    // The host's budget and breaker are published by the client, per host (metrics.cpp).
    resilience::RetryBudgetOptions budget_options = options_.retry_budget;
    budget_options.metrics = nullptr;
    slot->budget = std::make_unique<RetryBudget>(std::move(budget_options));
    if (options_.breaker_per_host) {
      resilience::CircuitBreakerOptions bo = options_.breaker;
      bo.metrics = nullptr;
      bo.name = key;
      slot->breaker = std::make_unique<CircuitBreaker>(std::move(bo), *options_.clock);
    }
  }
  return slot.get();
}

// ---- Client ----

namespace {
std::once_flag g_curl_once;
}

Status Client::Validate(const ClientOptions& o) {
  auto bad = [](std::string_view field, std::string_view why) {
    return Error::InvalidArgument(fmt::format("http::ClientOptions.{} {}", field, why));
  };
  if (!o.base_url.empty()) {
    if (auto k = HostKey(o.base_url); !k) return Error(k.error()).Wrap("http::ClientOptions.base_url");
  }
  for (const auto& [k, v] : o.default_headers) {
    if (!detail::IsValidHeaderName(k)) return bad("default_headers", fmt::format("has an invalid header name '{}'", RedactAfterKey(k)));
    if (!detail::IsValidHeaderValue(v)) return bad("default_headers", fmt::format("'{}' has CR, LF or NUL in its value", k));
  }
  if (!detail::IsValidHeaderValue(o.user_agent)) return bad("user_agent", "contains CR, LF or NUL");
  if (o.connect_timeout.count() <= 0) return bad("connect_timeout", "must be > 0");
  if (o.request_timeout.count() <= 0) return bad("request_timeout", "must be > 0");
  if (o.overall_timeout.count() < 0) return bad("overall_timeout", "must be >= 0 (0 = none)");
  if (o.stall_time.count() < 0) return bad("stall_time", "must be >= 0 (0 = off)");
  if (o.stall_time.count() > 0 && o.stall_bytes_per_second < 1) return bad("stall_bytes_per_second", "must be >= 1");
  if (o.max_connections < 0) return bad("max_connections", "must be >= 0 (0 = unlimited)");
  if (o.max_connections_per_host < 0) return bad("max_connections_per_host", "must be >= 0 (0 = unlimited)");
  if (o.max_idle_connections < 0) return bad("max_idle_connections", "must be >= 0");
  if (o.max_redirects < 0) return bad("max_redirects", "must be >= 0");
  if (o.max_response_bytes == 0) return bad("max_response_bytes", "must be > 0");
  if (o.max_in_flight < 1) return bad("max_in_flight", "must be >= 1");
  if (o.http2_cleartext && !o.http2) return bad("http2_cleartext", "requires http2 = true");
  if (o.http2_cleartext && (curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_HTTP2) == 0) {
    return bad("http2_cleartext", "needs a libcurl built with HTTP/2 (nghttp2); this one is not");
  }
  if (!o.ca_bundle.empty() && access(o.ca_bundle.c_str(), R_OK) != 0) {
    return Error::FromErrno(errno, fmt::format("http::ClientOptions.ca_bundle: cannot read {}", o.ca_bundle));
  }
  if (o.clock == nullptr) return bad("clock", "must not be null");
  if (auto s = resilience::RetryPolicy::Validate(o.retry); !s) return Error(s.error()).Wrap("http::ClientOptions.retry");
  if (auto s = resilience::RetryBudget::Validate(o.retry_budget); !s) {
    return Error(s.error()).Wrap("http::ClientOptions.retry_budget");
  }
  if (o.breaker_per_host) {
    if (auto s = resilience::CircuitBreaker::Validate(o.breaker); !s) {
      return Error(s.error()).Wrap("http::ClientOptions.breaker");
    }
  }
  return OkStatus();
}

Result<std::unique_ptr<Client>> Client::Create(ClientOptions options) {
  ESPER_RETURN_IF_ERROR(Validate(options));
  CURLcode init = CURLE_OK;
  std::call_once(g_curl_once, [&] { init = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (init != CURLE_OK) return Error::Internal(fmt::format("curl_global_init: {}", curl_easy_strerror(init)));
  auto impl = std::make_unique<Impl>(std::move(options));
  ESPER_RETURN_IF_ERROR(impl->Init());
  std::unique_ptr<Client> client(new Client(std::move(impl)));
  if (metrics::Registry* registry = client->impl_->options().metrics) {
    ESPER_ASSIGN_OR_RETURN(client->metrics_,
                           detail::PublishClientStats([impl = client->impl_.get()] { return impl->Stats(); }, *registry));
  }
  return client;
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

Status Client::SendAsync(Request request, Callback done) {
  return impl_->Submit(std::move(request), std::move(done));
}

std::future<Result<Response>> Client::SendAsync(Request request) {
  auto promise = std::make_shared<std::promise<Result<Response>>>();
  auto fut = promise->get_future();
  Status s = impl_->Submit(std::move(request),
                           [promise](Result<Response> r) { promise->set_value(std::move(r)); });
  if (!s) promise->set_value(Result<Response>(s.error()));
  return fut;
}

Result<Response> Client::Send(Request request) {
  if (impl_->OnLoopThread()) {
    return Error::FailedPrecondition(
        "http::Client: a blocking call was made from the client's own loop thread (inside a callback); "
        "use SendAsync there");
  }
  return SendAsync(std::move(request)).get();
}

Result<Response> Client::Get(std::string url, CallOptions options) {
  return Send(Request{.method = Method::kGet, .url = std::move(url), .options = std::move(options)});
}
Result<Response> Client::Head(std::string url, CallOptions options) {
  return Send(Request{.method = Method::kHead, .url = std::move(url), .options = std::move(options)});
}
Result<Response> Client::Delete(std::string url, CallOptions options) {
  return Send(Request{.method = Method::kDelete, .url = std::move(url), .options = std::move(options)});
}

namespace {
Request WithBody(Method m, std::string url, Body body, std::string content_type, CallOptions options) {
  Request r{.method = m, .url = std::move(url), .body = std::move(body), .options = std::move(options)};
  if (!content_type.empty()) r.headers.emplace_back("Content-Type", std::move(content_type));
  return r;
}
}  // namespace

Result<Response> Client::Post(std::string url, Body body, std::string content_type, CallOptions options) {
  return Send(WithBody(Method::kPost, std::move(url), std::move(body), std::move(content_type), std::move(options)));
}
Result<Response> Client::Put(std::string url, Body body, std::string content_type, CallOptions options) {
  return Send(WithBody(Method::kPut, std::move(url), std::move(body), std::move(content_type), std::move(options)));
}
Result<Response> Client::Patch(std::string url, Body body, std::string content_type, CallOptions options) {
  return Send(WithBody(Method::kPatch, std::move(url), std::move(body), std::move(content_type), std::move(options)));
}

void Client::CancelAll() { impl_->CancelAll(); }

ClientStats Client::get_stats() const { return impl_->Stats(); }

Result<HealthReport> Client::HealthCheck(std::string url, std::chrono::milliseconds timeout) {
  Request r = Request::Get(url);
  r.options.max_attempts = 1;
  r.options.timeout = timeout;
  r.options.overall_timeout = timeout;
  auto resolved = ResolveUrl(impl_->options().base_url, url);
  auto response = Send(std::move(r));
  if (!response) return Error(response.error()).Wrap("health check");
  if (!response->ok()) {
    return Error::FailedPrecondition(fmt::format("health check: GET {} answered {} (want 2xx)",
                                                 response->url, response->status))
        .WithHttpStatus(response->status);
  }
  HealthReport rep;
  rep.status = response->status;
  rep.latency = response->elapsed;
  rep.breaker_state = resolved ? impl_->BreakerStateOf(*resolved) : "unknown";
  return rep;
}

int Client::in_flight() const { return impl_->in_flight(); }
bool Client::IsLoopThread() const noexcept { return impl_->OnLoopThread(); }
Status Client::Post(std::function<void()> task) { return impl_->Post(std::move(task)); }
const ClientOptions& Client::options() const { return impl_->options(); }

}  // namespace esper::http
