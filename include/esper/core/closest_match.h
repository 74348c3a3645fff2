// esper/core/closest_match.h — "did you mean …?": the candidate nearest to a mistyped word.
//
// Used for unknown commands and flags, unknown configuration keys and sections, enum values and
// service names. A candidate that starts with the word counts as one edit ("conf" -> "config");
// otherwise the Levenshtein distance (insert, delete, substitute one byte) decides, and a guess is
// only offered within max(2, |word| / 3) edits, so a word unlike every candidate gets none.
//
// Thread safety: pure functions. Cost: O(|word| x |candidate|) time per candidate, O(|candidate|)
// memory; words longer than 64 bytes get no guess (a hostile 1 MB key costs nothing).
//
// Example:
//   std::string g = esper::ClosestMatch("databse", {"database", "logging", "s3"});  // "database"
//   if (!g.empty()) fmt::print("unknown section (did you mean \"{}\"?)\n", g);
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace esper {

/// The Levenshtein distance between `a` and `b` (bytes, case-sensitive).
std::size_t EditDistance(std::string_view a, std::string_view b);

/// The closest of `candidates` to `word` (see the file comment), or "" when none is close enough.
/// Ties go to the earlier candidate.
std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace esper
