// esper bench compare OLD.json NEW.json (report.h): what got faster or slower, noise considered.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <optional>
#include <tuple>

#include "report.h"

namespace esper::bench {
namespace {

struct Figure {
  std::string part, metric, case_name, unit;
  double value = 0;
  std::optional<double> min, max;
  bool lower_is_better = true;

  auto key() const { return std::tie(part, metric, case_name); }
};

// Files written before "lower_is_better" was in the JSON: rates are higher-is-better.
bool GuessLowerIsBetter(const std::string& unit) { return unit.find("/s") == std::string::npos && unit != "x"; }

std::string Text(const nlohmann::json& row, const char* field) {
  auto it = row.find(field);
  return it != row.end() && it->is_string() ? it->get<std::string>() : "";
}

std::optional<double> Number(const nlohmann::json& row, const char* field) {
  auto it = row.find(field);
  return it != row.end() && it->is_number() ? std::optional(it->get<double>()) : std::nullopt;
}

// The rows of a `--json` file, in its order.
Result<std::vector<Figure>> Parse(const std::string& text, const char* which) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("rows") || !j["rows"].is_array()) {
    return Error::InvalidArgument(fmt::format("{}: not an `esper bench --json` file", which));
  }
  std::vector<Figure> out;
  for (const auto& r : j["rows"]) {
    if (!r.is_object() || !Number(r, "value")) continue;
    Figure f{Text(r, "part"), Text(r, "metric"), Text(r, "case"), Text(r, "unit"), *Number(r, "value"),
             Number(r, "min"), Number(r, "max")};
    auto lib = r.find("lower_is_better");
    f.lower_is_better = lib != r.end() && lib->is_boolean() ? lib->get<bool>() : GuessLowerIsBetter(f.unit);
    out.push_back(std::move(f));
  }
  return out;
}

const Figure* Find(const std::vector<Figure>& in, const Figure& like) {
  auto it = std::find_if(in.begin(), in.end(), [&](const Figure& f) { return f.key() == like.key(); });
  return it == in.end() ? nullptr : &*it;
}

std::string Fig(double v, const std::string& unit) { return fmt::format("{} {}", HumanNumber(v), unit); }

}  // namespace

Result<std::string> CompareJson(const std::string& old_json, const std::string& new_json) {
  ESPER_ASSIGN_OR_RETURN(auto before, Parse(old_json, "OLD"));
  ESPER_ASSIGN_OR_RETURN(auto after, Parse(new_json, "NEW"));
  constexpr size_t kCols = 6;
  std::vector<std::array<std::string, kCols>> t = {{"part", "metric / case", "before", "now", "change", "verdict"}};
  int faster = 0, slower = 0, same = 0, unsure = 0;
  for (const Figure& n : after) {
    const std::string what = Shorten(n.metric + " / " + n.case_name, 60);
    const Figure* o = Find(before, n);
    if (!o) {
      t.push_back({n.part, what, "", Fig(n.value, n.unit), "", "new"});
      continue;
    }
    const bool better = n.lower_is_better ? n.value < o->value : n.value > o->value;
    std::string verdict;
    if (n.min && n.max && o->min && o->max) {
      // Each run's fastest and slowest repeat: ranges that overlap cannot tell the runs apart.
      if (*n.min <= *o->max && *o->min <= *n.max) {
        verdict = "same";
        ++same;
      } else {
        verdict = better ? "FASTER" : "SLOWER";
        ++(better ? faster : slower);
      }
    } else {
      verdict = n.value == o->value ? "same?" : better ? "faster?" : "slower?";
      ++unsure;
    }
    t.push_back({n.part, what, Fig(o->value, o->unit), Fig(n.value, n.unit),
                 o->value != 0 ? fmt::format("{:+.1f}%", (n.value - o->value) / o->value * 100) : "", verdict});
  }
  for (const Figure& o : before)
    if (!Find(after, o)) t.push_back({o.part, Shorten(o.metric + " / " + o.case_name, 60), Fig(o.value, o.unit), "", "", "gone"});

  std::array<size_t, kCols> w{};
  for (const auto& row : t)
    for (size_t i = 0; i < kCols; ++i) w[i] = std::max(w[i], Columns(row[i]));
  std::string out;
  for (const auto& row : t) {
    for (size_t i = 0; i < kCols; ++i) {
      const std::string pad(w[i] - Columns(row[i]), ' ');
      out += (i >= 2 && i <= 4 ? pad + row[i] : row[i] + pad) + "  ";
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    out += '\n';
  }
  out += fmt::format("{} faster, {} slower, {} same (min-max ranges overlap); {} with \"?\": a run without a spread,\n"
                     "the change may be noise.\n",
                     faster, slower, same, unsure);
  return out;
}

}  // namespace esper::bench
