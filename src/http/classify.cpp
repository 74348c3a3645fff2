// What an attempt's HTTP response means when the caller does not say (DefaultClassifier), and the
// ResponseVerdict helpers. The client calls the classifier from attempt.cpp.
#include <string>

#include "esper/http/request.h"
#include "esper/http/response.h"
#include "esper/resilience/retry_policy.h"

namespace esper::http {

ResponseVerdict ResponseVerdict::Retry(Error error, std::optional<Clock::Duration> retry_after) {
  error.WithRetryable(true);
  return ResponseVerdict{.error = std::move(error), .retry_after = retry_after};
}

ResponseVerdict ResponseVerdict::Fail(Error error) {
  error.WithRetryable(false);
  return ResponseVerdict{.error = std::move(error)};
}

ResponseVerdict DefaultClassifier(const AttemptResponse& attempt) {
  const Response& r = attempt.response;
  Status status = r.ToStatus();
  if (status) return ResponseVerdict::Success();
  Error err = std::move(status).error();
  err.Wrap(MethodName(attempt.method));
  // Only 429/502/503/504 are worth repeating (a 500 is usually a bug, not a blip).
  err.WithRetryable(r.status == 429 || r.status == 502 || r.status == 503 || r.status == 504);
  if (auto rid = r.Header("X-Request-Id")) err.WithRequestId(std::string(*rid));
  ResponseVerdict v{.error = std::move(err)};
  if (auto ra = r.Header("Retry-After")) v.retry_after = resilience::ParseRetryAfter(*ra);
  return v;
}

}  // namespace esper::http
