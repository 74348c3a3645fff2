#include "config/source_line.h"

#include <algorithm>
#include <limits>

#include "esper/core/redact.h"

namespace esper::config::detail {

ShownLine MaskLine(std::string_view text, std::uint32_t line0, const std::vector<SecretSpan>& spans,
                   std::uint32_t caret_col, std::uint32_t mask_from, std::size_t max_bytes) {
  constexpr std::uint32_t kEnd = std::numeric_limits<std::uint32_t>::max();
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  // The masked character ranges [from, to) on this line, 0-based.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> masked;
  for (const SecretSpan& s : spans) {
    if (s.line > line0 || s.end_line < line0) continue;
    std::uint32_t from = s.line == line0 ? s.col : 0;
    std::uint32_t to = s.end_line == line0 ? s.end_col : kEnd;
    if (to > from) masked.emplace_back(from, to);
  }
  if (mask_from > 0) masked.emplace_back(mask_from - 1, kEnd);
  auto is_masked = [&](std::uint32_t c) {
    return std::any_of(masked.begin(), masked.end(), [c](const auto& r) { return c >= r.first && c < r.second; });
  };

  ShownLine out;
  int mask_at = 0;  // where the "***" of the current mask starts
  bool in_mask = false;
  std::uint32_t ch = 0;  // 0-based character index of text[i]
  std::size_t i = 0;
  for (; i < text.size() && out.text.size() < max_bytes; ++ch) {
    std::size_t len = 1;  // this character's bytes: a lead byte and its continuation bytes
    while (i + len < text.size() && (static_cast<unsigned char>(text[i + len]) & 0xC0) == 0x80) ++len;
    const bool m = !masked.empty() && is_masked(ch);
    const int here = static_cast<int>(out.text.size()) + 1;
    if (m && !in_mask) {
      out.text.append(kRedacted);
      if (caret_col == ch + 1) out.caret = here;
      // A mask that reaches the end of the line: nothing after it is shown, and a caret anywhere
      // in it points at its "***".
      if (std::any_of(masked.begin(), masked.end(), [ch](const auto& r) { return ch >= r.first && r.second == kEnd; })) {
        if (out.caret == 0 && caret_col > ch) out.caret = here;
        return out;
      }
      mask_at = here;
    } else if (m) {
      if (caret_col == ch + 1) out.caret = mask_at;
    } else {
      if (caret_col == ch + 1) out.caret = here;
      out.text.append(text.substr(i, len));
    }
    in_mask = m;
    i += len;
  }
  if (out.text.size() > max_bytes) out.text.resize(max_bytes);
  // An error just past the last character (at the end of the line) has its caret there.
  if (out.caret == 0 && i >= text.size() && caret_col == ch + 1) out.caret = static_cast<int>(out.text.size()) + 1;
  return out;
}

}  // namespace esper::config::detail
