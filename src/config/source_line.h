// Private: the source line a diagnostic shows, with every secret in it masked.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/tree.h"

namespace esper::config::detail {

/// What a diagnostic shows of a line: the text and where its caret goes.
struct ShownLine {
  std::string text;
  int caret = 0;  // 1-based byte offset into `text`; 0 when the caret column is not on the line
};

/// Line `line0` (0-based) of a file, `text` (without its '\n'), as a diagnostic may show it:
/// each stretch that a span of `spans` (the file's SecretSpans) covers, and everything from the
/// 1-based character column `mask_from` on (0: nothing more), is replaced by "***"; a trailing
/// '\r' goes; at most `max_bytes` bytes are kept. `caret_col` is the 1-based character column the
/// diagnostic points at; it lands on the "***" that replaced it when it was masked.
ShownLine MaskLine(std::string_view text, std::uint32_t line0, const std::vector<SecretSpan>& spans,
                   std::uint32_t caret_col, std::uint32_t mask_from = 0, std::size_t max_bytes = 400);

}  // namespace esper::config::detail
