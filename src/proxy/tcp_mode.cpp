// The fault proxy in tcp mode: opaque bytes both ways, one fault decision per connection.
#include "proxy/impl.h"

#include <sys/socket.h>

#include <algorithm>

namespace esper::proxy {

void FaultProxy::Impl::ProcessTcp(Conn& c) {
  switch (c.decision.kind) {
    case FaultKind::kReset:
    case FaultKind::kResetAfterUpstream:
      if (!c.c_in.empty() || !c.u_in.empty() || c.c_eof || c.u_eof) ResetClient(c);
      return;
    case FaultKind::kStall:
      c.c_in.clear();
      if (c.c_eof) Destroy(c);
      return;
    case FaultKind::kTruncate:
      if (!c.u_in.empty()) {
        size_t keep = static_cast<size_t>(c.decision.variant * static_cast<double>(c.u_in.size()));
        c.c_out.append(c.u_in.view().substr(0, keep));
        BeginClose(c);
        return;
      }
      break;
    case FaultKind::kNone:
    case FaultKind::kError:    // http only (Create refuses it in tcp mode)
    case FaultKind::kCorrupt:  // http only
      break;
  }
  TimePoint now = SteadyClock::now();
  bool delay = opts.latency.count() > 0;
  // Moves src → (delay queue →) dst, keeping the total below the cap.
  auto pipe = [&](Buffer& src, std::deque<Conn::Chunk>& q, size_t& q_bytes, Buffer& dst) {
    size_t used = dst.size() + q_bytes;
    if (!src.empty() && used < kBufferCap) {
      size_t n = std::min(src.size(), kBufferCap - used);
      if (delay) {
        q.push_back({now + opts.latency, std::string(src.view().substr(0, n))});
        q_bytes += n;
        Inc(stats.delayed);
        src.consume(n);
      } else {
        dst.MoveFrom(src, n);
      }
    }
    while (!q.empty() && q.front().release <= now) {
      dst.append(q.front().bytes);
      q_bytes -= q.front().bytes.size();
      q.pop_front();
    }
  };
  if (c.ufd >= 0) pipe(c.c_in, c.delayed_up, c.delayed_up_bytes, c.u_out);
  pipe(c.u_in, c.delayed_down, c.delayed_down_bytes, c.c_out);

  // Propagate half-closes once everything before them is delivered.
  if (c.c_eof && !c.up_fin && c.ufd >= 0 && !c.u_connecting && c.c_in.empty() &&
      c.delayed_up.empty() && c.u_out.empty()) {
    ::shutdown(c.ufd, SHUT_WR);
    c.up_fin = true;
  }
  if (c.u_eof && !c.down_fin && c.u_in.empty() && c.delayed_down.empty() && c.c_out.empty()) {
    ::shutdown(c.cfd, SHUT_WR);
    c.down_fin = true;
  }
  if (c.up_fin && c.down_fin) {
    Destroy(c);
    return;
  }
  std::optional<TimePoint> next;
  if (!c.delayed_up.empty()) next = c.delayed_up.front().release;
  if (!c.delayed_down.empty() && (!next || c.delayed_down.front().release < *next)) {
    next = c.delayed_down.front().release;
  }
  if (next != c.timer) SetTimer(c, next);
}

}  // namespace esper::proxy
