// Private: the pool of curl easy handles a Client reuses between transfers, and the proxy
// settings its handles are given.
//
// A handle goes back out without curl_easy_reset when the next request has the same shape
// (method, body kind, scheme: Client::Impl::EasyShape), because SetupEasy then sets every option
// it set before; any other shape gets the reset. The connection cache lives in the multi handle,
// not here. Loop thread only.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "transfer.h"

namespace esper::http::detail {

class EasyPool {
 public:
  /// Handles kept for reuse, at most.
  static constexpr size_t kCap = 256;

  EasyPool() = default;
  EasyPool(const EasyPool&) = delete;
  EasyPool& operator=(const EasyPool&) = delete;
  ~EasyPool();

  /// Gives `h` a handle for `h.shape`; returns whether it already carries the options SetupEasy
  /// sets once per handle and shape (false for a new or reset handle). `h.easy` stays null when
  /// curl_easy_init fails.
  bool Acquire(EasyHandle& h);
  /// Takes `h` back: into the pool, or cleaned up when the pool is full or the handle is not
  /// `reusable` (set up for a shape but without that shape's options). `h` is empty afterwards.
  void Release(EasyHandle& h, bool reusable = true);
  /// Cleans up every pooled handle (before the multi handle goes).
  void Clear();

 private:
  std::vector<EasyHandle> pool_;
};

/// Makes `h`'s parsed URL `url` (see EasyExtras), parsing only when it holds another; with
/// `path_as_is`, "." and ".." segments are kept (CURLU_PATH_AS_IS).
CURLUcode SetHandleUrl(EasyHandle& h, const std::string& url, bool path_as_is);

// The proxy settings curl takes from the environment, with its rules (curl 7.88 detect_proxy):
// http:// uses http_proxy (lower case only: HTTP_PROXY can be set by a CGI request, "httpoxy"),
// https:// uses https_proxy or HTTPS_PROXY; either falls back to all_proxy / ALL_PROXY; hosts in
// no_proxy / NO_PROXY go direct. Empty variables count as unset.
struct ProxyEnv {
  std::string http, https, no_proxy;

  static ProxyEnv FromEnvironment();
};

}  // namespace esper::http::detail
