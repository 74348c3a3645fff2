// Private: the HTTP/1.1 framing the proxy needs — where a head ends, what a request or response
// head says about its body and its connection, and an incremental scanner that tells which bytes
// of a stream belong to the current message body. The proxy forwards bytes unchanged; it only
// needs to know where each message ends.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "esper/core/result.h"

namespace esper::proxy::detail {

/// How a message body is delimited (RFC 9112 section 6).
struct BodyFraming {
  enum class Kind { kNone, kLength, kChunked, kUntilClose };
  Kind kind = Kind::kNone;
  uint64_t length = 0;  // kLength only
};

/// Length of the head including its terminating empty line ("\r\n\r\n"), or npos.
size_t FindHeadEnd(std::string_view data) noexcept;

struct RequestHead {
  std::string method;
  std::string target;
  int version_minor = 1;
  BodyFraming body;
  bool keep_alive = true;       // HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with keep-alive
  bool expect_continue = false;  // "Expect: 100-continue"
};

/// Parses a request head (as delimited by FindHeadEnd). InvalidArgument when malformed
/// (bad request line, bad header line, bad or conflicting Content-Length, a transfer coding
/// other than chunked last).
Result<RequestHead> ParseRequestHead(std::string_view head);

struct ResponseHead {
  int status = 0;
  int version_minor = 1;
  bool keep_alive = true;
  bool chunked = false;           // Transfer-Encoding with chunked last
  bool other_coding = false;      // Transfer-Encoding without chunked last: until close
  bool has_length = false;
  uint64_t content_length = 0;
};

/// Parses a response head. InvalidArgument when malformed.
Result<ResponseHead> ParseResponseHead(std::string_view head);

/// The body framing of a response to a request with `request_method`.
BodyFraming ResponseBodyFraming(const ResponseHead& head, std::string_view request_method) noexcept;

/// Follows one message body through a byte stream. Feed() is given the bytes that follow what
/// it was given before and says how many of them belong to the body; once done(), the rest
/// belongs to the next message.
class BodyScanner {
 public:
  BodyScanner() = default;
  explicit BodyScanner(BodyFraming framing);

  /// How many leading bytes of `data` belong to the body. InvalidArgument on malformed chunking.
  Result<size_t> Feed(std::string_view data);
  /// The body is complete (never for kUntilClose: that ends at EOF).
  bool done() const noexcept { return done_; }
  BodyFraming::Kind kind() const noexcept { return framing_.kind; }
  /// Total body bytes on the wire (kLength: the Content-Length), or 0 if unknown.
  uint64_t known_length() const noexcept;

 private:
  enum class State { kSizeLine, kData, kDataEnd, kTrailer };
  Result<bool> EndOfLine();  // interprets line_ for the current state; true when done

  BodyFraming framing_;
  bool done_ = true;
  uint64_t remaining_ = 0;  // kLength: bytes left; kChunked kData: chunk bytes left
  State state_ = State::kSizeLine;
  std::string line_;
};

}  // namespace esper::proxy::detail
