#include "proxy/http_framing.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "esper/core/ascii.h"

namespace esper::proxy::detail {
namespace {

constexpr size_t kMaxChunkLine = 8192;
constexpr uint64_t kMaxChunkSize = uint64_t{1} << 60;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool IsTokenChar(char c) {
  return IsAsciiAlnum(c) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Calls fn(token) for each comma-separated token of a header value, trimmed.
template <class Fn>
void ForEachToken(std::string_view value, Fn fn) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view tok = Trim(value.substr(0, comma));
    if (!tok.empty()) fn(tok);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

// The header fields shared by requests and responses.
struct Fields {
  bool has_length = false;
  uint64_t length = 0;
  bool has_te = false;
  bool chunked_last = false;
  bool conn_close = false;
  bool conn_keep_alive = false;
  bool expect_continue = false;
};

Error Malformed(std::string what) { return Error::InvalidArgument(std::move(what)); }

// Parses the header lines after the start line. `lines` starts after the first CRLF and ends
// with the empty line.
Result<Fields> ParseFields(std::string_view lines) {
  Fields f;
  while (!lines.empty()) {
    size_t eol = lines.find('\n');
    std::string_view line = lines.substr(0, eol);
    lines.remove_prefix(eol == std::string_view::npos ? lines.size() : eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;
    if (line.front() == ' ' || line.front() == '\t') {
      return Malformed("obsolete header line folding is not accepted");
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return Malformed(fmt::format("header line without a name: '{}'", line.substr(0, 80)));
    }
    std::string_view name = line.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), IsTokenChar)) {
      return Malformed(fmt::format("bad header name '{}'", name.substr(0, 80)));
    }
    std::string_view value = Trim(line.substr(colon + 1));
    if (EqualsIgnoreCase(name, "Content-Length")) {
      uint64_t n = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || p != value.data() + value.size() || value.empty()) {
        return Malformed(fmt::format("bad Content-Length '{}'", value.substr(0, 40)));
      }
      if (f.has_length && f.length != n) return Malformed("conflicting Content-Length headers");
      f.has_length = true;
      f.length = n;
    } else if (EqualsIgnoreCase(name, "Transfer-Encoding")) {
      f.has_te = true;
      ForEachToken(value, [&](std::string_view tok) { f.chunked_last = EqualsIgnoreCase(tok, "chunked"); });
    } else if (EqualsIgnoreCase(name, "Connection")) {
      ForEachToken(value, [&](std::string_view tok) {
        if (EqualsIgnoreCase(tok, "close")) f.conn_close = true;
        if (EqualsIgnoreCase(tok, "keep-alive")) f.conn_keep_alive = true;
      });
    } else if (EqualsIgnoreCase(name, "Expect")) {
      if (EqualsIgnoreCase(value, "100-continue")) f.expect_continue = true;
    }
  }
  return f;
}

Result<int> ParseVersion(std::string_view v) {
  if (v == "HTTP/1.1") return 1;
  if (v == "HTTP/1.0") return 0;
  return Malformed(fmt::format("unsupported HTTP version '{}'", v.substr(0, 20)));
}

bool KeepAlive(int minor, const Fields& f) {
  if (f.conn_close) return false;
  return minor >= 1 || f.conn_keep_alive;
}

}  // namespace

size_t FindHeadEnd(std::string_view data) noexcept {
  size_t p = data.find("\r\n\r\n");
  return p == std::string_view::npos ? std::string_view::npos : p + 4;
}

Result<RequestHead> ParseRequestHead(std::string_view head) {
  size_t eol = head.find("\r\n");
  if (eol == std::string_view::npos) return Malformed("request line not terminated");
  std::string_view line = head.substr(0, eol);
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos || sp1 == 0 ||
      sp2 == sp1 + 1 || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return Malformed(fmt::format("bad request line '{}'", line.substr(0, 80)));
  }
  RequestHead r;
  r.method = std::string(line.substr(0, sp1));
  if (!std::all_of(r.method.begin(), r.method.end(), IsTokenChar)) {
    return Malformed(fmt::format("bad method '{}'", r.method.substr(0, 40)));
  }
  r.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  ESPER_ASSIGN_OR_RETURN(r.version_minor, ParseVersion(line.substr(sp2 + 1)));
  ESPER_ASSIGN_OR_RETURN(Fields f, ParseFields(head.substr(eol + 2)));
  if (f.has_te) {
    // A request's body must be chunked if any transfer coding is used (RFC 9112 6.3).
    if (!f.chunked_last) return Malformed("request transfer coding other than chunked");
    r.body = {BodyFraming::Kind::kChunked, 0};
  } else if (f.has_length && f.length > 0) {
    r.body = {BodyFraming::Kind::kLength, f.length};
  }
  r.keep_alive = KeepAlive(r.version_minor, f);
  r.expect_continue = f.expect_continue;
  return r;
}

Result<ResponseHead> ParseResponseHead(std::string_view head) {
  size_t eol = head.find("\r\n");
  if (eol == std::string_view::npos) return Malformed("status line not terminated");
  std::string_view line = head.substr(0, eol);
  size_t sp = line.find(' ');
  if (sp == std::string_view::npos) return Malformed("bad status line");
  ResponseHead r;
  ESPER_ASSIGN_OR_RETURN(r.version_minor, ParseVersion(line.substr(0, sp)));
  std::string_view code = line.substr(sp + 1, 3);
  auto [p, ec] = std::from_chars(code.data(), code.data() + code.size(), r.status);
  if (ec != std::errc() || p != code.data() + 3 || r.status < 100 || r.status > 999 ||
      (line.size() > sp + 4 && line[sp + 4] != ' ')) {
    return Malformed(fmt::format("bad status line '{}'", line.substr(0, 80)));
  }
  ESPER_ASSIGN_OR_RETURN(Fields f, ParseFields(head.substr(eol + 2)));
  r.keep_alive = KeepAlive(r.version_minor, f);
  if (f.has_te) {
    r.chunked = f.chunked_last;
    r.other_coding = !f.chunked_last;
  } else if (f.has_length) {
    r.has_length = true;
    r.content_length = f.length;
  }
  return r;
}

BodyFraming ResponseBodyFraming(const ResponseHead& head, std::string_view request_method) noexcept {
  using K = BodyFraming::Kind;
  if (request_method == "HEAD" || head.status < 200 || head.status == 204 || head.status == 304) {
    return {K::kNone, 0};
  }
  if (request_method == "CONNECT" && head.status < 300) return {K::kUntilClose, 0};
  if (head.chunked) return {K::kChunked, 0};
  if (head.other_coding) return {K::kUntilClose, 0};
  if (head.has_length) return head.content_length == 0 ? BodyFraming{K::kNone, 0}
                                                       : BodyFraming{K::kLength, head.content_length};
  return {K::kUntilClose, 0};
}

BodyScanner::BodyScanner(BodyFraming framing) : framing_(framing) {
  switch (framing.kind) {
    case BodyFraming::Kind::kNone:
      done_ = true;
      break;
    case BodyFraming::Kind::kLength:
      remaining_ = framing.length;
      done_ = remaining_ == 0;
      break;
    case BodyFraming::Kind::kChunked:
    case BodyFraming::Kind::kUntilClose:
      done_ = false;
      break;
  }
}

uint64_t BodyScanner::known_length() const noexcept {
  return framing_.kind == BodyFraming::Kind::kLength ? framing_.length : 0;
}

Result<bool> BodyScanner::EndOfLine() {
  std::string_view line = line_;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  switch (state_) {
    case State::kSizeLine: {
      std::string_view digits = Trim(line.substr(0, line.find(';')));
      uint64_t size = 0;
      auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), size, 16);
      if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size() ||
          size > kMaxChunkSize) {
        return Malformed(fmt::format("bad chunk size line '{}'", line.substr(0, 40)));
      }
      remaining_ = size;
      state_ = size == 0 ? State::kTrailer : State::kData;
      return false;
    }
    case State::kDataEnd:
      if (!line.empty()) return Malformed("chunk data not followed by CRLF");
      state_ = State::kSizeLine;
      return false;
    case State::kTrailer:
      return line.empty();
    case State::kData:
      break;
  }
  return Malformed("chunk scanner in a bad state");
}

Result<size_t> BodyScanner::Feed(std::string_view data) {
  if (done_) return size_t{0};
  switch (framing_.kind) {
    case BodyFraming::Kind::kNone:
      return size_t{0};
    case BodyFraming::Kind::kUntilClose:
      return data.size();
    case BodyFraming::Kind::kLength: {
      size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, data.size()));
      remaining_ -= n;
      done_ = remaining_ == 0;
      return n;
    }
    case BodyFraming::Kind::kChunked:
      break;
  }
  size_t used = 0;
  while (used < data.size() && !done_) {
    if (state_ == State::kData) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, data.size() - used));
      used += n;
      remaining_ -= n;
      if (remaining_ == 0) state_ = State::kDataEnd;
      continue;
    }
    size_t eol = data.find('\n', used);
    size_t end = eol == std::string_view::npos ? data.size() : eol;
    line_.append(data.substr(used, end - used));
    if (line_.size() > kMaxChunkLine) return Malformed("chunk size or trailer line too long");
    used = eol == std::string_view::npos ? data.size() : eol + 1;
    if (eol == std::string_view::npos) break;
    ESPER_ASSIGN_OR_RETURN(bool finished, EndOfLine());
    line_.clear();
    done_ = finished;
  }
  return used;
}

}  // namespace esper::proxy::detail
