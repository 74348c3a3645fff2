// One attempt from start to outcome (loop thread): the deadline and the breaker before it, the
// per-try limit, handing the handle to curl; then the outcome — the error it is, whether it is
// retried (policy, budget, replayable body) and when — and the completion that runs the caller's
// callback.
#include <fmt/format.h>

#include <algorithm>

#include "client_impl.h"
#include "metrics.h"
#include "curl_error.h"
#include "esper/http/response.h"
#include "headers.h"

namespace esper::http {
using std::chrono::duration_cast;
using std::chrono::milliseconds;

// Ends `t` with `e` where no attempt is running (any handle already released): gives its
// breaker permit back unused, then finishes.
void Client::Impl::Abandon(Transfer* t, Error e) {
  if (t->permit) t->permit->Release();
  t->permit.reset();
  Finish(t, std::move(e));
}

void Client::Impl::StartAttempt(Transfer* t) {
  const int attempt = t->retry->attempts();
  if (t->cancel_requested.load(std::memory_order_acquire)) {  // stopped before the loop saw it
    Finish(t, Error::Cancelled(fmt::format("{} {}: cancelled", t->method, t->redacted_url)));
    return;
  }
  if (t->deadline.expired()) {
    Finish(t, t->deadline.ExceededError(fmt::format(
                  "{} {}: overall deadline reached before attempt {}", t->method, t->redacted_url, attempt)));
    return;
  }
  {
    std::lock_guard lock(stats_mu_);
    ++t->host->stats.attempts;
    if (attempt > 1) ++t->host->stats.retries;
  }
  if (t->host->breaker) {
    auto permit = t->host->breaker->TryAcquire();
    if (!permit) {
      {
        std::lock_guard lock(stats_mu_);
        ++t->host->stats.breaker_rejections;
      }
      Finish(t, Error(permit.error()).Wrap(fmt::format("{} {}", t->method, t->redacted_url)));
      return;
    }
    t->permit.emplace(std::move(*permit));
  }
  // Reset the per-attempt state.
  t->resp = Response{};
  t->status_seen = -1;
  t->header_bytes = 0;
  t->in_headers = false;
  t->divert_body = false;
  t->callback_error.reset();
  t->in_off = 0;
  t->stream_read = 0;
  if (Status s = OpenFiles(t); !s) {
    Abandon(t, s.error());
    return;
  }
  if (t->before_attempt) {
    if (Status s = RunAttemptHook(t); !s) {
      Abandon(t, s.error());
      return;
    }
  }
  // Per-try limit: the smaller of the per-try timeout and what the deadline leaves.
  t->attempt_timeout = t->per_try;
  t->attempt_limited_by_deadline = false;
  if (!t->deadline.infinite()) {
    auto left = duration_cast<milliseconds>(t->deadline.remaining());
    if (left < t->attempt_timeout) {
      t->attempt_timeout = std::max(left, milliseconds(1));
      t->attempt_limited_by_deadline = true;
    }
  }
  t->attempt_start = SteadyNow();
  t->handle.shape = EasyShape(*t);
  const bool configured = easy_pool_.Acquire(t->handle);
  if (!t->handle.easy) {
    Abandon(t, Error::ResourceExhausted("curl_easy_init failed"));
    return;
  }
  t->handle.extras->errbuf[0] = '\0';
  if (CURLUcode uc = detail::SetHandleUrl(t->handle, t->url, t->path_as_is); uc != CURLUE_OK) {
    // Prepare checked the URL (HostKey), so this is out of memory, or a URL only curl's parser
    // refuses, as curl would have refused it given the text. The handle may not carry its
    // shape's options yet (SetupEasy has not run), so it is not pooled.
    easy_pool_.Release(t->handle, configured);
    std::string what = fmt::format("{} {}: curl_url_set: {}", t->method, t->redacted_url, curl_url_strerror(uc));
    Abandon(t, uc == CURLUE_OUT_OF_MEMORY ? Error::ResourceExhausted(std::move(what))
                                          : Error::InvalidArgument(std::move(what)));
    return;
  }
  SetupEasy(t, configured);
  CURLMcode mc = curl_multi_add_handle(multi_, t->handle.easy);
  if (mc != CURLM_OK) {
    easy_pool_.Release(t->handle);
    Abandon(t, Error::Internal(fmt::format("{} {}: curl_multi_add_handle: {}", t->method, t->redacted_url,
                                           curl_multi_strerror(mc))));
  }
}

// Lets the request's attempt hook rewrite this attempt's header fields (from the request's own,
// every time), and gives curl the list of what it left.
Status Client::Impl::RunAttemptHook(Transfer* t) {
  AttemptRequest attempt{.attempt = t->retry->attempts(), .method = t->verb, .url = t->url, .headers = t->headers};
  ESPER_RETURN_IF_ERROR(t->before_attempt(attempt));
  if (Status s = detail::ValidateHeaders(attempt.headers, t->method, t->redacted_url); !s) {
    return Error(s.error()).Wrap("after the attempt hook");
  }
  curl_slist* list = nullptr;
  if (!detail::BuildHeaderList(attempt.headers, t->has_body, list)) {
    return Error::ResourceExhausted("curl_slist_append: out of memory");
  }
  curl_slist_free_all(t->header_list);  // the last attempt's (a hook's lists are the transfer's own)
  t->header_list = list;
  return OkStatus();
}

void Client::Impl::OnAttemptDone(Transfer* t, CURLcode code) {
  CURL* e = t->handle.easy;
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  long version = 0;
  curl_easy_getinfo(e, CURLINFO_HTTP_VERSION, &version);
  double connect_time = 0;
  curl_easy_getinfo(e, CURLINFO_CONNECT_TIME, &connect_time);
  const auto attempt_elapsed = duration_cast<milliseconds>(SteadyNow() - t->attempt_start);
  t->resp.status = static_cast<int>(status);
  t->resp.http_version = version == CURL_HTTP_VERSION_2_0 ? "2" : version == CURL_HTTP_VERSION_1_0 ? "1.0" : "1.1";
  {
    std::lock_guard lock(stats_mu_);
    t->host->stats.bytes_in += t->resp.bytes_received;
    t->host->stats.bytes_out += t->resp.bytes_sent;
  }

  // The attempt's outcome as an error, if it failed.
  std::optional<Error> err;
  bool http_failure = false;  // a response the classifier called a failure
  std::optional<Clock::Duration> retry_after;
  if (code != CURLE_OK) {
    if (t->callback_error && (code == CURLE_WRITE_ERROR || code == CURLE_READ_ERROR ||
                              code == CURLE_ABORTED_BY_CALLBACK || code == CURLE_SEND_FAIL_REWIND)) {
      err = std::move(*t->callback_error);
      err->WithRetryable(false);  // our side failed, not the server
    } else {
      detail::CurlFailureContext ctx{
          .method = t->method,
          .url = t->redacted_url,
          .host = t->host->host_name,
          .port = t->host->port,
          .curl_message = t->handle.extras->errbuf,
          .connected = connect_time > 0,
          .elapsed = attempt_elapsed,
          .connect_timeout = options_.connect_timeout,
          .attempt_timeout = t->attempt_timeout,
          .attempt_limited_by_deadline = t->attempt_limited_by_deadline,
          .stall_time = options_.stall_time,
          .stall_bytes_per_second = options_.stall_bytes_per_second,
          .in_response_headers = t->in_headers,
      };
      err = detail::MapCurlError(code, ctx);
    }
  } else if (t->in_headers) {
    // libcurl (7.88) takes a connection closed inside the response head — "HTTP/1.1 200 OK\r\n"
    // and no more — for a complete response without a body: a truncated answer, not a 200.
    err = Error::Unavailable(fmt::format("{} {}: truncated: the connection closed inside the response head",
                                         t->method, t->redacted_url));
  } else if (status >= 400 || t->classify) {
    // An HTTP exchange: what it means is the classifier's call (without one, a status < 400 is
    // a success and needs no look).
    t->resp.url = t->redacted_url;
    const AttemptResponse attempt{.attempt = t->retry->attempts(), .method = t->verb, .response = t->resp};
    ResponseVerdict verdict = t->classify ? t->classify(attempt) : DefaultClassifier(attempt);
    if (verdict.error) {
      http_failure = true;
      err = std::move(verdict.error);
      if (err->http_status() == 0) err->WithHttpStatus(static_cast<int>(status));
      retry_after = verdict.retry_after;
    }
  }
  // The handle goes back to the pool only now: curl's message above is in its error buffer.
  curl_multi_remove_handle(multi_, e);
  easy_pool_.Release(t->handle);

  // The breaker hears about the host's health: transport failures, 5xx and 429 are failures.
  if (t->permit) {
    if (err && (!http_failure || status >= 500 || status == 429) && !t->callback_error) {
      Error for_breaker = *err;
      if (http_failure) for_breaker.WithRetryable(true);
      t->permit->RecordFailure(for_breaker);
    } else {
      t->permit->RecordSuccess();
    }
    t->permit.reset();
  }

  if (!err) {
    t->retry->OnSuccess();
    Finish(t, std::move(t->resp));
    return;
  }
  // Can this request be sent again?
  Error cause = *err;
  if (cause.retryable()) {
    if (t->body.kind() == Body::Kind::kStream && t->stream_touched && !t->body.rewind_fn()) {
      cause.WithRetryable(false).Wrap("not retried: the stream body cannot be rewound");
    } else if (t->sink.kind() == Sink::Kind::kStream && t->sink_delivered > 0 && !t->sink.rewind_fn()) {
      cause.WithRetryable(false).Wrap("not retried: part of the body was already delivered to the stream sink");
    }
  }
  Result<Clock::Duration> next = t->retry->OnFailure(cause, retry_after);
  if (!next) {
    if (http_failure && status >= 400 && t->accept_http_errors) {
      Finish(t, std::move(t->resp));
    } else {
      Finish(t, std::move(next).error());
    }
    return;
  }
  PushTimer(options_.clock->Now() + *next, t);
}

void Client::Impl::Finish(Transfer* t, Result<Response> result) {
  const auto elapsed = options_.clock->Now() - t->submitted;
  if (result) {
    result->attempts = t->retry ? t->retry->attempts() : 0;
    result->sends = t->sends;
    result->elapsed = elapsed;
    result->bytes_received = t->bytes_in_total;
    if (result->url.empty()) result->url = std::move(t->redacted_url);  // t ends here
  }
  {
    std::lock_guard lock(stats_mu_);
    HostStats& s = t->host->stats;
    const int status = result ? result->status : result.error().http_status();
    if (result) {
      ++s.completed;
      ++s.status_counts[result->status];
    } else {
      ++s.errors;
      if (status != 0) ++s.status_counts[status];
    }
    t->host->finish_counts.Count(t->verb, status, result ? nullptr : &result.error());
    s.latency.Record(elapsed);
  }
  active_.erase(t);
  std::unique_ptr<Transfer> owned(t);
  Callback done = std::move(t->done);
  owned->retry.reset();  // ends the request in the retry budget
  owned.reset();
  in_flight_.fetch_sub(1, std::memory_order_acq_rel);
  done(std::move(result));
}

}  // namespace esper::http
