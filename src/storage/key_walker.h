// LocalStore's listing: the keys below a directory in UTF-8 byte order, read from the tree.
//
// Keys are visited in S3's order without reading the whole tree: in a directory whose keys start
// with Q, an object "s" has the key Q+s and a subdirectory "s" holds exactly the keys starting with
// Q+s+"/", a contiguous run in byte order (no segment contains '/'). So each directory's children
// are sorted by Q+s (objects) and Q+s+"/" (directories), and a directory is entered only when its
// run can hold a wanted key (it fits the prefix, ends after the lower bound, is not skipped).
// A directory's children are read in batches of at most `batch` entries (the smallest that
// qualify), so memory stays bounded however large a directory is; each further batch re-reads
// the directory. With `rollup_slash` (delimiter "/"), a directory whose keys all roll up into one
// common prefix is reported as that prefix — after checking it holds a wanted key — without
// being walked.
//
// Thread safety: one thread at a time. The bucket directory must stay open while walking.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "esper/core/result.h"
#include "storage/fs.h"

namespace esper::storage::detail {

struct WalkEntry {
  /// The key — or, when rolled_up, the common prefix.
  std::string key;
  bool rolled_up = false;
  /// For a key: the directory holding the object file (valid until the next Next()) and its name.
  int dir_fd = -1;
  std::string name;
};

struct WalkOptions {
  /// Only keys starting with it.
  std::string prefix;
  /// Only keys after it (byte order).
  std::string after;
  /// Skip keys starting with it (when non-empty).
  std::string skip_prefix;
  /// Report a directory whose keys all share the common prefix up to the first '/' after
  /// `prefix` as that prefix.
  bool rollup_slash = false;
  /// Children of one directory held at a time.
  size_t batch = 1001;
};

class KeyWalker {
 public:
  /// Walks the keys below `dir_fd`, the directory of the keys starting with `dir_prefix` (the
  /// bucket: "").
  KeyWalker(int dir_fd, std::string dir_prefix, WalkOptions options);
  /// The next entry, or nullopt at the end.
  Result<std::optional<WalkEntry>> Next();
  /// From now on skip every key starting with `prefix`.
  void SkipPrefix(std::string prefix);

 private:
  struct Child {
    std::string sortkey;  // Q+s for an object, Q+s+"/" for a directory
    std::string name;
    bool is_dir = false;
  };
  struct Level {
    UniqueFd fd;
    std::string prefix;
    std::vector<Child> batch;
    size_t next = 0;
    bool complete = false;  // the batch holds every remaining child
    std::string last;       // sortkey of the child consumed last
    bool has_last = false;
  };

  Status PushLevel(UniqueFd dir, std::string prefix);
  Status Fill(Level& level);
  bool Wanted(const Level& level, const Child& child) const;
  Result<bool> HoldsWantedKey(int dir_fd, const std::string& prefix);

  WalkOptions o_;
  std::vector<Level> stack_;
  bool started_ = false;
  int root_fd_;
  std::string root_prefix_;
};

/// The key of some object below `dir_fd` (any one, found depth-first), or nullopt if none.
Result<std::optional<std::string>> AnyObjectKey(int dir_fd);

}  // namespace esper::storage::detail
