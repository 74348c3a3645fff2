// The fault proxy in http mode: one HTTP/1.1 exchange at a time per connection — the request and
// response state machines, the fault acted on each request, and the errors it injects.
#include "proxy/impl.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "esper/core/redact.h"
#include "esper/core/xml_escape.h"

namespace esper::proxy {

namespace {

std::string StatusReason(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

// A response the proxy writes itself (local errors: 400, 431, 502).
std::string LocalResponse(int status, std::string_view body) {
  return fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n"
      "Connection: close\r\n\r\n{}",
      status, StatusReason(status), body.size(), body);
}

// The corrupt fault: flips the byte at body offset `at` when it is among the next `n` bytes of
// `buf`, whose first byte is body offset `sent`.
void FlipIfWithin(detail::Buffer& buf, uint64_t at, uint64_t sent, size_t n) {
  if (at >= sent && at - sent < n) buf.FlipByte(at - sent);
}

}  // namespace

void FaultProxy::Impl::FailWithLocal(Conn& c, int status, std::string_view body) {
  if (!c.ex.resp_started) {
    c.c_out.append(LocalResponse(status, body));
    c.ex.client_status = status;
  }
  BeginClose(c);
}

void FaultProxy::Impl::CaptureResponse(Conn& c, std::string_view body_bytes) {
  // Only the request log looks for an upload id.
  if (!request_log || c.request.method != "POST" || c.ex.resp_capture.size() >= kCaptureBytes) return;
  c.ex.resp_capture.append(body_bytes.substr(0, kCaptureBytes - c.ex.resp_capture.size()));
}

void FaultProxy::Impl::LogExchange(Conn& c) {
  const Conn::Exchange& ex = c.ex;
  if (!ex.open) return;
  c.ex.open = false;
  if (!request_log) return;
  auto status = [](int s) { return s > 0 ? std::to_string(s) : std::string("-"); };
  std::string line = fmt::format(
      "conn={} req={} method={} target={} status={} upstream={} req_bytes={} resp_bytes={} fault={}",
      c.id, c.next_request - 1, c.request.method, RedactUrl(c.request.target),
      status(ex.client_status), status(ex.upstream_status), ex.req_body_sent, ex.resp_body_sent,
      FaultKindName(c.decision.kind));
  if (c.decision.kind == FaultKind::kCorrupt) {  // a byte was flipped once its offset went through
    if (ex.corrupt_req_at < ex.req_body_sent) {
      line += fmt::format(" corrupted=request:{}", ex.corrupt_req_at);
    } else if (ex.corrupt_resp_at < ex.resp_body_sent) {
      line += fmt::format(" corrupted=response:{}", ex.corrupt_resp_at);
    } else {
      line += " corrupted=-";
    }
  }
  std::string_view cap = ex.resp_capture;
  if (size_t open = cap.find("<UploadId>"); open != std::string_view::npos) {
    open += std::string_view("<UploadId>").size();
    size_t close = cap.find("</UploadId>", open);
    if (close != std::string_view::npos && close > open) {
      line += fmt::format(" upload_id={}", cap.substr(open, close - open));
    }
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), request_log);
  std::fflush(request_log);  // readable while the proxy runs (tail -f, a test's reconciliation)
}

void FaultProxy::Impl::UpstreamBroken(Conn& c) {
  // Upstream reset or failed to take our bytes.
  CloseSocket(c.ufd, c.u_events, false);
  c.u_connecting = false;
  c.u_in.clear();
  c.u_out.clear();
  if (opts.mode == Mode::kTcp || c.decision.kind == FaultKind::kResetAfterUpstream) {
    ResetClient(c);
    return;
  }
  if (c.resp == RespState::kIdle) {
    // Between exchanges: the next request reconnects.
    c.u_eof = false;
    return;
  }
  if (c.resp == RespState::kDone) {
    BeginClose(c);
    return;
  }
  Inc(stats.upstream_failures);
  FailWithLocal(c, 502, "esper proxy: upstream closed the connection before answering\n");
}

std::string FaultProxy::Impl::InjectedError(const Conn& c, bool keep_alive) const {
  int status = opts.error_status == ErrorStatus::k500 ? 500 : 503;
  std::string body, type = "text/plain", extra;
  std::string request_id = fmt::format("ESPERPROXY{:08X}{:08X}", c.id, c.next_request - 1);
  if (opts.error_status == ErrorStatus::kSlowDown) {
    type = "application/xml";
    body = fmt::format(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>"
        "<Resource>{}</Resource><RequestId>{}</RequestId></Error>",
        XmlEscape(c.request.target), request_id);
    extra = fmt::format("x-amz-request-id: {}\r\n", request_id);
  } else {
    body = fmt::format("{} {} (injected by esper proxy)\n", status, StatusReason(status));
  }
  if (opts.retry_after) extra += fmt::format("Retry-After: {}\r\n", opts.retry_after->count());
  return fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: {}\r\n"
      "X-Esper-Fault: error\r\n{}\r\n{}",
      status, StatusReason(status), type, body.size(), keep_alive ? "keep-alive" : "close", extra,
      body);
}

void FaultProxy::Impl::ProcessHttp(Conn& c) {
  for (int i = 0; i < 1024 && !c.dead && !c.closing; ++i) {
    bool progress = StepRequest(c);
    if (c.dead || c.closing) return;
    progress |= StepResponse(c);
    if (c.dead || c.closing) return;
    if (c.resp == RespState::kDone && (c.req == ReqState::kAwaitResponse || c.close_after)) {
      EndExchange(c);
      progress = true;
    }
    if (!progress) return;
  }
}

// Request side. Returns true on progress.
bool FaultProxy::Impl::StepRequest(Conn& c) {
  switch (c.req) {
    case ReqState::kHead: {
      size_t end = detail::FindHeadEnd(c.c_in.view());
      if (end == std::string_view::npos) {
        if (c.c_in.size() > kMaxHead) {
          Inc(stats.protocol_errors);
          FailWithLocal(c, 431, "esper proxy: request head larger than 64 KiB\n");
          return true;
        }
        if (c.c_eof) {
          // The client closed between requests (or mid-head): nothing to answer.
          BeginClose(c);
          return true;
        }
        return false;
      }
      auto head = detail::ParseRequestHead(c.c_in.view().substr(0, end));
      if (!head) {
        Inc(stats.protocol_errors);
        FailWithLocal(c, 400, fmt::format("esper proxy: {}\n", head.error().message()));
        return true;
      }
      Inc(stats.requests);
      c.request = std::move(*head);
      c.head_len = end;
      RefreshFaults();
      c.decision = detail::Decide(c.rng, opts);
      uint64_t index = c.next_request++;
      RecordDecision(c, index);
      c.ex.open = true;  // the rest of c.ex is as EndExchange (or the new Conn) left it: cleared
      if (opts.latency.count() > 0 && c.decision.kind != FaultKind::kStall) {
        Inc(stats.delayed);
        c.req = ReqState::kDelay;
        SetTimer(c, SteadyClock::now() + opts.latency);
        return true;
      }
      Act(c);
      return true;
    }
    case ReqState::kDelay:
      return false;
    case ReqState::kForwardBody:
    case ReqState::kDiscardBody: {
      if (c.c_in.empty()) {
        if (c.c_eof) {
          BeginClose(c);  // the client gave up in the middle of its body
          return true;
        }
        return false;
      }
      bool discard = c.req == ReqState::kDiscardBody;
      size_t room = discard ? c.c_in.size()
                            : (c.u_out.size() < kBufferCap ? kBufferCap - c.u_out.size() : 0);
      if (room == 0) return false;
      std::string_view v = c.c_in.view().substr(0, room);
      auto n = c.req_body.Feed(v);
      if (!n) {
        Inc(stats.protocol_errors);
        FailWithLocal(c, 400, fmt::format("esper proxy: {}\n", n.error().message()));
        return true;
      }
      if (discard) {
        c.c_in.consume(*n);
      } else {
        FlipIfWithin(c.c_in, c.ex.corrupt_req_at, c.ex.req_body_sent, *n);
        c.u_out.MoveFrom(c.c_in, *n);
        c.ex.req_body_sent += *n;
      }
      if (c.req_body.done()) c.req = ReqState::kAwaitResponse;
      return *n > 0 || c.req == ReqState::kAwaitResponse;
    }
    case ReqState::kAwaitResponse:
      return false;
    case ReqState::kStall:
      c.c_in.clear();
      if (c.c_eof) Destroy(c);
      return false;
    case ReqState::kTunnel: {
      if (c.c_in.empty()) return false;
      size_t room = c.u_out.size() < kBufferCap ? kBufferCap - c.u_out.size() : 0;
      size_t n = std::min(room, c.c_in.size());
      c.u_out.MoveFrom(c.c_in, n);
      return n > 0;
    }
  }
  return false;
}

// Acts on the decision for the request whose head is at the front of c_in.
void FaultProxy::Impl::Act(Conn& c) {
  const detail::RequestHead& r = c.request;
  switch (c.decision.kind) {
    case FaultKind::kReset:
      ResetClient(c);
      return;
    case FaultKind::kStall:
      c.c_in.clear();
      if (c.ufd >= 0) {
        CloseSocket(c.ufd, c.u_events, false);
        c.u_in.clear();
        c.u_out.clear();
      }
      c.req = ReqState::kStall;
      c.resp = RespState::kIdle;
      return;
    case FaultKind::kError: {
      bool has_body = r.body.kind != detail::BodyFraming::Kind::kNone;
      bool keep_alive = r.keep_alive && !(r.expect_continue && has_body);
      c.c_out.append(InjectedError(c, keep_alive));
      c.ex.client_status = opts.error_status == ErrorStatus::k500 ? 500 : 503;
      c.ex.resp_started = true;
      c.c_in.consume(c.head_len);
      c.req_body = detail::BodyScanner(r.body);
      c.req = c.req_body.done() ? ReqState::kAwaitResponse : ReqState::kDiscardBody;
      c.resp = RespState::kDone;
      c.close_after = !keep_alive;
      return;
    }
    case FaultKind::kCorrupt:
      if (r.body.kind == detail::BodyFraming::Kind::kLength && r.body.length > 0) {
        c.ex.corrupt_req_at = static_cast<uint64_t>(c.decision.variant * static_cast<double>(r.body.length));
      }
      break;
    case FaultKind::kNone:
    case FaultKind::kResetAfterUpstream:
    case FaultKind::kTruncate:
      break;
  }
  if (c.ufd < 0) {
    if (!StartConnect(c)) {
      Inc(stats.upstream_failures);
      FailWithLocal(c, 502, fmt::format("esper proxy: cannot connect to upstream {}\n", opts.upstream));
      return;
    }
  }
  c.u_out.append(c.c_in.view().substr(0, c.head_len));
  c.c_in.consume(c.head_len);
  c.req_body = detail::BodyScanner(r.body);
  c.req = c.req_body.done() ? ReqState::kAwaitResponse : ReqState::kForwardBody;
  c.resp = RespState::kHead;
  c.close_after = !r.keep_alive;
}

// Response side. Returns true on progress.
bool FaultProxy::Impl::StepResponse(Conn& c) {
  switch (c.resp) {
    case RespState::kIdle:
      if (c.ufd >= 0 && (c.u_eof || !c.u_in.empty())) {
        // Upstream closed an idle keep-alive connection (or sent bytes nobody asked for):
        // drop it; the next request opens a new one.
        if (!c.u_in.empty()) Inc(stats.protocol_errors);
        CloseSocket(c.ufd, c.u_events, false);
        c.u_in.clear();
        c.u_out.clear();
        c.u_eof = false;
        return true;
      }
      return false;
    case RespState::kHead: {
      size_t end = detail::FindHeadEnd(c.u_in.view());
      if (end == std::string_view::npos) {
        if (c.u_in.size() > kMaxHead) {
          Inc(stats.protocol_errors);
          FailWithLocal(c, 502, "esper proxy: upstream response head larger than 64 KiB\n");
          return true;
        }
        if (c.u_eof) {
          if (c.decision.kind == FaultKind::kResetAfterUpstream) {
            ResetClient(c);
            return true;
          }
          Inc(stats.upstream_failures);
          FailWithLocal(c, 502, "esper proxy: upstream closed the connection before answering\n");
          return true;
        }
        return false;
      }
      auto head = detail::ParseResponseHead(c.u_in.view().substr(0, end));
      if (head) c.ex.upstream_status = head->status;
      if (c.decision.kind == FaultKind::kResetAfterUpstream) {
        // Upstream has the request and is answering; the client never learns. The request log
        // still gets what of the body has arrived (an upload id the client will never see).
        CaptureResponse(c, c.u_in.view().substr(end));
        ResetClient(c);
        return true;
      }
      if (!head) {
        Inc(stats.protocol_errors);
        FailWithLocal(c, 502, fmt::format("esper proxy: bad upstream response: {}\n",
                                          head.error().message()));
        return true;
      }
      if (c.c_out.size() >= kBufferCap) return false;  // backpressure; retry when drained
      if (head->status == 101) {
        c.c_out.append(c.u_in.view().substr(0, end));
        c.u_in.consume(end);
        c.ex.resp_started = true;
        c.req = ReqState::kTunnel;
        c.resp = RespState::kTunnel;
        return true;
      }
      if (head->status < 200) {  // 100 Continue, 103 Early Hints: forward, the final one follows
        c.c_out.append(c.u_in.view().substr(0, end));
        c.u_in.consume(end);
        c.ex.resp_started = true;
        return true;
      }
      detail::BodyFraming framing = detail::ResponseBodyFraming(*head, c.request.method);
      c.resp_body = detail::BodyScanner(framing);
      if (!head->keep_alive || framing.kind == detail::BodyFraming::Kind::kUntilClose) {
        c.close_after = true;
      }
      if (c.decision.kind == FaultKind::kTruncate) {
        if (framing.kind == detail::BodyFraming::Kind::kNone) {
          // No body to cut: cut the head itself.
          size_t keep = static_cast<size_t>(c.decision.variant * static_cast<double>(end));
          c.c_out.append(c.u_in.view().substr(0, std::min(keep, end - 1)));
          c.ex.resp_started = true;
          BeginClose(c);
          return true;
        }
        uint64_t window = framing.kind == detail::BodyFraming::Kind::kLength ? framing.length
                                                                             : kUnknownLengthWindow;
        c.ex.truncate_at = static_cast<uint64_t>(c.decision.variant * static_cast<double>(window));
      }
      if (c.decision.kind == FaultKind::kCorrupt && c.ex.corrupt_req_at == kNever &&
          framing.kind == detail::BodyFraming::Kind::kLength && framing.length > 0) {
        c.ex.corrupt_resp_at = static_cast<uint64_t>(c.decision.variant * static_cast<double>(framing.length));
      }
      c.ex.client_status = head->status;
      c.c_out.append(c.u_in.view().substr(0, end));
      c.u_in.consume(end);
      c.ex.resp_started = true;
      c.resp = c.resp_body.done() ? RespState::kDone : RespState::kBody;
      return true;
    }
    case RespState::kBody: {
      size_t room = c.c_out.size() < kBufferCap ? kBufferCap - c.c_out.size() : 0;
      if (!c.u_in.empty() && room > 0) {
        std::string_view v = c.u_in.view().substr(0, room);
        auto n = c.resp_body.Feed(v);
        if (!n) {
          Inc(stats.protocol_errors);
          c.c_out.append(v);  // forward what we have; the client sees the same breakage
          BeginClose(c);
          return true;
        }
        size_t take = *n;
        CaptureResponse(c, v.substr(0, take));
        if (c.decision.kind == FaultKind::kTruncate) {
          uint64_t allowed = c.ex.truncate_at - c.ex.resp_body_sent;
          bool cut = take > allowed || (c.resp_body.done() && take > 0);
          if (cut) {
            size_t keep = static_cast<size_t>(std::min<uint64_t>(allowed, take));
            if (c.resp_body.done() && keep == take) keep = take - 1;  // always lose a byte
            c.c_out.append(v.substr(0, keep));
            c.ex.resp_body_sent += keep;
            BeginClose(c);
            return true;
          }
        }
        FlipIfWithin(c.u_in, c.ex.corrupt_resp_at, c.ex.resp_body_sent, take);
        c.c_out.MoveFrom(c.u_in, take);
        c.ex.resp_body_sent += take;
        if (c.resp_body.done()) c.resp = RespState::kDone;
        return take > 0 || c.resp == RespState::kDone;
      }
      if (c.u_in.empty() && c.u_eof) {
        if (c.resp_body.kind() == detail::BodyFraming::Kind::kUntilClose &&
            c.decision.kind != FaultKind::kTruncate) {
          c.resp = RespState::kDone;
          c.close_after = true;
          return true;
        }
        // Upstream ended early (or a truncation with until-close body shorter than the cut):
        // the client gets what came, then FIN.
        BeginClose(c);
        return true;
      }
      return false;
    }
    case RespState::kDone:
      return false;
    case RespState::kTunnel: {
      size_t room = c.c_out.size() < kBufferCap ? kBufferCap - c.c_out.size() : 0;
      size_t n = std::min(room, c.u_in.size());
      if (n > 0) {
        c.c_out.MoveFrom(c.u_in, n);
      }
      if ((c.u_eof && c.u_in.empty()) || (c.c_eof && c.c_in.empty())) {
        BeginClose(c);
        return true;
      }
      return n > 0;
    }
  }
  return false;
}

void FaultProxy::Impl::EndExchange(Conn& c) {
  LogExchange(c);
  if (c.close_after) {
    BeginClose(c);
    return;
  }
  c.req = ReqState::kHead;
  c.resp = RespState::kIdle;
  c.decision = {};
  c.ex = {};
}

}  // namespace esper::proxy
