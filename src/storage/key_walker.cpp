// KeyWalker (key_walker.h).
#include "storage/key_walker.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "storage/key_path.h"
#include "storage/object_file.h"

namespace esper::storage::detail {
namespace {

// The number of segments before a child of a directory whose keys start with `prefix`.
size_t Depth(std::string_view prefix) {
  return static_cast<size_t>(std::count(prefix.begin(), prefix.end(), '/'));
}

}  // namespace

Result<std::optional<std::string>> AnyObjectKey(int dir_fd) {
  std::optional<std::string> found;
  Status inner = OkStatus();
  ESPER_RETURN_IF_ERROR(ForEachEntry(dir_fd, [&](std::string_view name) {
    auto decoded = DecodeName(name);
    if (!decoded) return true;
    if (decoded->kind == EntryKind::kObject) {
      auto obj = OpenObjectFile(dir_fd, std::string(name));
      if (!obj) {
        inner = obj.error();
        return false;
      }
      if (*obj) {
        found = std::move((*obj)->header.key);
        return false;
      }
      return true;
    }
    int err = 0;
    auto sub = OpenDirAt(dir_fd, std::string(name), &err);
    if (!sub) {
      if (err == ENOENT || err == ENOTDIR || err == ELOOP) return true;
      inner = sub.error();
      return false;
    }
    auto key = AnyObjectKey(sub->get());
    if (!key) {
      inner = key.error();
      return false;
    }
    found = std::move(*key);
    return !found.has_value();
  }));
  ESPER_RETURN_IF_ERROR(inner);
  return found;
}

KeyWalker::KeyWalker(int dir_fd, std::string dir_prefix, WalkOptions options)
    : o_(std::move(options)), root_fd_(dir_fd), root_prefix_(std::move(dir_prefix)) {
  o_.batch = std::max<size_t>(o_.batch, 1);
}

void KeyWalker::SkipPrefix(std::string prefix) {
  o_.skip_prefix = std::move(prefix);
  while (!stack_.empty() && !o_.skip_prefix.empty() &&
         stack_.back().prefix.starts_with(o_.skip_prefix)) {
    stack_.pop_back();
  }
}

bool KeyWalker::Wanted(const Level& level, const Child& c) const {
  const std::string& k = c.sortkey;
  if (level.has_last && k <= level.last) return false;
  if (!o_.skip_prefix.empty() && k.starts_with(o_.skip_prefix)) return false;
  if (!c.is_dir) return k.starts_with(o_.prefix) && k > o_.after;
  // A directory's run: every string starting with k.
  const bool fits_prefix = k.starts_with(o_.prefix) || o_.prefix.starts_with(k);
  const bool ends_after = k > o_.after || o_.after.starts_with(k);
  return fits_prefix && ends_after;
}

Status KeyWalker::PushLevel(UniqueFd dir, std::string prefix) {
  Level level;
  level.fd = std::move(dir);
  level.prefix = std::move(prefix);
  stack_.push_back(std::move(level));
  return Fill(stack_.back());
}

Status KeyWalker::Fill(Level& level) {
  std::vector<Child> kept;
  bool trimmed = false;
  const auto trim = [&] {
    std::nth_element(kept.begin(), kept.begin() + static_cast<ptrdiff_t>(o_.batch), kept.end(),
                     [](const Child& a, const Child& b) { return a.sortkey < b.sortkey; });
    kept.resize(o_.batch);
    trimmed = true;
  };
  Status inner = OkStatus();
  const size_t depth = Depth(level.prefix);
  ESPER_RETURN_IF_ERROR(ForEachEntry(level.fd.get(), [&](std::string_view name) {
    auto decoded = DecodeName(name);
    if (!decoded) return true;  // internal or foreign
    Child c;
    c.name = std::string(name);
    c.is_dir = decoded->kind == EntryKind::kDirectory;
    std::string segment;
    if (!decoded->hashed) {
      segment = std::move(decoded->text);
    } else {
      // The segment is in the key of the object (or of any object below the directory).
      std::optional<std::string> key;
      if (c.is_dir) {
        int err = 0;
        auto sub = OpenDirAt(level.fd.get(), c.name, &err);
        if (!sub) return true;  // gone, or not a directory we made
        auto any = AnyObjectKey(sub->get());
        if (!any) {
          inner = any.error();
          return false;
        }
        key = std::move(*any);
      } else {
        auto obj = OpenObjectFile(level.fd.get(), c.name);
        if (!obj) {
          inner = obj.error();
          return false;
        }
        if (*obj) key = std::move((*obj)->header.key);
      }
      if (!key || !key->starts_with(level.prefix)) return true;
      const auto segments = SplitKey(*key);
      if (segments.size() <= depth || (!c.is_dir && segments.size() != depth + 1)) return true;
      segment = std::string(segments[depth]);
      if (SegmentDigest(segment) != decoded->text) return true;
    }
    c.sortkey = level.prefix + segment;
    if (c.is_dir) c.sortkey.push_back('/');
    if (!Wanted(level, c)) return true;
    kept.push_back(std::move(c));
    if (kept.size() >= 2 * o_.batch) trim();
    return true;
  }));
  ESPER_RETURN_IF_ERROR(inner);
  if (kept.size() > o_.batch) trim();
  std::sort(kept.begin(), kept.end(),
            [](const Child& a, const Child& b) { return a.sortkey < b.sortkey; });
  level.batch = std::move(kept);
  level.next = 0;
  level.complete = !trimmed;
  return OkStatus();
}

Result<bool> KeyWalker::HoldsWantedKey(int dir_fd, const std::string& prefix) {
  if (!o_.after.starts_with(prefix)) {
    // Every key below is after the lower bound: any object will do.
    ESPER_ASSIGN_OR_RETURN(auto key, AnyObjectKey(dir_fd));
    return key.has_value();
  }
  KeyWalker sub(dir_fd, prefix, {.prefix = prefix, .after = o_.after, .batch = o_.batch});
  ESPER_ASSIGN_OR_RETURN(auto entry, sub.Next());
  return entry.has_value();
}

Result<std::optional<WalkEntry>> KeyWalker::Next() {
  if (!started_) {
    started_ = true;
    const int dup_fd = ::fcntl(root_fd_, F_DUPFD_CLOEXEC, 0);
    if (dup_fd < 0) return Error::FromErrno(errno, "open a directory");
    ESPER_RETURN_IF_ERROR(PushLevel(UniqueFd(dup_fd), root_prefix_));
  }
  while (!stack_.empty()) {
    Level& level = stack_.back();
    if (level.next == level.batch.size()) {
      if (level.complete) {
        stack_.pop_back();
      } else {
        ESPER_RETURN_IF_ERROR(Fill(level));
      }
      continue;
    }
    Child c = std::move(level.batch[level.next++]);
    level.last = c.sortkey;
    level.has_last = true;
    if (!o_.skip_prefix.empty() && c.sortkey.starts_with(o_.skip_prefix)) continue;
    if (!c.is_dir) {
      return std::optional<WalkEntry>(
          WalkEntry{.key = std::move(c.sortkey), .dir_fd = level.fd.get(), .name = std::move(c.name)});
    }
    int err = 0;
    auto sub = OpenDirAt(level.fd.get(), c.name, &err);
    if (!sub) {
      if (err == ENOENT || err == ENOTDIR || err == ELOOP) continue;  // gone, or not ours
      return sub.error();
    }
    const std::string& q = c.sortkey;
    if (o_.rollup_slash && q.size() > o_.prefix.size() &&
        q.find('/', o_.prefix.size()) == q.size() - 1) {
      ESPER_ASSIGN_OR_RETURN(const bool holds, HoldsWantedKey(sub->get(), q));
      if (holds) return std::optional<WalkEntry>(WalkEntry{.key = std::move(c.sortkey), .rolled_up = true});
      continue;
    }
    ESPER_RETURN_IF_ERROR(PushLevel(std::move(*sub), std::move(c.sortkey)));
  }
  return std::optional<WalkEntry>();
}

}  // namespace esper::storage::detail
