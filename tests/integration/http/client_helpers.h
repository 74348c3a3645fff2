// What the http integration tests build their clients with.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "esper/http/client.h"

namespace esper::http {

/// A client or nullptr (the test has then failed with the reason).
inline std::unique_ptr<Client> MakeClient(ClientOptions o = {}) {
  auto c = Client::Create(std::move(o));
  EXPECT_TRUE(c) << c.error();
  return c ? std::move(*c) : nullptr;
}

/// Retries within milliseconds, no breaker: for tests that count attempts.
inline ClientOptions FastRetries(int attempts = 4) {
  using namespace std::chrono_literals;
  ClientOptions o;
  o.request_timeout = 5s;
  o.retry.max_attempts = attempts;
  o.retry.base_delay = 1ms;
  o.retry.max_delay = 5ms;
  o.breaker_per_host = false;
  return o;
}

}  // namespace esper::http
