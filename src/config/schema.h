// Private: the built-in schema — every typed key, its type, default, range and help.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace esper::config::detail {

enum class Type : std::uint8_t {
  kBool, kInt, kDouble, kString, kSecret, kEnum, kDuration, kUrl,
  kSecretUrl,  // a URL that may carry a password: held as a Secret, dumped with the password ***
};
std::string_view TypeName(Type t);

struct KeySpec {
  std::string path;         // "database.port"
  Type type = Type::kString;
  std::string def;          // default, as text (converted like any other source)
  bool required = false;    // no default: some source must set it
  std::int64_t min = std::numeric_limits<std::int64_t>::min();  // ints; durations in ms
  std::int64_t max = std::numeric_limits<std::int64_t>::max();
  std::vector<std::string_view> choices;  // kEnum: the values; kUrl: allowed schemes
  std::string help;
  bool secret() const { return type == Type::kSecret || type == Type::kSecretUrl; }
};

enum class SectionKind : std::uint8_t { kTyped, kFlags, kFreeForm, kScalar };

struct Schema {
  std::vector<KeySpec> keys;
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  std::unordered_map<std::string, int, Hash, std::equal_to<>> by_path;
  // Top-level names in order: typed sections, "features" (flags), scalars ("debug").
  std::vector<std::pair<std::string, SectionKind>> top;
  std::unordered_map<std::string, std::vector<std::string>> section_keys;  // "s3" → {"region", …}
  // Keys of earlier versions and what replaced them.
  struct Renamed {
    std::string_view from, to;
    bool same_meaning;     // true: read as `to`, with a deprecation warning
    std::string_view why;  // same_meaning false: what changed, for the error
  };
  std::vector<Renamed> renamed;

  int Find(std::string_view path) const {
    auto it = by_path.find(path);
    return it == by_path.end() ? -1 : it->second;
  }
  SectionKind KindOf(std::string_view top_name, bool* found) const;
};

const Schema& BuiltinSchema();

/// The Esper services with a URL in `services`.
const std::vector<std::string>& ServiceNames();

}  // namespace esper::config::detail
