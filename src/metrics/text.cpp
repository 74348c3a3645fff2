// The Prometheus text exposition format 0.0.4 (exposition.h).
#include <fmt/format.h>

#include <cmath>

#include "esper/metrics/exposition.h"

namespace esper::metrics {
namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 when it is not one.
size_t Utf8Len(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  size_t n;
  uint32_t cp;
  if ((c & 0xE0) == 0xC0) n = 2, cp = c & 0x1F;
  else if ((c & 0xF0) == 0xE0) n = 3, cp = c & 0x0F;
  else if ((c & 0xF8) == 0xF0) n = 4, cp = c & 0x07;
  else return 0;
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are not valid UTF-8.
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)) return 0;
  if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return 0;
  return n;
}

// Escapes `\` and newline (and `"` in label values); invalid UTF-8 becomes U+FFFD.
void Escape(std::string& out, std::string_view s, bool quote) {
  for (size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '"' && quote) out += "\\\"";
    else {
      size_t n = Utf8Len(s, i);
      if (n == 0) {
        out += "\xEF\xBF\xBD";
        ++i;
        continue;
      }
      out.append(s, i, n);
      i += n;
      continue;
    }
    ++i;
  }
}

void Number(std::string& out, double v) {
  if (std::isnan(v)) out += "NaN";
  else if (std::isinf(v)) out += v > 0 ? "+Inf" : "-Inf";
  else fmt::format_to(std::back_inserter(out), "{}", v);
}

// `{a="x",b="y"` + extra label + `}`; nothing when there are no labels at all.
void Labels(std::string& out, const MetricDesc& d, const SeriesSnapshot& s, std::string_view le = {}) {
  if (d.labels.empty() && le.empty()) return;
  out += '{';
  for (size_t i = 0; i < d.labels.size(); ++i) {
    if (i) out += ',';
    out += d.labels[i];
    out += "=\"";
    Escape(out, i < s.label_values.size() ? s.label_values[i] : std::string_view{}, true);
    out += '"';
  }
  if (!le.empty()) {
    if (!d.labels.empty()) out += ',';
    out += "le=\"";
    out += le;
    out += '"';
  }
  out += '}';
}

}  // namespace

std::string prometheus_text(const std::vector<FamilySnapshot>& families) {
  std::string out;
  for (const FamilySnapshot& f : families) {
    const MetricDesc& d = f.desc;
    out += "# HELP ";
    out += d.name;
    out += ' ';
    Escape(out, d.help, false);
    out += "\n# TYPE ";
    out += d.name;
    out += ' ';
    out += TypeName(d.type);
    out += '\n';
    for (const SeriesSnapshot& s : f.series) {
      if (d.type != MetricType::kHistogram) {
        out += d.name;
        Labels(out, d, s);
        out += ' ';
        Number(out, s.value);
        out += '\n';
        continue;
      }
      uint64_t cumulative = 0;
      std::string le;
      for (size_t b = 0; b <= d.buckets.size(); ++b) {
        cumulative += b < s.bucket_counts.size() ? s.bucket_counts[b] : 0;
        le.clear();
        if (b < d.buckets.size()) Number(le, d.buckets[b]);
        else le = "+Inf";
        out += d.name;
        out += "_bucket";
        Labels(out, d, s, le);
        fmt::format_to(std::back_inserter(out), " {}\n", cumulative);
      }
      out += d.name;
      out += "_sum";
      Labels(out, d, s);
      out += ' ';
      Number(out, s.sum);
      out += '\n';
      out += d.name;
      out += "_count";
      Labels(out, d, s);
      fmt::format_to(std::back_inserter(out), " {}\n", cumulative);
    }
  }
  return out;
}

std::string prometheus_text(const Registry& registry) { return prometheus_text(registry.Gather()); }

}  // namespace esper::metrics
