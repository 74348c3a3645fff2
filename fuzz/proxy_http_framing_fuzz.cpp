// Fuzzes the proxy's HTTP/1.1 framing: it reads untrusted bytes from both clients and upstreams.
// Invariants checked: no crash or sanitizer report; a scanner never claims more bytes than it was
// fed; a message stream split at any point frames the same as when fed whole.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proxy/http_framing.h"

using esper::proxy::detail::BodyScanner;

namespace {

// Feeds `body` to a scanner in pieces of `step` bytes; returns bytes consumed, or -1 on error.
int64_t Scan(const esper::proxy::detail::BodyFraming& framing, std::string_view body, size_t step) {
  BodyScanner scanner(framing);
  uint64_t used = 0;
  while (!body.empty() && !scanner.done()) {
    std::string_view piece = body.substr(0, step);
    auto n = scanner.Feed(piece);
    if (!n) return -1;
    if (*n > piece.size()) std::abort();  // claimed bytes it was never given
    used += *n;
    if (*n < piece.size()) break;  // the body ended inside this piece
    body.remove_prefix(piece.size());
  }
  return static_cast<int64_t>(used);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t end = esper::proxy::detail::FindHeadEnd(in);
  if (end == std::string_view::npos) {
    (void)esper::proxy::detail::ParseRequestHead(in);
    (void)esper::proxy::detail::ParseResponseHead(in);
    return 0;
  }
  if (end > in.size()) std::abort();
  std::string_view head = in.substr(0, end), rest = in.substr(end);
  if (auto req = esper::proxy::detail::ParseRequestHead(head)) {
    int64_t whole = Scan(req->body, rest, rest.size() + 1);
    int64_t bytewise = Scan(req->body, rest, 1);
    int64_t sevens = Scan(req->body, rest, 7);
    if (whole >= 0 && (bytewise != whole || sevens != whole)) std::abort();
  }
  if (auto resp = esper::proxy::detail::ParseResponseHead(head)) {
    for (std::string_view method : {"GET", "HEAD"}) {
      auto framing = esper::proxy::detail::ResponseBodyFraming(*resp, method);
      int64_t whole = Scan(framing, rest, rest.size() + 1);
      int64_t bytewise = Scan(framing, rest, 1);
      if (whole >= 0 && bytewise != whole) std::abort();
    }
  }
  return 0;
}
