// esper/log/formatter.h — turning a Record into one line of text: JSON, logfmt or human text.
//
// Every formatter writes exactly ONE line per record (terminated by '\n'): newlines and other
// control characters inside messages and values are escaped, so a hostile string can never forge
// a second log line.
//
//  * JsonFormatter — JSON Lines, always valid JSON (RFC 8259):
//      {"ts":"2026-11-23T17:50:38.123456Z","level":"INFO","logger":"tamiyo",
//       "msg":"Processing health signal","layer_id":5,"health_score":0.85}
//    `"` `\` and control characters are escaped (\n \r \t \b \f, others as \u00XX); invalid UTF-8
//    (stray continuation bytes, overlong forms, surrogates, truncated sequences) is replaced by
//    U+FFFD, one per offending byte. Numbers and booleans from kv() are bare JSON values (NaN and
//    infinities become strings). Field keys are escaped the same way. A field whose key repeats a
//    fixed key ("ts", "msg", …) is still written (JSON parsers keep the last one).
//  * LogfmtFormatter — `ts=… level=INFO logger=tamiyo msg="Processing health signal" layer_id=5`.
//    A value is quoted when it is empty or contains a space, '=', '"', '\' or a control
//    character; inside quotes `"` and `\` are backslash-escaped and control characters become
//    \n \r \t or \u00XX. Invalid UTF-8 becomes U+FFFD. Key characters other than
//    [A-Za-z0-9_.-/] become '_'.
//  * TextFormatter — the seed's "structured" format for humans:
//      2026-11-23T17:50:38.123456Z - tamiyo - INFO - Processing health signal [layer_id=5 …]
//    with the same escaping as logfmt for the message and values. Colour (ANSI) on the level
//    when `color` is true; sinks decide that (TTY and NO_COLOR unset).
//
// Timestamps are UTC ISO-8601 with microseconds.
//
// Thread safety: formatters are immutable after construction; Format() is const and may be
// called from any thread (the backend calls it from its one thread).
#pragma once

#include <fmt/format.h>

#include <cstring>
#include <memory>
#include <string_view>

#include "esper/core/json_escape.h"
#include "esper/core/result.h"
#include "esper/log/record.h"

namespace esper::log {

enum class Format : uint8_t { kJson, kLogfmt, kText };

/// "json" | "logfmt" | "text" (also the seed's "structured" = text); anything else InvalidArgument.
Result<Format> ParseFormat(std::string_view text);
std::string_view FormatName(Format f) noexcept;

class Formatter {
 public:
  virtual ~Formatter() = default;
  /// Appends one '\n'-terminated line for `rec` to `out`.
  virtual void Format(const Record& rec, fmt::memory_buffer& out) const = 0;
};

class JsonFormatter final : public Formatter {
 public:
  void Format(const Record& rec, fmt::memory_buffer& out) const override;
};

class LogfmtFormatter final : public Formatter {
 public:
  void Format(const Record& rec, fmt::memory_buffer& out) const override;
};

class TextFormatter final : public Formatter {
 public:
  explicit TextFormatter(bool color = false) : color_(color) {}
  void Format(const Record& rec, fmt::memory_buffer& out) const override;

 private:
  bool color_;
};

/// A formatter for `f`; `color` applies to kText only.
std::shared_ptr<const Formatter> MakeFormatter(Format f, bool color = false);

/// Appends `s` as is. (fmt 9's buffer::append copies through a generic loop; resize + memcpy is
/// several times faster for the short pieces a log line is made of.) For user formatters too.
inline void AppendRaw(std::string_view s, fmt::memory_buffer& out) {
  size_t n = out.size();
  out.resize(n + s.size());
  if (!s.empty()) std::memcpy(out.data() + n, s.data(), s.size());
}

/// Appends "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" (UTC) for `unix_ns`.
void AppendIsoTimestamp(int64_t unix_ns, fmt::memory_buffer& out);

/// Appends `s` escaped for the inside of a JSON string (no surrounding quotes): the library's
/// one escaper, esper/core/json_escape.h.
using esper::AppendJsonEscaped;

/// Appends `s` as a logfmt value: bare when safe, otherwise quoted and escaped.
void AppendLogfmtValue(std::string_view s, fmt::memory_buffer& out);

}  // namespace esper::log
