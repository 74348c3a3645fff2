// The pool of curl easy handles, and the options a handle is set up with for a transfer.
#include "easy_pool.h"

#include <algorithm>
#include <cstdlib>
#include <initializer_list>

#include "client_impl.h"

namespace esper::http {
namespace detail {

EasyPool::~EasyPool() { Clear(); }

void EasyPool::Clear() {
  for (const EasyHandle& p : pool_) curl_easy_cleanup(p.easy);
  pool_.clear();
}

bool EasyPool::Acquire(EasyHandle& h) {
  const uint32_t shape = h.shape;
  // Look at the few most recently used handles for one of the same shape.
  const size_t look = std::min<size_t>(pool_.size(), 4);
  for (size_t k = pool_.size(); k-- > pool_.size() - look;) {
    if (pool_[k].shape != shape) continue;
    h = std::move(pool_[k]);
    pool_.erase(pool_.begin() + static_cast<std::ptrdiff_t>(k));
    return true;
  }
  if (pool_.empty()) {
    h.easy = curl_easy_init();
    if (h.easy) h.extras = std::make_unique<EasyExtras>();
  } else {
    h = std::move(pool_.back());
    pool_.pop_back();
    h.shape = shape;
    curl_easy_reset(h.easy);
  }
  return false;
}

void EasyPool::Release(EasyHandle& h, bool reusable) {
  if (!h.easy) return;
  if (reusable && pool_.size() < kCap) {
    pool_.push_back(std::move(h));
  } else {
    curl_easy_cleanup(h.easy);
  }
  h = EasyHandle{};
}

CURLUcode SetHandleUrl(EasyHandle& h, const std::string& url, bool path_as_is) {
  EasyExtras& x = *h.extras;
  if (x.url_text == url && x.url_as_is == path_as_is) return CURLUE_OK;
  x.url_text.clear();
  if (!x.url && !(x.url = curl_url())) return CURLUE_OUT_OF_MEMORY;
  // The same parse as HostKeyByCurl (which reads only scheme, host and port, the same either
  // way); `url` is absolute, so nothing of the URL the handle held before carries over. Given a
  // parsed URL, curl sends its path as parsed: CURLOPT_PATH_AS_IS would not apply, the flag here
  // does.
  const unsigned flags = path_as_is ? CURLU_PATH_AS_IS : 0u;
  if (CURLUcode uc = curl_url_set(x.url, CURLUPART_URL, url.c_str(), flags); uc != CURLUE_OK) return uc;
  x.url_text = url;
  x.url_as_is = path_as_is;
  return CURLUE_OK;
}

ProxyEnv ProxyEnv::FromEnvironment() {
  auto get = [](std::initializer_list<const char*> names) -> std::string {
    for (const char* n : names) {
      const char* v = std::getenv(n);
      if (v && *v) return v;
    }
    return {};
  };
  ProxyEnv p;
  const std::string all = get({"all_proxy", "ALL_PROXY"});
  p.http = get({"http_proxy"});
  if (p.http.empty()) p.http = all;
  p.https = get({"https_proxy", "HTTPS_PROXY"});
  if (p.https.empty()) p.https = all;
  p.no_proxy = get({"no_proxy", "NO_PROXY"});
  return p;
}

}  // namespace detail

// What decides which options SetupEasy sets (rather than only their values): method, body kind,
// https. A pooled handle last set up for the same shape still carries every option that is the
// same for all transfers of that shape (callbacks, timeouts, TLS, proxy, method...), so only the
// per-transfer values are set again, and it needs no curl_easy_reset; curl itself resets the
// per-transfer state when the handle is added again.
uint32_t Client::Impl::EasyShape(const Transfer& t) {
  return static_cast<uint32_t>(t.verb) << 8 | static_cast<uint32_t>(t.body.kind()) << 1 |
         (t.host->https ? 1u : 0u);
}

// Sets `t`'s options on t->handle.easy. The options that are the same for every transfer of its
// EasyShape() are set only when the handle is not `configured` yet (see EasyPool::Acquire).
void Client::Impl::SetupEasy(Transfer* t, bool configured) {
  CURL* e = t->handle.easy;
  const Body& body = t->body;
  const bool has_body = t->has_body;
  // Per transfer.
  curl_easy_setopt(e, CURLOPT_PRIVATE, t);
  curl_easy_setopt(e, CURLOPT_CURLU, t->handle.extras->url);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->header_list);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
  curl_easy_setopt(e, CURLOPT_PREREQDATA, t);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(t->attempt_timeout.count()));
  if (options_.debug_log) curl_easy_setopt(e, CURLOPT_DEBUGDATA, t);
  if (has_body) {
    switch (body.kind()) {
      case Body::Kind::kNone:
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(0));
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
        break;
      case Body::Kind::kMemory:
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.data()->size()));
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.data()->data());
        t->resp.bytes_sent = body.data()->size();
        break;
      case Body::Kind::kFile:
      case Body::Kind::kStream: {
        curl_off_t size = -1;  // chunked
        if (body.kind() == Body::Kind::kFile) size = static_cast<curl_off_t>(t->in_size);
        if (body.kind() == Body::Kind::kStream && body.stream_size()) {
          size = static_cast<curl_off_t>(*body.stream_size());
        }
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, size);
        curl_easy_setopt(e, CURLOPT_READDATA, t);
        curl_easy_setopt(e, CURLOPT_SEEKDATA, t);
        break;
      }
    }
  }
  if (configured) return;

  // Per handle and shape.
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->handle.extras->errbuf);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &Impl::OnOpenSocket);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, this);
  curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, &Impl::OnCloseSocket);
  curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, this);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Impl::OnWrite);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Impl::OnHeader);
  curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, &Impl::OnPrereq);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
  if (options_.stall_time.count() > 0) {
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, static_cast<long>(options_.stall_bytes_per_second));
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options_.stall_time.count()));
  }
  if (options_.keep_alive) {
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  } else {
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
  }
  // 2_PRIOR_KNOWLEDGE: h2c for http://, ALPN as with 2TLS for https://.
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                   !options_.http2                ? CURL_HTTP_VERSION_1_1
                   : options_.http2_cleartext     ? CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE
                                                  : CURL_HTTP_VERSION_2TLS);
  const bool https = t->host->https;
  // Explicit values (empty = none) stop curl's per-request environment lookup.
  curl_easy_setopt(e, CURLOPT_PROXY, (https ? proxy_env_.https : proxy_env_.http).c_str());
  curl_easy_setopt(e, CURLOPT_NOPROXY, proxy_env_.no_proxy.c_str());
  if (options_.http2_cleartext && !https && h2c_reuse_broken_) {
    // libcurl 7.88.x fails every request that reuses an h2c connection (curl issue #10634,
    // fixed in 8.0.0): one connection per request, correct but without multiplexing.
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
  } else if (options_.http2 && (options_.http2_cleartext || https)) {
    // Wait for a connection that may multiplex rather than open another one.
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
  }
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
  if (!options_.ca_bundle.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, options_.ca_bundle.c_str());
  if (options_.follow_redirects) {
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, static_cast<long>(options_.max_redirects));
  }
  if (options_.debug_log) {
    curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
    curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, &Impl::OnDebug);
  }
  // Method and how the body is read.
  if (t->verb == Method::kHead) {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (!has_body) {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    if (t->verb != Method::kGet) curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, MethodName(t->verb).data());
  } else {
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    if (t->verb != Method::kPost) curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, MethodName(t->verb).data());
    if (body.kind() == Body::Kind::kFile || body.kind() == Body::Kind::kStream) {
      curl_easy_setopt(e, CURLOPT_READFUNCTION, &Impl::OnRead);
      curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, &Impl::OnSeek);
    }
  }
}

}  // namespace esper::http
