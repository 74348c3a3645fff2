// Private: the configuration tree every layer is merged into, and the YAML reader that builds it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "esper/config/origin.h"

namespace esper::config::detail {

/// Where a node's value was set: compact (the file is an index into the load's file table).
struct Src {
  Origin::Kind kind = Origin::Kind::kNone;
  std::uint32_t file = 0;  // kFile: index into the file table
  std::uint32_t line = 0;  // kFile: 1-based
  std::uint32_t col = 0;   // kFile: 1-based
  std::string name;        // kEnv: variable; kOverride: label
};

/// A value a later layer overrode: kept for provenance.
struct Layer {
  Src src;
  std::string text;  // the scalar text; "" for a section/sequence
};

struct Node {
  enum class Kind : std::uint8_t { kScalar, kMap, kSeq };
  Kind kind = Kind::kScalar;
  bool plain = true;       // scalar: written plain (not quoted, not a block scalar)
  bool secret = false;     // set during validation: never print `text`
  std::int32_t spec = -1;  // set during validation: index of the schema key, or -1
  Src src;                 // where this value was set (the winner)
  std::uint32_t key_line = 0, key_col = 0;  // where the key is written (file sources)
  std::string key;         // key in the parent mapping ("" for the root and sequence items)
  std::string text;        // scalar text (after interpolation)
  std::vector<std::unique_ptr<Node>> children;
  // Mappings of more than 8 keys: an open-addressing table of child positions + 1 (0 = empty),
  // a power of two in size, at most half full. One allocation per mapping, none per key.
  std::vector<std::uint32_t> index;
  std::vector<Layer> history;  // values this one overrode, lowest first

  /// Child of a mapping by key, or nullptr.
  Node* Find(std::string_view k) const;
  /// Appends a child to a mapping (the caller checked the key is new).
  Node* Add(std::unique_ptr<Node> child);
  /// Appends a child unless its key exists: then returns the existing node and leaves `child`.
  Node* AddUnique(std::unique_ptr<Node>& child);
  /// Takes the child at `pos` out of a mapping (the rest keep their order).
  std::unique_ptr<Node> Remove(std::size_t pos);
  /// Child position of `k` (mapping), or -1. Uses the index when there is one.
  std::int64_t Position(std::string_view k) const;
  /// YAML null: a plain "", "~", "null", "Null" or "NULL".
  bool IsNull() const;
};

/// A problem found while reading YAML (line/col 1-based; 0 when unknown).
struct YamlProblem {
  std::uint32_t line = 0, col = 0;
  std::string message;
};

/// Reads one YAML document into a mapping tree (every node's src = kFile/file_index). Returns
/// nullptr when the text cannot be read at all (syntax error, not a mapping, too deep); problems
/// that leave the rest readable (duplicate keys, aliases) are reported and the node skipped.
/// An empty document is an empty mapping.
/// With `more`, at most `max_problems` are kept and the rest only counted in *more (so a file
/// of 500,000 aliases costs no more memory than its text).
std::unique_ptr<Node> ParseYaml(std::string_view text, std::uint32_t file_index,
                                std::vector<YamlProblem>* problems, std::size_t max_problems = 0,
                                std::size_t* more = nullptr);

/// Text that holds a secret, from (line, col) to (end_line, end_col): 0-based, columns in
/// characters as libyaml counts them (the end is exclusive).
struct SecretSpan {
  std::uint32_t line = 0, col = 0, end_line = 0, end_col = 0;
};

/// Where `text` (one YAML file) holds secret values, for masking the source lines diagnostics show:
/// the value of every key whose name is a secret's (esper::IsSecretKey: a scalar, or a whole
/// mapping or sequence, tag and anchor included), every scalar that is a URL with credentials
/// (esper::UrlHasCredentials), and, where the YAML cannot be parsed further, everything after
/// the stop that might be one: the rest of the file after a secret key whose value did not
/// parse, and each line of the unparsed rest that names a secret or holds a URL with user-info
/// or a query. Costs a parse of `text`: called only for a file that has a diagnostic to show.
std::vector<SecretSpan> SecretSpans(std::string_view text);

/// Characters (not bytes) in UTF-8 text: a column as libyaml and diagnostics count it.
std::size_t Chars(std::string_view s);

/// The deepest nesting accepted.
inline constexpr int kMaxDepth = 64;

}  // namespace esper::config::detail
