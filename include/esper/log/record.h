// esper/log/record.h — one decoded log record, as formatters and sinks see it.
//
// The backend thread decodes each queued call into a `Record` and hands it to every sink's
// formatter. All views point into backend-owned buffers and are valid only during the
// Formatter::Format() call that receives them: copy what you keep.
//
// Thread safety: a Record is only ever touched by the backend thread (or, in synchronous mode,
// by the logging thread under the logger's lock).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "esper/log/level.h"

namespace esper::log {

/// How a field value is rendered: strings are quoted/escaped; numbers and booleans are bare
/// (JSON numbers, `true`/`false`). Non-finite floating-point values are rendered as strings.
enum class FieldKind : uint8_t { kString, kNumber, kBool };

/// A structured field: a `kv("layer_id", 5)` argument or a context field bound to the logger.
struct Field {
  std::string_view key;
  std::string_view value;  // already formatted text ("5", "0.85", "true", "tamiyo")
  FieldKind kind = FieldKind::kString;
};

struct Record {
  int64_t time_ns = 0;            // wall clock, nanoseconds since the Unix epoch (UTC)
  Level level = Level::kInfo;
  std::string_view logger;        // the logger's name (Options::name)
  std::string_view message;       // the formatted message (positional arguments applied)
  std::string_view file;          // call site, as __FILE__ gave it ("" when unknown)
  uint32_t line = 0;
  uint32_t thread_id = 0;         // the OS thread id (gettid) of the logging thread
  std::span<const Field> fields;  // logger context fields first, then the call's kv() fields
};

}  // namespace esper::log
