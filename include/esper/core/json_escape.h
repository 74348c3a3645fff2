// esper/core/json_escape.h — the one JSON string escaper of the library.
//
// Escapes text for the inside of a JSON string (RFC 8259): `"` and `\` get a backslash; \n \r \t
// \b \f their short forms; every other control character (0x00–0x1F) \u00XX. Valid UTF-8 passes
// through unchanged (DEL and non-ASCII included); each byte of an invalid UTF-8 sequence (a stray
// continuation byte, an overlong form, a surrogate, a truncated sequence) becomes U+FFFD, so the
// output is always valid UTF-8 and every JSON parser reads it back. A hostile string can never end
// the string early or forge a field or a line.
//
// It is the log formatter's hot path (JSON, and the quoted values of logfmt and text): plain runs
// are skipped 16 bytes at a time with SSE2 and 8 at a time with SWAR, and copied in one piece.
// Config dumps, `esper bench --json` and error bodies use the same function.
//
// Thread safety: pure functions. Allocation: only the output's growth.
//
// Example:
//   std::string out = "{\"msg\":" + esper::JsonQuote("a \"b\"\n") + "}";   // {"msg":"a \"b\"\n"}
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace esper {

/// Appends `s` escaped for the inside of a JSON string (no surrounding quotes).
void AppendJsonEscaped(std::string_view s, fmt::memory_buffer& out);
void AppendJsonEscaped(std::string_view s, std::string& out);

/// `s` as a JSON string literal, quotes included.
std::string JsonQuote(std::string_view s);

}  // namespace esper
