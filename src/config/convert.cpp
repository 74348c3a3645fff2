#include "config/convert.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

#include "esper/core/json_escape.h"
#include "esper/core/redact.h"

namespace esper::config::detail {

bool ParseBool(std::string_view t, std::string_view shown, bool* out, std::string* err) {
  if (t == "true" || t == "True" || t == "TRUE") {
    *out = true;
    return true;
  }
  if (t == "false" || t == "False" || t == "FALSE") {
    *out = false;
    return true;
  }
  *err = fmt::format("expected a boolean (true or false), got {}", shown);
  return false;
}

bool ParseInt(std::string_view t, std::string_view shown, std::int64_t* out, std::string* err) {
  std::string_view s = t;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
    base = s[1] == 'x' ? 16 : 8;
    s.remove_prefix(2);
  } else if (s.size() > 1 && s[0] == '0' &&
             std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    std::uint64_t dec = 0;
    std::from_chars(s.data(), s.data() + s.size(), dec, 10);
    bool octal_ok = std::all_of(s.begin(), s.end(), [](char c) { return c <= '7'; });
    std::uint64_t oct = 0;
    if (octal_ok) std::from_chars(s.data(), s.data() + s.size(), oct, 8);
    std::string_view digits = s.substr(std::min(s.find_first_not_of('0'), s.size() - 1));
    if (octal_ok) {
      *err = fmt::format(
          "{} has a leading zero, which YAML 1.1 reads as octal {} and YAML 1.2 as decimal {}; "
          "write {} (decimal) or 0o{} (octal)",
          shown, oct, dec, dec, digits);
    } else {
      *err = fmt::format(
          "{} has a leading zero, which YAML 1.1 reads as a string and YAML 1.2 as decimal {}; "
          "write {}",
          shown, dec, dec);
    }
    return false;
  }
  if (s.empty()) {
    *err = fmt::format("expected an integer, got {}", shown);
    return false;
  }
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec == std::errc::result_out_of_range ||
      (ec == std::errc() && p == s.data() + s.size() &&
       v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + (neg ? 1 : 0))) {
    *err = fmt::format("{} does not fit in a 64-bit integer", shown);
    return false;
  }
  if (ec != std::errc() || p != s.data() + s.size()) {
    *err = fmt::format("expected an integer, got {}", shown);
    return false;
  }
  *out = neg ? static_cast<std::int64_t>(0 - v) : static_cast<std::int64_t>(v);
  return true;
}

bool ParseDouble(std::string_view t, std::string_view shown, double* out, std::string* err) {
  std::string_view s = t;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == ".inf" || s == ".Inf" || s == ".INF") {
    *out = neg ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    return true;
  }
  if (t == ".nan" || t == ".NaN" || t == ".NAN") {
    *out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  // YAML 1.2 core: [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
  bool digits = !s.empty() && (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '.');
  bool hexish = s.size() > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::general);
  if (!digits || hexish || ec != std::errc() || p != s.data() + s.size()) {
    *err = fmt::format("expected a number, got {}", shown);
    return false;
  }
  *out = neg ? -v : v;
  return true;
}

bool ParseDuration(std::string_view t, std::string_view shown, std::chrono::milliseconds* out,
                   std::string* err) {
  auto bad = [&] {
    *err = fmt::format("expected a duration with a unit (e.g. 250ms, 30s, 5m, 1h, 1m30s), got {}",
                       shown);
    return false;
  };
  if (t.empty()) return bad();
  double total_ms = 0;
  std::string_view s = t;
  while (!s.empty()) {
    std::size_t i = 0;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    if (i == 0) return bad();
    double n = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + i, n);
    if (ec != std::errc() || p != s.data() + i) return bad();
    s.remove_prefix(i);
    std::size_t j = 0;
    while (j < s.size() && std::isalpha(static_cast<unsigned char>(s[j]))) ++j;
    std::string_view unit = s.substr(0, j);
    s.remove_prefix(j);
    double scale = 0;
    if (unit == "ms") scale = 1;
    else if (unit == "s") scale = 1000;
    else if (unit == "m") scale = 60000;
    else if (unit == "h") scale = 3600000;
    else return bad();
    total_ms += n * scale;
  }
  if (total_ms > 1e15) return bad();
  *out = std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(total_ms)));
  return true;
}

bool ParseUrl(std::string_view t, std::string_view shown, const std::vector<std::string_view>& schemes,
              std::string* err) {
  std::size_t sep = t.find("://");
  bool ok = sep != std::string_view::npos && sep > 0 && sep + 3 < t.size();
  std::string_view scheme = ok ? t.substr(0, sep) : std::string_view();
  for (char c : scheme) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') ok = false;
  }
  for (char c : t) {
    if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c))) ok = false;
  }
  std::string list;
  for (auto s : schemes) list += fmt::format("{}{}://", list.empty() ? "" : ", ", s);
  if (!ok) {
    *err = fmt::format("expected a URL like {}host:port, got {}",
                       schemes.empty() ? std::string("http://") : fmt::format("{}://", schemes[0]), shown);
    return false;
  }
  if (!schemes.empty() && std::find(schemes.begin(), schemes.end(), scheme) == schemes.end()) {
    *err = fmt::format("URL scheme of {} is not one of {}", shown, list);
    return false;
  }
  return true;
}

std::string FormatDuration(std::chrono::milliseconds d) {
  std::int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  if (ms % 1000 != 0) return out + fmt::format("{}ms", ms);
  std::int64_t s = ms / 1000;
  if (s >= 3600) {
    out += fmt::format("{}h", s / 3600);
    s %= 3600;
  }
  if (s >= 60) {
    out += fmt::format("{}m", s / 60);
    s %= 60;
  }
  if (s > 0) out += fmt::format("{}s", s);
  return out;
}

std::string ShownText(std::string_view text) {
  return text.find("://") == std::string_view::npos ? std::string(text) : RedactUrl(text);
}

std::string QuoteShown(std::string_view text) { return Quote(ShownText(text)); }

std::string Quote(std::string_view s) {
  // A JSON string is a YAML double-quoted scalar (same escapes), except that YAML may not hold
  // DEL, the C1 controls, U+FEFF or U+FFFE/U+FFFF raw, and reads U+0085, U+2028 and U+2029 as
  // line breaks (folded away). The JSON escaper has made the text valid UTF-8 (invalid bytes are
  // U+FFFD) and escaped the C0 controls; escape those few code points too.
  const std::string json = JsonQuote(s);
  std::string out;
  out.reserve(json.size());
  for (std::size_t i = 0; i < json.size(); ++i) {
    const auto c = static_cast<unsigned char>(json[i]);
    const auto next = i + 1 < json.size() ? static_cast<unsigned char>(json[i + 1]) : 0;
    const auto third = i + 2 < json.size() ? static_cast<unsigned char>(json[i + 2]) : 0;
    if (c == 0x7F) {
      out += "\\x7f";
    } else if (c == 0xC2 && next >= 0x80 && next <= 0x9F) {  // U+0080..U+009F
      out += fmt::format("\\x{:02x}", next);
      i += 1;
    } else if ((c == 0xE2 && next == 0x80 && (third == 0xA8 || third == 0xA9)) ||  // U+2028, U+2029
               (c == 0xEF && next == 0xBB && third == 0xBF) ||                       // U+FEFF
               (c == 0xEF && next == 0xBF && (third == 0xBE || third == 0xBF))) {   // U+FFFE, U+FFFF
      const unsigned cp = ((c & 0x0Fu) << 12) | ((next & 0x3Fu) << 6) | (third & 0x3Fu);
      out += fmt::format("\\u{:04x}", cp);
      i += 2;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

char CoreSchemaKind(std::string_view t) {
  if (t.empty() || t == "~" || t == "null" || t == "Null" || t == "NULL") return 'n';
  bool b = false;
  std::string e;
  if (ParseBool(t, "", &b, &e)) return 'b';
  std::int64_t i = 0;
  std::string_view u = t;
  if (!u.empty() && (u[0] == '-' || u[0] == '+')) u.remove_prefix(1);
  bool all_digits = !u.empty() && std::all_of(u.begin(), u.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (all_digits) return 'i';  // YAML 1.2 core: [-+]?[0-9]+ is an int
  if (ParseInt(t, "", &i, &e)) return 'i';
  double d = 0;
  if (ParseDouble(t, "", &d, &e)) return 'f';
  return 's';
}

}  // namespace esper::config::detail
