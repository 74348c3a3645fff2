#include "config/source_line.h"

#include <algorithm>
#include <limits>

#include "esper/core/redact.h"

namespace esper::config::detail {
namespace {

// One character of a line as a terminal may show it: a control byte (the tab aside) and the bytes
// of an invalid UTF-8 sequence as \xNN, so a bad byte is seen, and never drives the terminal.
void AppendShown(std::string_view c, std::string& out) {
  const auto b = static_cast<unsigned char>(c[0]);
  const std::size_t want = b < 0x80 ? 1 : b >= 0xC2 && b <= 0xDF ? 2 : b >= 0xE0 && b <= 0xEF ? 3 : b >= 0xF0 && b <= 0xF4 ? 4 : 0;
  const bool control = c.size() == 1 && ((b < 0x20 && b != '\t') || b == 0x7F);
  if (want == c.size() && !control) {
    out.append(c);
    return;
  }
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char x : c) {
    out += "\\x";
    out += kHex[x >> 4];
    out += kHex[x & 0xF];
  }
}

}  // namespace

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
      AppendShown(text.substr(i, len), out.text);
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
