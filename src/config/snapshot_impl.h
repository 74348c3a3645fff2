// Private: what a Snapshot holds, shared by the loader (which builds it) and snapshot.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "config/schema.h"
#include "config/tree.h"
#include "esper/config/snapshot.h"

namespace esper::config {

using Value = std::variant<std::monostate, bool, std::int64_t, double, std::string, Secret,
                           std::chrono::milliseconds>;

struct Snapshot::Impl {
  std::unique_ptr<detail::Node> root;
  std::vector<std::string> files;    // file table: Src::file indexes it
  std::vector<std::string> sources;  // YAML sources merged, in order
  std::vector<Value> values;         // converted typed keys, by schema index
  std::vector<Diagnostic> warnings;
  std::size_t leaves = 0;
  Settings settings;

  /// The node at a dotted path ("a.b", "a.list[2].c"), or nullptr. On a miss, *near gets the
  /// deepest mapping reached (for "did you mean").
  const detail::Node* Find(std::string_view path, const detail::Node** near = nullptr) const;
  Origin ToOrigin(const detail::Src& src, std::string_view text, bool secret, detail::Type type,
                  bool has_type) const;
};

}  // namespace esper::config
