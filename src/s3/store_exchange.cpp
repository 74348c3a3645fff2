// One S3 request of an S3Store operation (s3_store_impl.h): admission and the end of an
// operation, credentials that never make the loop wait, SigV4 on every attempt, what a response
// means (S3's errors, clock skew, retries), and the log lines.
#include <fmt/format.h>

#include <algorithm>

#include "esper/log/logger.h"
#include "esper/resilience/retry_policy.h"
#include "esper/s3/errors.h"
#include "esper/s3/xml.h"
#include "s3/s3_store_impl.h"
#include "s3/sigv4_internal.h"

namespace esper::s3 {
namespace {

using detail::Op;
using detail::OpContext;
using log::kv;

}  // namespace

// A request's own state across its attempts (captured by its hook and classifier).
struct S3Store::Impl::Call {
  OpContext ctx;
  http::Method method = http::Method::kGet;
  // "PUT s3://b/k", for messages: formatted when one is written, not for every request.
  std::string context() const { return fmt::format("{} {}", http::MethodName(method), Where(ctx)); }
  std::string payload_hash;
  bool not_modified_ok = false;
  bool error_in_200 = false;
  std::string_view bodyless_404;
  std::function<std::optional<Error>(const http::Response&)> verify;
  Credentials credentials;   // the latest the cache gave; a retry signs with fresher ones if any
  bool skew_corrected = false;
  int attempts = 0;
  // What the last failed attempt said, for the log lines.
  std::string last_code;
  std::string last_request_id;
  int last_status = 0;
};

namespace {
using Call = S3Store::Impl::Call;

// A HEAD's error has no body: the status says what it was.
std::string_view CodeOfBodylessStatus(int status, std::string_view not_found) {
  switch (status) {
    case 404: return not_found;
    case 412: return "PreconditionFailed";
    case 416: return "InvalidRange";
    default: return {};
  }
}

Error ResponseError(const Call& call, const http::Response& r) {
  if (auto body = ParseErrorBody(r.body)) {
    std::string request_id(r.Header("x-amz-request-id").value_or(""));
    if (request_id.empty()) request_id = body->request_id;
    return MapS3Error(r.status, body->code, body->message, request_id, call.context());
  }
  return MapS3Error(r.status, CodeOfBodylessStatus(r.status, call.bodyless_404), "",
                    r.Header("x-amz-request-id").value_or(""), call.context());
}

// The server's clock from its Date header.
std::optional<std::chrono::system_clock::time_point> ServerDate(const http::Response& r) {
  auto date = r.Header("Date");
  if (!date) return std::nullopt;
  return ParseHttpDate(*date);
}

}  // namespace

std::string_view detail::OpName(Op op) noexcept {
  switch (op) {
    case Op::kPut: return "put";
    case Op::kGet: return "get";
    case Op::kStat: return "stat";
    case Op::kList: return "list";
    case Op::kDelete: return "delete";
    case Op::kDeleteMany: return "delete_many";
    case Op::kCopy: return "copy";
    case Op::kCreateBucket: return "create_bucket";
    case Op::kDeleteBucket: return "delete_bucket";
    case Op::kListBuckets: return "list_buckets";
  }
  return "?";
}

// ---- operations: admission and end ----

struct S3Store::Impl::Parked {
  std::shared_ptr<Call> call;
  http::Request request;
  detail::ResponseCallback done;
  std::atomic<bool> claimed{false};  // by the credentials' callback or by the shutdown
};

// The shutdown: every operation of this store ends (with Cancelled if it has not finished), then
// the credentials cache goes; the client, if it is the store's own, goes after (members).
S3Store::Impl::~Impl() {
  std::vector<std::shared_ptr<Parked>> parked;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    parked.swap(parked_);
  }
  // Every request of this store carries this token: the client cancels them (also a shared
  // client that lives on) and their callbacks end the operations with Cancelled.
  stop_.request_stop();
  for (const auto& p : parked) {
    if (p->claimed.exchange(true)) continue;  // its credentials came: it is being sent (and cancelled)
    Post([done = p->done, e = CancelledError(p->call->ctx)] { done(e); });
  }
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return in_flight_ == 0; });
  lock.unlock();
  // No request of ours is left to sign with them: the cache (and its refresh thread) goes, then
  // the client if it is ours.
  credentials_.reset();
}

Status S3Store::Impl::Admit(std::string_view what) {
  std::lock_guard lock(mu_);
  if (stopping_) return Error::Cancelled(fmt::format("{}: the S3Store is shutting down", what));
  if (in_flight_ >= options_.max_in_flight) {
    return Error::ResourceExhausted(
        fmt::format("{}: {} operations already in flight (max_in_flight)", what, options_.max_in_flight));
  }
  ++in_flight_;
  return OkStatus();
}

void S3Store::Impl::Abandon() { Finish(); }

void S3Store::Impl::Finish() {
  std::lock_guard lock(mu_);
  if (--in_flight_ == 0 && stopping_) cv_.notify_all();
}

int S3Store::Impl::in_flight() const {
  std::lock_guard lock(mu_);
  return in_flight_;
}

bool S3Store::Impl::stopping() const {
  std::lock_guard lock(mu_);
  return stopping_;
}

Error S3Store::Impl::CancelledError(const OpContext& ctx) const {
  return Error::Cancelled(fmt::format("{} {}: the S3Store was destroyed before the operation completed",
                                      detail::OpName(ctx.op), Where(ctx)));
}

detail::OpContext S3Store::Impl::Context(Op op, std::string bucket, std::string key) {
  return OpContext{.op = op, .bucket = std::move(bucket), .key = std::move(key), .start = SystemClock().Now()};
}

std::string S3Store::Impl::Where(const OpContext& ctx) {
  if (ctx.bucket.empty()) return "s3://";
  if (ctx.key.empty()) return "s3://" + ctx.bucket;
  return fmt::format("s3://{}/{}", ctx.bucket, ctx.key);
}

std::chrono::system_clock::time_point S3Store::Impl::LocalNow() const {
  return options_.now ? options_.now() : std::chrono::system_clock::now();
}

std::chrono::system_clock::time_point S3Store::Impl::SigningNow() const {
  return LocalNow() + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                          std::chrono::nanoseconds(skew_ns_.load(std::memory_order_relaxed)));
}

void S3Store::Impl::Post(std::function<void()> task) {
  auto shared = std::make_shared<std::function<void()>>(std::move(task));
  if (!client_->Post([shared] { (*shared)(); })) (*shared)();
}

// ---- one request ----

Status S3Store::Impl::Send(const OpContext& ctx, detail::Exchange ex, detail::ResponseCallback done) {
  auto call = std::make_shared<Call>();
  call->ctx = ctx;
  call->method = ex.request.method;
  call->payload_hash = std::move(ex.payload_hash);
  call->not_modified_ok = ex.not_modified_ok;
  call->error_in_200 = ex.error_in_200;
  call->bodyless_404 = ex.bodyless_404;
  call->verify = std::move(ex.verify);

  http::Request req = std::move(ex.request);
  http::CallOptions& o = req.options;
  o.max_attempts = ex.max_attempts.value_or(max_attempts_);
  o.timeout = ex.timeout ? *ex.timeout : ex.carries_data ? options_.transfer_timeout : options_.request_timeout;
  o.retry_safe = ex.retry_safe;
  o.path_as_is = true;  // keys with "." and ".." segments
  o.cancel = ex.cancel ? *ex.cancel : stop_.get_token();

  // Every attempt is signed as it is sent, with the freshest credentials and the corrected clock.
  o.before_attempt = [this, call](http::AttemptRequest& a) -> Status {
    call->attempts = a.attempt;
    if (a.attempt > 1) {
      stats_.CountRetry(call->ctx.op);
      if (options_.logger) {
        ESPER_LOG_WARN(*options_.logger, "S3 {} {}: retrying (attempt {} of {})", detail::OpName(call->ctx.op),
                       Where(call->ctx), a.attempt, max_attempts_, kv("bucket", call->ctx.bucket),
                       kv("key", call->ctx.key), kv("op", detail::OpName(call->ctx.op)), kv("attempt", a.attempt),
                       kv("s3_code", call->last_code), kv("http_status", call->last_status),
                       kv("request_id", call->last_request_id));
      }
    }
    if (std::optional<Credentials> fresh = credentials_->TryGet()) call->credentials = std::move(*fresh);
    return detail::SignHeaders(a.method, a.url, {}, a.headers, call->credentials, signing_, SigningNow(),
                               call->payload_hash);
  };

  // What each attempt's response means, by S3's rules.
  o.classify = [this, call](const http::AttemptResponse& a) -> http::ResponseVerdict {
    const http::Response& r = a.response;
    const bool failed = (r.status >= 300 && !(r.status == 304 && call->not_modified_ok)) ||
                        (call->error_in_200 && r.status < 300 && IsErrorBody(r.body));
    if (!failed) {
      if (call->verify) {
        if (std::optional<Error> e = call->verify(r)) {
          call->last_code = e->service_code();
          call->last_status = r.status;
          return e->retryable() ? http::ResponseVerdict::Retry(std::move(*e)) : http::ResponseVerdict::Fail(std::move(*e));
        }
      }
      return http::ResponseVerdict::Success();
    }
    Error e = ResponseError(*call, r);
    call->last_code = e.service_code();
    call->last_request_id = e.request_id();
    call->last_status = r.status;
    // Clock skew: take the server's time and try once more at once. A HEAD's 403 has no body
    // to say so: a Date more than 5 minutes off counts.
    const auto server = ServerDate(r);
    const auto local = LocalNow();
    const bool skewed = e.service_code() == "RequestTimeTooSkewed" ||
                        (r.status == 403 && r.body.empty() && server &&
                         (*server - local > std::chrono::minutes(5) || local - *server > std::chrono::minutes(5)));
    if (skewed && !call->skew_corrected && server) {
      call->skew_corrected = true;
      skew_ns_.store(std::chrono::duration_cast<std::chrono::nanoseconds>(*server - local).count(),
                     std::memory_order_relaxed);
      if (e.service_code().empty()) e.WithServiceCode("RequestTimeTooSkewed");
      return http::ResponseVerdict::Retry(std::move(e), std::chrono::seconds(0));
    }
    if (!e.retryable()) return http::ResponseVerdict::Fail(std::move(e));
    std::optional<Clock::Duration> retry_after;
    if (auto ra = r.Header("Retry-After")) retry_after = resilience::ParseRetryAfter(*ra);
    return http::ResponseVerdict::Retry(std::move(e), retry_after);
  };

  // The request's failure is logged here, where its attempts and last answer are known.
  done = [this, call, done = std::move(done)](Result<http::Response> r) {
    if (!r) LogFailure(*call, r.error());
    done(std::move(r));
  };

  // Credentials: from the cache without waiting, or parked until the cache has them (the loop
  // never waits for a provider).
  if (std::optional<Credentials> c = credentials_->TryGet()) {
    call->credentials = std::move(*c);
    return client_->SendAsync(std::move(req), std::move(done));
  }
  auto parked = std::make_shared<Parked>();
  parked->call = call;
  parked->request = std::move(req);
  parked->done = std::move(done);
  {
    std::lock_guard lock(mu_);
    if (stopping_) return CancelledError(ctx);
    parked_.push_back(parked);
  }
  credentials_->GetAsync([this, parked](Result<Credentials> c) {
    if (parked->claimed.exchange(true)) return;  // the shutdown ended it (the store may be gone)
    Unpark(parked);
    if (!c) {
      Error e = Error(c.error()).Wrap(fmt::format("{}: no credentials", parked->call->context()));
      Post([done = std::move(parked->done), e = std::move(e)] { done(e); });
      return;
    }
    parked->call->credentials = std::move(*c);
    detail::ResponseCallback keep = parked->done;
    if (Status st = client_->SendAsync(std::move(parked->request), std::move(parked->done)); !st) {
      Post([keep = std::move(keep), e = st.error()] { keep(e); });
    }
  });
  return OkStatus();
}

void S3Store::Impl::Unpark(const std::shared_ptr<Parked>& p) {
  std::lock_guard lock(mu_);
  std::erase(parked_, p);
}

void S3Store::Impl::SendFromLoop(const OpContext& ctx, detail::Exchange exchange, detail::ResponseCallback done) {
  detail::ResponseCallback keep = done;
  if (Status st = Send(ctx, std::move(exchange), std::move(done)); !st) keep(st.error());
}

// ---- logging ----

void S3Store::Impl::LogFailure(const Call& call, const Error& e) const {
  if (!options_.logger) return;
  // What a caller asks about and expects to hear (a missing key, a condition that did not hold,
  // a store shutting down) is not a failure of the store: debug.
  const ErrorCode c = e.code();
  const bool expected = c == ErrorCode::kNotFound || c == ErrorCode::kAlreadyExists ||
                        c == ErrorCode::kFailedPrecondition || c == ErrorCode::kOutOfRange ||
                        c == ErrorCode::kCancelled;
  const OpContext& ctx = call.ctx;
  ESPER_LOG(*options_.logger, expected ? log::Level::kDebug : log::Level::kError, "S3 {} {} failed: {}",
            detail::OpName(ctx.op), Where(ctx), e.ToString(), kv("bucket", ctx.bucket), kv("key", ctx.key),
            kv("op", detail::OpName(ctx.op)), kv("attempt", call.attempts), kv("s3_code", e.service_code()),
            kv("http_status", e.http_status()), kv("request_id", e.request_id()));
}

}  // namespace esper::s3
