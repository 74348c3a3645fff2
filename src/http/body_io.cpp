// What curl reads and writes for a transfer (loop thread): the request body (memory, file or
// stream, with rewind for retries), the response headers, the response body into its sink
// (memory, file or stream; error bodies kept aside), and the redacted debug log.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "client_impl.h"
#include "esper/core/redact.h"

namespace esper::http {
namespace {

/// Redacts one line of curl's verbose log.
std::string RedactDebugLine(std::string_view line) {
  // A credential header (esper/core/redact.h): Authorization, Cookie, X-Amz-Security-Token, …
  size_t colon = line.find(':');
  if (colon != std::string_view::npos && line.substr(0, colon).find(' ') == std::string_view::npos &&
      IsSecretHeader(line.substr(0, colon))) {
    return fmt::format("{}: {}", line.substr(0, colon), kRedacted);
  }
  // Request lines ("GET /path?X-Amz-Signature=… HTTP/1.1") and anything else with a query.
  if (line.find('?') != std::string_view::npos || line.find('@') != std::string_view::npos) {
    return RedactUrl(line);
  }
  return std::string(line);
}

}  // namespace

using detail::kErrorBodyCap;

// Opens the request body file and the response file for an attempt (the first), or starts them
// over (a retry): a stream body is rewound, a file sink truncated, a stream sink rewound.
Status Client::Impl::OpenFiles(Transfer* t) {
  const Body& body = t->body;
  const Sink& sink = t->sink;
  if (body.kind() == Body::Kind::kFile) {
    if (t->in_fd < 0) {
      t->in_fd = open(body.path().c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);  // a FIFO: no wait
      if (t->in_fd < 0) {
        return Error::FromErrno(errno, fmt::format("{} {}: open request body {}", t->method,
                                                   t->redacted_url, body.path()));
      }
      struct stat st {};
      if (fstat(t->in_fd, &st) != 0) {
        return Error::FromErrno(errno, fmt::format("stat request body {}", body.path()));
      }
      if (!S_ISREG(st.st_mode)) {
        // Its size is not its length (a pipe, FIFO or device reads as 0 bytes): it would go out
        // empty.
        return Error::InvalidArgument(fmt::format(
            "{} {}: request body {} is not a regular file; send it with Body::FromStream", t->method,
            t->redacted_url, body.path()));
      }
      t->in_size = static_cast<uint64_t>(st.st_size);
    }
  }
  if (body.kind() == Body::Kind::kStream && t->stream_touched) {
    if (!body.rewind_fn()) {
      return Error::FailedPrecondition(fmt::format("{} {}: the stream body cannot be rewound for a retry",
                                                   t->method, t->redacted_url));
    }
    if (Status s = body.rewind_fn()(); !s) {
      return Error(s.error()).Wrap(fmt::format("{} {}: rewind the request body", t->method, t->redacted_url));
    }
    t->stream_touched = false;
  }
  if (sink.kind() == Sink::Kind::kStream && t->sink_touched) {
    // Only a sink with a rewind gets here: without one the request was not retried.
    if (Status s = sink.rewind_fn()(); !s) {
      return Error(s.error()).Wrap(fmt::format("{} {}: rewind the response sink", t->method, t->redacted_url));
    }
    t->sink_touched = false;
  }
  if (sink.kind() == Sink::Kind::kFile) {
    if (t->out_fd < 0) {
      t->out_fd = open(sink.path().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (t->out_fd < 0) {
        return Error::FromErrno(errno, fmt::format("{} {}: open response file {}", t->method,
                                                   t->redacted_url, sink.path()));
      }
    } else {
      // A retry: start the file over.
      if (ftruncate(t->out_fd, 0) != 0 || lseek(t->out_fd, 0, SEEK_SET) != 0) {
        return Error::FromErrno(errno, fmt::format("truncate response file {}", sink.path()));
      }
    }
  }
  return OkStatus();
}

// A Body / Sink callback failed: the attempt ends with this error rather than curl's.
void Client::Impl::SetCallbackError(Transfer* t, Error e) { t->callback_error = std::make_unique<Error>(std::move(e)); }

// Called by libcurl each time it is about to send the request on a connection — once per
// attempt, and again when it resends by itself (a reused connection found dead before any byte
// of the answer: curl reconnects and sends the request again, whatever its method).
int Client::Impl::OnPrereq(void* ud, char*, char*, int, int) {
  ++static_cast<Transfer*>(ud)->sends;
  return CURL_PREREQFUNC_OK;
}

size_t Client::Impl::OnHeader(char* p, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  std::string_view line(p, size * n);
  // Bounded: a server's header block is a fault past kMaxResponseHeaderBytes (below libcurl's own
  // limit, so the error says what happened rather than "connection reset"), and not retried.
  t->header_bytes += static_cast<uint32_t>(std::min<size_t>(line.size(), detail::kMaxResponseHeaderBytes + 1));
  if (t->header_bytes > detail::kMaxResponseHeaderBytes) {
    SetCallbackError(t, Error::Unavailable(fmt::format(
                            "{} {}: the response headers exceed {} KiB: a fault of the server, not retried",
                            t->method, t->redacted_url, detail::kMaxResponseHeaderBytes / 1024))
                            .WithRetryable(false));
    return 0;
  }
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.rfind("HTTP/", 0) == 0) {
    t->resp.headers.clear();  // a new response (after 100 Continue or a redirect)
    t->in_headers = true;
    return size * n;
  }
  if (line.empty()) t->in_headers = false;  // the end of the header block
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string_view v = line.substr(colon + 1);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  // One allocation for a typical response; 15 entries (960 bytes) stay inside glibc's per-thread
  // cache, 16 (1,024) would take its slower large-chunk path on every response.
  if (t->resp.headers.empty()) t->resp.headers.reserve(15);
  t->resp.headers.emplace_back(std::string(line.substr(0, colon)), std::string(v));
  return size * n;
}

size_t Client::Impl::OnWrite(char* p, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  const size_t len = size * n;
  Impl* self = t->impl;
  if (t->status_seen < 0) {
    long code = 0;
    curl_easy_getinfo(t->handle.easy, CURLINFO_RESPONSE_CODE, &code);
    t->status_seen = static_cast<int>(code);
    t->divert_body = code >= 400;
  }
  t->resp.bytes_received += len;
  t->bytes_in_total += len;
  const Sink& sink = t->sink;
  if (t->divert_body && sink.kind() != Sink::Kind::kMemory) {
    size_t room = kErrorBodyCap > t->resp.body.size() ? kErrorBodyCap - t->resp.body.size() : 0;
    t->resp.body.append(p, std::min(room, len));
    return len;
  }
  switch (sink.kind()) {
    case Sink::Kind::kMemory:
      if (t->resp.body.size() + len > self->options_.max_response_bytes) {
        SetCallbackError(t, Error::ResourceExhausted(fmt::format(
            "{} {}: response body exceeds max_response_bytes ({} bytes); use a file or stream sink",
            t->method, t->redacted_url, self->options_.max_response_bytes)));
        return 0;
      }
      t->resp.body.append(p, len);
      return len;
    case Sink::Kind::kFile: {
      size_t off = 0;
      while (off < len) {
        ssize_t w = write(t->out_fd, p + off, len - off);
        if (w < 0) {
          if (errno == EINTR) continue;
          SetCallbackError(t, Error::FromErrno(errno, fmt::format("write response file {}", sink.path())));
          return 0;
        }
        off += static_cast<size_t>(w);
      }
      return len;
    }
    case Sink::Kind::kStream: {
      Status s = sink.write_fn()(std::string_view(p, len));
      if (!s) {
        SetCallbackError(t, Error(s.error()).Wrap(fmt::format("{} {}: response sink", t->method, t->redacted_url)));
        return 0;
      }
      t->sink_delivered += len;
      t->sink_touched = true;
      return len;
    }
  }
  return len;
}

size_t Client::Impl::OnRead(char* buf, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  const size_t cap = size * n;
  const Body& body = t->body;
  if (body.kind() == Body::Kind::kFile) {
    if (t->in_off >= t->in_size) return 0;
    size_t want = static_cast<size_t>(std::min<uint64_t>(cap, t->in_size - t->in_off));
    ssize_t got;
    do {
      got = pread(t->in_fd, buf, want, static_cast<off_t>(t->in_off));
    } while (got < 0 && errno == EINTR);
    if (got < 0) {
      SetCallbackError(t, Error::FromErrno(errno, fmt::format("read request body {}", body.path())));
      return CURL_READFUNC_ABORT;
    }
    if (got == 0) {
      SetCallbackError(t, Error::DataLoss(fmt::format(
          "request body {} shrank while being sent ({} of {} bytes)", body.path(), t->in_off, t->in_size)));
      return CURL_READFUNC_ABORT;
    }
    t->in_off += static_cast<uint64_t>(got);
    t->resp.bytes_sent += static_cast<uint64_t>(got);
    return static_cast<size_t>(got);
  }
  // Stream.
  t->stream_touched = true;
  Result<size_t> got = body.read_fn()(buf, cap);
  if (!got) {
    SetCallbackError(t, Error(got.error()).Wrap(fmt::format("{} {}: request body", t->method, t->redacted_url)));
    return CURL_READFUNC_ABORT;
  }
  if (*got > cap) {
    SetCallbackError(t, Error::Internal("request body read function returned more bytes than asked"));
    return CURL_READFUNC_ABORT;
  }
  t->stream_read += *got;
  if (body.stream_size() && t->stream_read > *body.stream_size()) {
    SetCallbackError(t, Error::InvalidArgument(fmt::format(
        "{} {}: the stream body produced more than its declared size {}", t->method, t->redacted_url,
        *body.stream_size())));
    return CURL_READFUNC_ABORT;
  }
  if (*got == 0 && body.stream_size() && t->stream_read < *body.stream_size()) {
    SetCallbackError(t, Error::InvalidArgument(fmt::format(
        "{} {}: the stream body ended after {} of its declared {} bytes", t->method, t->redacted_url,
        t->stream_read, *body.stream_size())));
    return CURL_READFUNC_ABORT;
  }
  t->resp.bytes_sent += *got;
  return *got;
}

int Client::Impl::OnSeek(void* ud, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(ud);
  if (origin != SEEK_SET || offset < 0) return CURL_SEEKFUNC_CANTSEEK;
  const Body& body = t->body;
  if (body.kind() == Body::Kind::kFile) {
    t->in_off = static_cast<uint64_t>(offset);
    t->resp.bytes_sent = t->in_off;
    return CURL_SEEKFUNC_OK;
  }
  if (body.kind() == Body::Kind::kStream && offset == 0 && body.rewind_fn()) {
    if (!body.rewind_fn()()) return CURL_SEEKFUNC_FAIL;
    t->stream_read = 0;
    t->stream_touched = false;
    t->resp.bytes_sent = 0;
    return CURL_SEEKFUNC_OK;
  }
  return CURL_SEEKFUNC_CANTSEEK;
}

int Client::Impl::OnDebug(CURL*, curl_infotype type, char* data, size_t size, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  const char* prefix;
  switch (type) {
    case CURLINFO_TEXT: prefix = "* "; break;
    case CURLINFO_HEADER_OUT: prefix = "> "; break;
    case CURLINFO_HEADER_IN: prefix = "< "; break;
    default: return 0;  // bodies and TLS records are not logged
  }
  std::string_view text(data, size);
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) t->impl->options_.debug_log(fmt::format("{}{}", prefix, RedactDebugLine(line)));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return 0;
}

}  // namespace esper::http
