#include "esper/log/formatter.h"

#include <array>
#include <cstring>

#include "core/swar.h"
#include "esper/core/json_escape.h"

namespace esper::log {
namespace {

using esper::detail::AnyByteBelow;
using esper::detail::AnyByteIs;
using esper::detail::kSwarHighs;

inline void Put(fmt::memory_buffer& out, std::string_view s) { AppendRaw(s, out); }

// JSON rules, also inside logfmt and text quotes: the library's one escaper (esper/core/json_escape.h).
inline void AppendEscaped(std::string_view s, fmt::memory_buffer& out) { esper::AppendJsonEscaped(s, out); }

constexpr bool QuotedInLogfmt(unsigned char c) {
  return c <= 0x20 || c == '=' || c == '"' || c == '\\' || c == 0x7F || c >= 0x80;
}
constexpr auto kQuoted = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) t[static_cast<size_t>(c)] = QuotedInLogfmt(static_cast<unsigned char>(c));
  return t;
}();

bool NeedsQuoting(std::string_view sv) {
  if (sv.empty()) return true;
  const auto* s = reinterpret_cast<const unsigned char*>(sv.data());
  size_t n = sv.size(), i = 0;
  // 8 bytes at a time (SWAR): any byte <= 0x20, '=', '"', '\\', 0x7F or >= 0x80?
  for (; i + 8 <= n; i += 8) {
    uint64_t x;
    std::memcpy(&x, s + i, 8);
    if ((AnyByteBelow(x, 0x21) | AnyByteIs(x, '=') | AnyByteIs(x, '"') | AnyByteIs(x, '\\') | AnyByteIs(x, 0x7F) |
         x) & kSwarHighs)
      return true;
  }
  for (; i < n; ++i)
    if (kQuoted[s[i]]) return true;
  return false;
}

constexpr bool KeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == '-' || c == '/';
}
constexpr auto kKeyChar = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) t[static_cast<size_t>(c)] = KeyChar(static_cast<char>(c));
  return t;
}();

void AppendLogfmtKey(std::string_view k, fmt::memory_buffer& out) {
  if (k.empty()) { out.push_back('_'); return; }
  size_t start = out.size();
  Put(out, k);  // keys are nearly always plain: copy, then mend what is not
  for (size_t i = start; i < out.size(); ++i)
    if (!kKeyChar[static_cast<unsigned char>(out[i])]) out[i] = '_';
}

// A field value: numbers and booleans are always bare.
void AppendLogfmtField(const Field& f, fmt::memory_buffer& out) {
  if (f.kind == FieldKind::kString) AppendLogfmtValue(f.value, out);
  else Put(out, f.value);
}

// Days since 1970-01-01 → y/m/d (Howard Hinnant's civil_from_days).
void CivilFromDays(int64_t z, int& y, unsigned& m, unsigned& d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  auto doe = static_cast<unsigned>(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t yy = static_cast<int64_t>(yoe) + era * 400;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int>(yy + (m <= 2));
}

void Put2(char* p, unsigned v) { p[0] = static_cast<char>('0' + v / 10); p[1] = static_cast<char>('0' + v % 10); }

}  // namespace

void AppendIsoTimestamp(int64_t unix_ns, fmt::memory_buffer& out) {
  // Cache the "YYYY-MM-DDTHH:MM:SS" part per second (per thread: formatters are shared).
  thread_local int64_t cached_sec = INT64_MIN;
  thread_local char cached[20];
  int64_t sec = unix_ns >= 0 ? unix_ns / 1000000000 : (unix_ns - 999999999) / 1000000000;
  int64_t ns = unix_ns - sec * 1000000000;
  if (sec != cached_sec) {
    int64_t days = sec >= 0 ? sec / 86400 : (sec - 86399) / 86400;
    int64_t rem = sec - days * 86400;
    int y; unsigned m, d;
    CivilFromDays(days, y, m, d);
    fmt::format_to_n(cached, sizeof cached, "{:04d}-", y);
    Put2(cached + 5, m); cached[7] = '-'; Put2(cached + 8, d); cached[10] = 'T';
    auto r = static_cast<unsigned>(rem);
    Put2(cached + 11, r / 3600); cached[13] = ':'; Put2(cached + 14, r / 60 % 60); cached[16] = ':';
    Put2(cached + 17, r % 60);
    cached[19] = '.';
    cached_sec = sec;
  }
  Put(out, std::string_view(cached, 20));
  auto us = static_cast<unsigned>(ns / 1000);
  char b[7];
  for (int i = 5; i >= 0; --i) { b[i] = static_cast<char>('0' + us % 10); us /= 10; }
  b[6] = 'Z';
  Put(out, std::string_view(b, 7));
}

void AppendLogfmtValue(std::string_view s, fmt::memory_buffer& out) {
  if (!NeedsQuoting(s)) { Put(out, s); return; }
  out.push_back('"');
  AppendEscaped(s, out);
  out.push_back('"');
}

void JsonFormatter::Format(const Record& rec, fmt::memory_buffer& out) const {
  Put(out, std::string_view("{\"ts\":\""));
  AppendIsoTimestamp(rec.time_ns, out);
  Put(out, std::string_view("\",\"level\":\""));
  Put(out, LevelName(rec.level));
  Put(out, std::string_view("\",\"logger\":\""));
  AppendEscaped(rec.logger, out);
  Put(out, std::string_view("\",\"msg\":\""));
  AppendEscaped(rec.message, out);
  out.push_back('"');
  for (const Field& f : rec.fields) {
    Put(out, std::string_view(",\""));
    AppendEscaped(f.key, out);
    Put(out, std::string_view("\":"));
    if (f.kind == FieldKind::kString) {
      out.push_back('"');
      AppendEscaped(f.value, out);
      out.push_back('"');
    } else {
      Put(out, f.value);
    }
  }
  Put(out, std::string_view("}\n"));
}

void LogfmtFormatter::Format(const Record& rec, fmt::memory_buffer& out) const {
  Put(out, std::string_view("ts="));
  AppendIsoTimestamp(rec.time_ns, out);
  Put(out, std::string_view(" level="));
  Put(out, LevelName(rec.level));
  Put(out, std::string_view(" logger="));
  AppendLogfmtValue(rec.logger, out);
  Put(out, std::string_view(" msg="));
  AppendLogfmtValue(rec.message, out);
  for (const Field& f : rec.fields) {
    out.push_back(' ');
    AppendLogfmtKey(f.key, out);
    out.push_back('=');
    AppendLogfmtField(f, out);
  }
  out.push_back('\n');
}

void TextFormatter::Format(const Record& rec, fmt::memory_buffer& out) const {
  AppendIsoTimestamp(rec.time_ns, out);
  Put(out, std::string_view(" - "));
  AppendEscaped(rec.logger, out);
  Put(out, std::string_view(" - "));
  if (color_) {
    static constexpr std::string_view kColors[] = {"\x1b[2m", "\x1b[36m", "\x1b[32m", "\x1b[33m",
                                                   "\x1b[31m", "\x1b[1;41m", ""};
    Put(out, kColors[static_cast<int>(rec.level) % 7]);
    Put(out, LevelName(rec.level));
    Put(out, std::string_view("\x1b[0m"));
  } else {
    Put(out, LevelName(rec.level));
  }
  Put(out, std::string_view(" - "));
  AppendEscaped(rec.message, out);
  if (!rec.fields.empty()) {
    Put(out, std::string_view(" ["));
    bool first = true;
    for (const Field& f : rec.fields) {
      if (!first) out.push_back(' ');
      first = false;
      AppendLogfmtKey(f.key, out);
      out.push_back('=');
      AppendLogfmtField(f, out);
    }
    out.push_back(']');
  }
  out.push_back('\n');
}

Result<Format> ParseFormat(std::string_view text) {
  if (text == "json") return Format::kJson;
  if (text == "logfmt") return Format::kLogfmt;
  if (text == "text" || text == "structured") return Format::kText;
  return Error::InvalidArgument(
      fmt::format("unknown log format '{}' (expected json, logfmt, text or structured)", text));
}

std::string_view FormatName(Format f) noexcept {
  switch (f) {
    case Format::kJson: return "json";
    case Format::kLogfmt: return "logfmt";
    case Format::kText: return "text";
  }
  return "text";
}

std::shared_ptr<const Formatter> MakeFormatter(Format f, bool color) {
  switch (f) {
    case Format::kJson: return std::make_shared<JsonFormatter>();
    case Format::kLogfmt: return std::make_shared<LogfmtFormatter>();
    case Format::kText: break;
  }
  return std::make_shared<TextFormatter>(color);
}

}  // namespace esper::log
