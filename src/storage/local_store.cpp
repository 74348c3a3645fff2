// LocalStore (local_store.h): S3's semantics on a directory tree.
#include "esper/storage/local_store.h"

#include <fcntl.h>
#include <stdio.h>  // renameat2, RENAME_NOREPLACE
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "esper/storage/errors.h"
#include "storage/atomic_file.h"
#include "storage/fs.h"
#include "storage/key_path.h"
#include "storage/key_walker.h"
#include "storage/object_file.h"
#include "storage/worker_pool.h"

namespace esper::storage {

using detail::EncodeObjectHeader;
using detail::FlockGuard;
using detail::OpenAt;
using detail::OpenDirAt;
using detail::OpenObject;
using detail::UniqueFd;

namespace {

constexpr const char* kTempDir = ".esper-tmp";
// A temporary file younger than this is never swept, whoever holds it: the writer may not have
// locked it yet (it locks it right after creating it).
constexpr auto kTempGrace = std::chrono::seconds(60);
constexpr size_t kChunk = 256 * 1024;
// Objects up to this size (header included) are read whole by a get, in one read.
constexpr size_t kSmallObjectBytes = 64 * 1024;
constexpr int kCommitAttempts = 8;

Error NoSuchBucket(const std::string& bucket) {
  return ServiceError("NoSuchBucket", fmt::format("bucket '{}' does not exist", bucket));
}
Error NoSuchKey() { return ServiceError("NoSuchKey", "no object has this key"); }
Error PreconditionFailed(std::string_view what) {
  return ServiceError("PreconditionFailed", std::string(what));
}

// A directory that was removed while we held it open has no links left.
bool Removed(int dir_fd) {
  struct stat st {};
  return ::fstat(dir_fd, &st) == 0 && st.st_nlink == 0;
}

// renameat2(RENAME_NOREPLACE), or link + unlink where the file system cannot do it. EEXIST when
// `to` exists.
int RenameNoReplace(int from_dir, const char* from, int to_dir, const char* to) {
  if (::renameat2(from_dir, from, to_dir, to, RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) return -1;
  if (::linkat(from_dir, from, to_dir, to, 0) != 0) return -1;
  ::unlinkat(from_dir, from, 0);
  return 0;
}

std::string HexEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * s.size());
  for (unsigned char c : s) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  }
  return out;
}

// Continuation token: 'k' (the last entry was a key) or 'p' (a common prefix) + hex of it.
std::string EncodeToken(const std::string& last, bool is_prefix) {
  return (is_prefix ? "p" : "k") + HexEncode(last);
}

Result<std::pair<std::string, bool>> DecodeToken(std::string_view token) {
  const auto bad = [] {
    return ServiceError("InvalidArgument", "the continuation token is not one this store made");
  };
  if (token.size() < 3 || (token[0] != 'k' && token[0] != 'p') || token.size() % 2 != 1 ||
      token.size() > 1 + 2 * 2 * kMaxKeyBytes) {
    return bad();
  }
  std::string out;
  for (size_t i = 1; i < token.size(); i += 2) {
    const auto nib = [](char c) {
      return c >= '0' && c <= '9' ? c - '0' : (c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1);
    };
    const int hi = nib(token[i]), lo = nib(token[i + 1]);
    if (hi < 0 || lo < 0) return bad();
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return std::pair{std::move(out), token[0] == 'p'};
}

ObjectInfo InfoOf(const OpenObject& obj) {
  return ObjectInfo{.key = obj.header.key,
                    .size = obj.header.size,
                    .etag = detail::HexDigest(obj.header.md5),
                    .last_modified = detail::ModificationTime(obj.st),
                    .content_type = obj.header.content_type,
                    .metadata = obj.header.metadata};
}

// read(2) of up to `cap` bytes, retried on EINTR.
Result<size_t> ReadSome(int fd, char* buf, size_t cap, std::string_view what) {
  for (;;) {
    const ssize_t n = ::read(fd, buf, cap);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return Error::FromErrno(errno, what);
  }
}

}  // namespace

// ----- Impl --------------------------------------------------------------------------------------

class LocalStore::Impl {
 public:
  Impl(LocalStoreOptions options, UniqueFd root_dir)
      : opt(std::move(options)),
        root(std::move(root_dir)),
        pool(opt.threads, opt.max_in_flight, "esper-local") {}

  Result<ObjectInfo> Put(const std::string& bucket, const std::string& key, const PutBody& body,
                         const PutOptions& o);
  Result<GetResult> Get(const std::string& bucket, const std::string& key, const GetOptions& o);
  Result<ObjectInfo> Stat(const std::string& bucket, const std::string& key);
  Result<ListPage> List(const std::string& bucket, const ListOptions& o);
  Status Delete(const std::string& bucket, const std::string& key);
  Result<std::vector<DeleteResult>> DeleteMany(const std::string& bucket,
                                               const std::vector<std::string>& keys);
  Result<ObjectInfo> Copy(const ObjectRef& from, const ObjectRef& to, const CopyOptions& o);
  Status CreateBucket(const std::string& bucket);
  Status DeleteBucket(const std::string& bucket);
  Result<std::vector<BucketInfo>> ListBuckets();
  /// Removes the temporary files of dead writers (older than the grace period, not locked).
  void SweepTemps(int bucket_fd);

  const LocalStoreOptions opt;
  const UniqueFd root;
  detail::WorkerPool pool;  // last: its threads stop before the rest goes

 private:
  // A temporary object file in <bucket>/.esper-tmp, locked while it lives; removed unless committed.
  struct Temp {
    UniqueFd dir;
    UniqueFd fd;
    std::string name;
    Temp() = default;
    Temp(Temp&&) = default;
    ~Temp() {
      if (!name.empty() && dir) ::unlinkat(dir.get(), name.c_str(), 0);
    }
  };
  enum class CommitMode { kReplace, kCreateOnly, kIfMatch };

  Result<UniqueFd> OpenBucket(const std::string& bucket);
  Result<Temp> CreateTemp(int bucket_fd);
  // The directories down to an object: at(0) is the bucket, at(i) the directory path[i-1].
  struct DirChain {
    int bucket = -1;
    std::vector<UniqueFd> dirs;
    int at(size_t i) const { return i == 0 ? bucket : dirs[i - 1].get(); }
    int last() const { return at(dirs.size()); }
    size_t size() const { return dirs.size() + 1; }
  };
  // Opens the directories of `path` (all but its last component) below the bucket. With
  // `create`, missing ones are made (and *created set). NotFound when one is missing and not
  // created; Aborted when a directory was removed under us (try again).
  Result<DirChain> OpenParents(int bucket_fd, const std::vector<std::string>& path, bool create,
                               bool* created);
  // Removes the directories of `path` that are empty, deepest first (what a delete leaves).
  void PruneEmptyDirs(const DirChain& chain, const std::vector<std::string>& path);
  Status Commit(Temp& temp, int bucket_fd, const std::vector<std::string>& path, CommitMode mode,
                const std::string& if_match);
  // The object `key`: NoSuchKey when there is none.
  Result<OpenObject> OpenExisting(int bucket_fd, const std::string& key, size_t prefetch = 0);
  Status CopyBytes(int in, uint64_t in_off, int out, uint64_t out_off, uint64_t len);
  Status CheckCancelled() const {
    if (pool.stopping()) return Error::Cancelled("the LocalStore is shutting down");
    return OkStatus();
  }

  std::atomic<uint64_t> temp_seq_{0};
};

Result<UniqueFd> LocalStore::Impl::OpenBucket(const std::string& bucket) {
  int err = 0;
  auto fd = OpenDirAt(root.get(), bucket, &err);
  if (!fd && (err == ENOENT || err == ENOTDIR || err == ELOOP)) return NoSuchBucket(bucket);
  return fd;
}

Result<LocalStore::Impl::Temp> LocalStore::Impl::CreateTemp(int bucket_fd) {
  Temp t;
  int err = 0;
  auto dir = OpenDirAt(bucket_fd, kTempDir, &err);
  if (!dir && err == ENOENT) {
    if (::mkdirat(bucket_fd, kTempDir, 0777) < 0 && errno != EEXIST) {
      if (errno == ENOENT) return Error::Aborted("the bucket was deleted");
      return Error::FromErrno(errno, "create the bucket's .esper-tmp");
    }
    dir = OpenDirAt(bucket_fd, kTempDir);
  }
  if (!dir) return dir.error();
  t.dir = std::move(*dir);
  for (int attempt = 0;; ++attempt) {
    std::string name = fmt::format("{}-{}-{}", ::getpid(), temp_seq_.fetch_add(1), detail::RandomHex());
    auto fd = OpenAt(t.dir.get(), name, O_RDWR | O_CREAT | O_EXCL, 0666, &err);
    if (!fd) {
      if (err == EEXIST && attempt < 3) continue;
      return fd.error();
    }
    t.fd = std::move(*fd);
    t.name = std::move(name);
    break;
  }
  // Held until the file is renamed or removed: a sweeper that can take it knows we are gone.
  if (::flock(t.fd.get(), LOCK_EX) < 0) return Error::FromErrno(errno, "lock a temporary file");
  return t;
}

void LocalStore::Impl::SweepTemps(int bucket_fd) {
  auto dir = OpenDirAt(bucket_fd, kTempDir);
  if (!dir) return;
  const auto now = std::chrono::system_clock::now();
  (void)detail::ForEachEntry(dir->get(), [&](std::string_view name) {
    const std::string n(name);
    struct stat st {};
    if (::fstatat(dir->get(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) return true;
    if (now - detail::ModificationTime(st) < kTempGrace) return true;
    auto fd = OpenAt(dir->get(), n, O_RDONLY | O_NOFOLLOW);
    if (!fd) return true;
    if (::flock(fd->get(), LOCK_EX | LOCK_NB) == 0) ::unlinkat(dir->get(), n.c_str(), 0);
    return true;
  });
}

Result<LocalStore::Impl::DirChain> LocalStore::Impl::OpenParents(
    int bucket_fd, const std::vector<std::string>& path, bool create, bool* created) {
  DirChain chain;
  chain.bucket = bucket_fd;
  chain.dirs.reserve(path.size() - 1);
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    int err = 0;
    auto dir = OpenDirAt(chain.last(), path[i], &err);
    if (!dir && err == ENOENT && create) {
      if (::mkdirat(chain.last(), path[i].c_str(), 0777) == 0) {
        *created = true;
      } else if (errno == ENOENT) {
        return Error::Aborted("a directory was removed meanwhile");
      } else if (errno != EEXIST) {
        return Error::FromErrno(errno, "create a directory");
      }
      dir = OpenDirAt(chain.last(), path[i], &err);
    }
    if (!dir) {
      if (err == ENOENT) {
        return create ? Error::Aborted("a directory was removed meanwhile") : NoSuchKey();
      }
      if (err == ENOTDIR || err == ELOOP) {
        // Not a directory LocalStore made: nothing of ours is below it. Writing is refused.
        if (!create) return NoSuchKey();
        return Error::FailedPrecondition(fmt::format(
            "'{}' is in the way: a file or symbolic link LocalStore did not make", path[i]));
      }
      return dir.error();
    }
    chain.dirs.push_back(std::move(*dir));
  }
  return chain;
}

void LocalStore::Impl::PruneEmptyDirs(const DirChain& chain, const std::vector<std::string>& path) {
  // at(i) is the directory path[i-1], in at(i-1).
  for (size_t i = chain.size() - 1; i >= 1; --i) {
    if (::unlinkat(chain.at(i - 1), path[i - 1].c_str(), AT_REMOVEDIR) < 0) return;
  }
}

Status LocalStore::Impl::Commit(Temp& temp, int bucket_fd, const std::vector<std::string>& path,
                                CommitMode mode, const std::string& if_match) {
  const std::string& name = path.back();
  for (int attempt = 0; attempt < kCommitAttempts; ++attempt) {
    bool created = false;
    auto chain = OpenParents(bucket_fd, path, /*create=*/true, &created);
    if (!chain) {
      if (chain.error().code() != ErrorCode::kAborted) return chain.error();
      if (Removed(bucket_fd)) return Error::NotFound("the bucket was deleted");
      continue;
    }
    const int dir = chain->last();
    {
      ESPER_ASSIGN_OR_RETURN(FlockGuard lock, FlockGuard::Exclusive(dir, "lock a directory"));
      if (mode == CommitMode::kIfMatch) {
        ESPER_ASSIGN_OR_RETURN(auto current, detail::OpenObjectFile(dir, name));
        Status check = OkStatus();
        if (!current) {
          check = NoSuchKey();
        } else if (if_match != "*" && detail::HexDigest(current->header.md5) != if_match) {
          check = PreconditionFailed(fmt::format("the object's ETag is {}, not {}",
                                                 detail::HexDigest(current->header.md5), if_match));
        }
        if (!check) {
          if (created) PruneEmptyDirs(*chain, path);
          return check;
        }
      }
      const int rc = mode == CommitMode::kCreateOnly
                         ? RenameNoReplace(temp.dir.get(), temp.name.c_str(), dir, name.c_str())
                         : ::renameat(temp.dir.get(), temp.name.c_str(), dir, name.c_str());
      if (rc < 0) {
        const int err = errno;
        if (err == ENOENT && Removed(dir)) continue;  // a delete removed the directory: again
        if (err == EEXIST && mode == CommitMode::kCreateOnly) {
          return Error(ErrorCode::kAlreadyExists, "an object with this key exists (create_only)")
              .WithServiceCode("PreconditionFailed");
        }
        return Error::FromErrno(err, "move the object into place");
      }
    }
    temp.name.clear();  // it is the object now
    if (opt.fsync) {
      // The new name, and any directory made for it, must reach the disk.
      for (size_t i = created ? 0 : chain->size() - 1; i < chain->size(); ++i) {
        ESPER_RETURN_IF_ERROR(detail::Fsync(chain->at(i), "flush a directory"));
      }
    }
    return OkStatus();
  }
  return Error::Unavailable(fmt::format(
      "the object's directory was removed by concurrent deletes {} times in a row", kCommitAttempts));
}

Result<OpenObject> LocalStore::Impl::OpenExisting(int bucket_fd, const std::string& key,
                                                  size_t prefetch) {
  const std::vector<std::string> path = detail::KeyToPath(key);
  bool created = false;
  ESPER_ASSIGN_OR_RETURN(auto chain, OpenParents(bucket_fd, path, /*create=*/false, &created));
  ESPER_ASSIGN_OR_RETURN(auto obj, detail::OpenObjectFile(chain.last(), path.back(), prefetch));
  // A different key here would be a SHA-256 collision of a long segment, or a file moved by hand.
  if (!obj || obj->header.key != key) return NoSuchKey();
  return std::move(*obj);
}

Status LocalStore::Impl::CopyBytes(int in, uint64_t in_off, int out, uint64_t out_off,
                                   uint64_t len) {
  auto ioff = static_cast<off64_t>(in_off);
  auto ooff = static_cast<off64_t>(out_off);
  bool kernel_copy = true;
  std::unique_ptr<char[]> buf;
  while (len > 0) {
    ESPER_RETURN_IF_ERROR(CheckCancelled());
    const size_t step = static_cast<size_t>(std::min<uint64_t>(len, 8 * kChunk));
    if (kernel_copy) {
      const ssize_t n = ::copy_file_range(in, &ioff, out, &ooff, step, 0);
      if (n > 0) {
        len -= static_cast<uint64_t>(n);
        continue;
      }
      if (n == 0) return Error::DataLoss("the object file ended early");
      if (errno == EINTR) continue;
      if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) {
        return Error::FromErrno(errno, "copy bytes");
      }
      kernel_copy = false;
      buf.reset(new char[kChunk]);
    }
    const size_t want = std::min<size_t>(step, kChunk);
    ESPER_ASSIGN_OR_RETURN(size_t n, detail::PreadFull(in, buf.get(), want, ioff, "read an object"));
    if (n != want) return Error::DataLoss("the object file ended early");
    ESPER_RETURN_IF_ERROR(detail::PwriteAll(out, {buf.get(), n}, ooff, "write a copy"));
    ioff += static_cast<off64_t>(n);
    ooff += static_cast<off64_t>(n);
    len -= n;
  }
  return OkStatus();
}

Result<ObjectInfo> LocalStore::Impl::Put(const std::string& bucket, const std::string& key,
                                         const PutBody& body, const PutOptions& o) {
  ESPER_ASSIGN_OR_RETURN(UniqueFd bucket_fd, OpenBucket(bucket));
  UniqueFd source;
  std::optional<uint64_t> expected = body.known_size();
  if (body.kind() == PutBody::Kind::kFile) {
    auto fd = OpenAt(AT_FDCWD, body.path(), O_RDONLY);
    if (!fd) return Error(fd.error()).Wrap(fmt::format("read the body file '{}'", body.path()));
    source = std::move(*fd);
    ESPER_ASSIGN_OR_RETURN(struct stat st, detail::Fstat(source.get(), "stat the body file"));
    if (S_ISREG(st.st_mode)) expected = static_cast<uint64_t>(st.st_size);
  }
  ESPER_ASSIGN_OR_RETURN(Temp temp, CreateTemp(bucket_fd.get()));
  const std::string header = EncodeObjectHeader(
      {.key = key, .content_type = o.content_type, .metadata = o.metadata});
  ESPER_RETURN_IF_ERROR(detail::WriteAll(temp.fd.get(), header, "write an object"));
  detail::Md5 md5;
  uint64_t total = 0;
  const auto take = [&](std::string_view bytes) -> Status {
    md5.Update(bytes);
    total += bytes.size();
    if (expected && total > *expected) {
      return ServiceError("IncompleteBody",
                          fmt::format("the body is longer than its declared {} bytes", *expected));
    }
    return detail::WriteAll(temp.fd.get(), bytes, "write an object");
  };
  if (body.kind() == PutBody::Kind::kMemory) {
    ESPER_RETURN_IF_ERROR(take(*body.data()));
  } else {
    std::unique_ptr<char[]> buf(new char[kChunk]);
    for (;;) {
      ESPER_RETURN_IF_ERROR(CheckCancelled());
      size_t n = 0;
      if (body.kind() == PutBody::Kind::kFile) {
        ESPER_ASSIGN_OR_RETURN(n, ReadSome(source.get(), buf.get(), kChunk, "read the body file"));
      } else {
        auto r = body.read_fn()(buf.get(), kChunk);
        if (!r) return Error(r.error()).Wrap("the body's read function");
        n = *r;
        if (n > kChunk) {
          return Error::InvalidArgument("the body's read function returned more than it was given");
        }
      }
      if (n == 0) break;
      ESPER_RETURN_IF_ERROR(take({buf.get(), n}));
    }
  }
  if (expected && total != *expected) {
    return ServiceError("IncompleteBody", fmt::format("the body ended after {} of its declared {} bytes",
                                                      total, *expected));
  }
  const detail::Md5Digest digest = md5.Finish();
  ESPER_RETURN_IF_ERROR(detail::PwriteAll(temp.fd.get(), detail::EncodeSizeAndMd5(total, digest),
                                          detail::kSizeOffset, "write an object"));
  if (opt.fsync) ESPER_RETURN_IF_ERROR(detail::Fsync(temp.fd.get(), "flush an object"));
  ESPER_ASSIGN_OR_RETURN(struct stat st, detail::Fstat(temp.fd.get(), "stat an object"));
  const CommitMode mode = o.create_only          ? CommitMode::kCreateOnly
                          : !o.if_match.empty() ? CommitMode::kIfMatch
                                                : CommitMode::kReplace;
  ESPER_RETURN_IF_ERROR(Commit(temp, bucket_fd.get(), detail::KeyToPath(key), mode, o.if_match));
  return ObjectInfo{.key = key,
                    .size = total,
                    .etag = detail::HexDigest(digest),
                    .last_modified = detail::ModificationTime(st),
                    .content_type = o.content_type,
                    .metadata = o.metadata};
}

Result<GetResult> LocalStore::Impl::Get(const std::string& bucket, const std::string& key,
                                        const GetOptions& o) {
  ESPER_ASSIGN_OR_RETURN(UniqueFd bucket_fd, OpenBucket(bucket));
  ESPER_ASSIGN_OR_RETURN(OpenObject obj, OpenExisting(bucket_fd.get(), key, kSmallObjectBytes));
  GetResult out;
  out.info = InfoOf(obj);
  const std::string& etag = out.info.etag;
  if (!o.if_match.empty() && o.if_match != "*" && o.if_match != etag) {
    return PreconditionFailed(fmt::format("the object's ETag is {}, not {}", etag, o.if_match));
  }
  if (!o.if_none_match.empty() && (o.if_none_match == "*" || o.if_none_match == etag)) {
    out.not_modified = true;
    out.info = ObjectInfo{.key = key, .etag = etag, .last_modified = out.info.last_modified};
    return out;
  }
  out.length = obj.header.size;
  if (o.range) {
    ESPER_ASSIGN_OR_RETURN(std::tie(out.offset, out.length), o.range->Resolve(obj.header.size));
  }
  const uint64_t start = obj.header.header_len + out.offset;
  switch (o.target.kind()) {
    case GetTarget::Kind::kMemory: {
      if (out.length > opt.max_memory_body) {
        return Error::ResourceExhausted(fmt::format(
            "{} bytes do not fit max_memory_body ({}); get into a file or a stream", out.length,
            opt.max_memory_body));
      }
      if (start + out.length <= obj.head.size()) {  // a small object: read with its header
        out.body.assign(obj.head, start, out.length);
        break;
      }
      out.body.resize(out.length);
      ESPER_ASSIGN_OR_RETURN(size_t n, detail::PreadFull(obj.fd.get(), out.body.data(), out.length,
                                                         static_cast<off_t>(start), "read an object"));
      if (n != out.length) return Error::DataLoss("the object file ended early");
      break;
    }
    case GetTarget::Kind::kFile: {
      ESPER_ASSIGN_OR_RETURN(detail::AtomicFile file, detail::AtomicFile::Create(o.target.path()));
      ESPER_RETURN_IF_ERROR(CopyBytes(obj.fd.get(), start, file.fd(), 0, out.length));
      ESPER_RETURN_IF_ERROR(file.Commit());
      break;
    }
    case GetTarget::Kind::kStream: {
      std::unique_ptr<char[]> buf(new char[kChunk]);
      for (uint64_t done = 0; done < out.length;) {
        ESPER_RETURN_IF_ERROR(CheckCancelled());
        const size_t want = static_cast<size_t>(std::min<uint64_t>(kChunk, out.length - done));
        ESPER_ASSIGN_OR_RETURN(size_t n, detail::PreadFull(obj.fd.get(), buf.get(), want,
                                                           static_cast<off_t>(start + done),
                                                           "read an object"));
        if (n != want) return Error::DataLoss("the object file ended early");
        if (auto st = o.target.write_fn()({buf.get(), n}); !st) {
          return Error(st.error()).Wrap("the target's write function");
        }
        done += n;
      }
      break;
    }
  }
  return out;
}

Result<ObjectInfo> LocalStore::Impl::Stat(const std::string& bucket, const std::string& key) {
  ESPER_ASSIGN_OR_RETURN(UniqueFd bucket_fd, OpenBucket(bucket));
  ESPER_ASSIGN_OR_RETURN(OpenObject obj, OpenExisting(bucket_fd.get(), key));
  return InfoOf(obj);
}

Result<ListPage> LocalStore::Impl::List(const std::string& bucket, const ListOptions& o) {
  ESPER_ASSIGN_OR_RETURN(UniqueFd bucket_fd, OpenBucket(bucket));
  detail::WalkOptions walk{.prefix = o.prefix,
                           .after = o.start_after,
                           .rollup_slash = o.delimiter == "/",
                           .batch = static_cast<size_t>(o.page_size) + 1};
  if (!o.continuation_token.empty()) {
    ESPER_ASSIGN_OR_RETURN(auto token, DecodeToken(o.continuation_token));
    walk.after = token.first;
    if (token.second) walk.skip_prefix = std::move(token.first);
  }
  detail::KeyWalker walker(bucket_fd.get(), "", std::move(walk));
  ListPage page;
  int entries = 0;
  std::string last;
  bool last_is_prefix = false;
  for (;;) {
    ESPER_ASSIGN_OR_RETURN(auto entry, walker.Next());
    if (!entry) break;
    std::string common;
    if (entry->rolled_up) {
      common = std::move(entry->key);
    } else if (!o.delimiter.empty()) {
      const size_t at = entry->key.find(o.delimiter, o.prefix.size());
      if (at != std::string::npos) common = entry->key.substr(0, at + o.delimiter.size());
    }
    if (entries == o.page_size) {
      page.next_continuation_token = EncodeToken(last, last_is_prefix);
      break;
    }
    if (!common.empty()) {
      walker.SkipPrefix(common);
      page.common_prefixes.push_back(common);
      last = std::move(common);
      last_is_prefix = true;
      ++entries;
      continue;
    }
    ESPER_ASSIGN_OR_RETURN(auto obj, detail::OpenObjectFile(entry->dir_fd, entry->name));
    if (!obj || obj->header.key != entry->key) continue;  // deleted meanwhile, or not ours
    ObjectInfo info = InfoOf(*obj);
    info.content_type.clear();  // S3 lists neither (object_store.h)
    info.metadata.clear();
    page.objects.push_back(std::move(info));
    last = std::move(entry->key);
    last_is_prefix = false;
    ++entries;
  }
  return page;
}

Status LocalStore::Impl::Delete(const std::string& bucket, const std::string& key) {
  ESPER_ASSIGN_OR_RETURN(UniqueFd bucket_fd, OpenBucket(bucket));
  const std::vector<std::string> path = detail::KeyToPath(key);
  bool created = false;
  auto chain = OpenParents(bucket_fd.get(), path, /*create=*/false, &created);
  if (!chain) {
    // A missing directory means a missing key: deleting it succeeds, as in S3.
    if (chain.error().code() == ErrorCode::kNotFound) return OkStatus();
    return chain.error();
  }
  const int dir = chain->last();
  bool removed = false;
  {
    ESPER_ASSIGN_OR_RETURN(FlockGuard lock, FlockGuard::Exclusive(dir, "lock a directory"));
    if (::unlinkat(dir, path.back().c_str(), 0) == 0) {
      removed = true;
    } else if (errno != ENOENT) {
      return Error::FromErrno(errno, "remove an object");
    }
  }
  if (removed && opt.fsync) ESPER_RETURN_IF_ERROR(detail::Fsync(dir, "flush a directory"));
  PruneEmptyDirs(*chain, path);
  return OkStatus();
}

Result<std::vector<DeleteResult>> LocalStore::Impl::DeleteMany(
    const std::string& bucket, const std::vector<std::string>& keys) {
  ESPER_RETURN_IF_ERROR(OpenBucket(bucket));  // NoSuchBucket fails the whole call
  std::vector<DeleteResult> out;
  out.reserve(keys.size());
  for (const std::string& key : keys) {
    Status st = CheckCancelled();
    if (st) st = Delete(bucket, key);
    if (!st) st = Error(st.error()).Wrap(fmt::format("delete {}/{}", bucket, key));
    out.push_back({.key = key, .status = std::move(st)});
  }
  return out;
}

Result<ObjectInfo> LocalStore::Impl::Copy(const ObjectRef& from, const ObjectRef& to,
                                          const CopyOptions& o) {
  ESPER_ASSIGN_OR_RETURN(UniqueFd from_bucket, OpenBucket(from.bucket));
  ESPER_ASSIGN_OR_RETURN(OpenObject src, OpenExisting(from_bucket.get(), from.key));
  const std::string etag = detail::HexDigest(src.header.md5);
  if (!o.source_if_match.empty() && o.source_if_match != "*" && o.source_if_match != etag) {
    return PreconditionFailed(
        fmt::format("the source's ETag is {}, not {}", etag, o.source_if_match));
  }
  ESPER_ASSIGN_OR_RETURN(UniqueFd to_bucket, OpenBucket(to.bucket));
  detail::ObjectHeader header{.key = to.key,
                              .size = src.header.size,
                              .md5 = src.header.md5,
                              .content_type = o.replace_metadata ? o.content_type
                                                                 : src.header.content_type,
                              .metadata = o.replace_metadata ? o.metadata : src.header.metadata};
  const std::string encoded = EncodeObjectHeader(header);
  ESPER_ASSIGN_OR_RETURN(Temp temp, CreateTemp(to_bucket.get()));
  ESPER_RETURN_IF_ERROR(detail::WriteAll(temp.fd.get(), encoded, "write a copy"));
  ESPER_RETURN_IF_ERROR(CopyBytes(src.fd.get(), src.header.header_len, temp.fd.get(),
                                  encoded.size(), src.header.size));
  if (opt.fsync) ESPER_RETURN_IF_ERROR(detail::Fsync(temp.fd.get(), "flush a copy"));
  ESPER_ASSIGN_OR_RETURN(struct stat st, detail::Fstat(temp.fd.get(), "stat a copy"));
  ESPER_RETURN_IF_ERROR(Commit(temp, to_bucket.get(), detail::KeyToPath(to.key),
                               CommitMode::kReplace, ""));
  return ObjectInfo{.key = to.key,
                    .size = header.size,
                    .etag = etag,
                    .last_modified = detail::ModificationTime(st),
                    .content_type = std::move(header.content_type),
                    .metadata = std::move(header.metadata)};
}

Status LocalStore::Impl::CreateBucket(const std::string& bucket) {
  if (::mkdirat(root.get(), bucket.c_str(), 0777) < 0) {
    if (errno == EEXIST) {
      return ServiceError("BucketAlreadyOwnedByYou", fmt::format("bucket '{}' exists", bucket));
    }
    return Error::FromErrno(errno, "create the bucket's directory");
  }
  ESPER_ASSIGN_OR_RETURN(UniqueFd bucket_fd, OpenBucket(bucket));
  if (::mkdirat(bucket_fd.get(), kTempDir, 0777) < 0 && errno != EEXIST) {
    return Error::FromErrno(errno, "create the bucket's .esper-tmp");
  }
  if (opt.fsync) ESPER_RETURN_IF_ERROR(detail::Fsync(root.get(), "flush the root directory"));
  return OkStatus();
}

namespace {
// Removes every empty directory LocalStore made below `dir_fd` (never a file), deepest first.
void RemoveEmptyDirs(int dir_fd) {
  std::vector<std::string> dirs;
  (void)detail::ForEachEntry(dir_fd, [&](std::string_view name) {
    auto decoded = detail::DecodeName(name);
    if (decoded && decoded->kind == detail::EntryKind::kDirectory) dirs.emplace_back(name);
    return true;
  });
  for (const std::string& name : dirs) {
    auto sub = OpenDirAt(dir_fd, name);
    if (!sub) continue;
    RemoveEmptyDirs(sub->get());
    ::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR);
  }
}
}  // namespace

Status LocalStore::Impl::DeleteBucket(const std::string& bucket) {
  ESPER_ASSIGN_OR_RETURN(UniqueFd bucket_fd, OpenBucket(bucket));
  const auto not_empty = [&](std::string_view why) {
    return ServiceError("BucketNotEmpty", fmt::format("bucket '{}' is not empty: {}", bucket, why));
  };
  detail::KeyWalker walker(bucket_fd.get(), "", {.batch = 1});
  ESPER_ASSIGN_OR_RETURN(auto first, walker.Next());
  if (first) return not_empty(fmt::format("it holds '{}'", first->key));
  SweepTemps(bucket_fd.get());
  if (::unlinkat(bucket_fd.get(), kTempDir, AT_REMOVEDIR) < 0 && errno != ENOENT) {
    if (errno == ENOTEMPTY || errno == EEXIST) return not_empty("a put into it is in progress");
    return Error::FromErrno(errno, "remove the bucket's .esper-tmp");
  }
  RemoveEmptyDirs(bucket_fd.get());
  if (::unlinkat(root.get(), bucket.c_str(), AT_REMOVEDIR) < 0) {
    if (errno == ENOTEMPTY || errno == EEXIST) {
      // Recreate what a put into the bucket needs, then say why it stays.
      (void)::mkdirat(bucket_fd.get(), kTempDir, 0777);
      return not_empty("objects were written meanwhile, or it holds files LocalStore did not write");
    }
    if (errno == ENOENT) return NoSuchBucket(bucket);
    return Error::FromErrno(errno, "remove the bucket's directory");
  }
  if (opt.fsync) ESPER_RETURN_IF_ERROR(detail::Fsync(root.get(), "flush the root directory"));
  return OkStatus();
}

Result<std::vector<BucketInfo>> LocalStore::Impl::ListBuckets() {
  std::vector<BucketInfo> out;
  ESPER_RETURN_IF_ERROR(detail::ForEachEntry(root.get(), [&](std::string_view name) {
    if (!ValidateBucketName(name)) return true;
    const std::string n(name);
    struct statx stx {};
    if (::statx(root.get(), n.c_str(), AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_BTIME | STATX_MTIME,
                &stx) < 0 ||
        !S_ISDIR(stx.stx_mode)) {
      return true;
    }
    const statx_timestamp& t = (stx.stx_mask & STATX_BTIME) ? stx.stx_btime : stx.stx_mtime;
    using namespace std::chrono;
    out.push_back({.name = n,
                   .creation_date = system_clock::time_point(duration_cast<system_clock::duration>(
                       seconds(t.tv_sec) + nanoseconds(t.tv_nsec)))});
    return true;
  }));
  std::sort(out.begin(), out.end(),
            [](const BucketInfo& a, const BucketInfo& b) { return a.name < b.name; });
  return out;
}

// ----- LocalStore --------------------------------------------------------------------------------

Result<std::unique_ptr<LocalStore>> LocalStore::Create(LocalStoreOptions options) {
  const auto invalid = [](std::string_view what) {
    return Error::InvalidArgument(fmt::format("LocalStoreOptions: {}", what));
  };
  if (options.root.empty()) return invalid("root is required");
  if (options.threads < 1 || options.threads > 256) return invalid("threads must be 1..256");
  if (options.max_in_flight < 1) return invalid("max_in_flight must be >= 1");
  if (options.max_memory_body < 1) return invalid("max_memory_body must be >= 1");
  if (options.create_root) {
    std::error_code ec;
    std::filesystem::create_directories(options.root, ec);
    if (ec) {
      return Error::FromErrno(ec.value(), fmt::format("create the LocalStore root '{}'", options.root));
    }
  }
  auto root = OpenAt(AT_FDCWD, options.root, O_RDONLY | O_DIRECTORY);
  if (!root) return Error(root.error()).Wrap(fmt::format("open the LocalStore root '{}'", options.root));
  auto impl = std::make_unique<Impl>(std::move(options), std::move(*root));
  // What writers that crashed left behind (each bucket's .esper-tmp; best effort).
  (void)detail::ForEachEntry(impl->root.get(), [&](std::string_view name) {
    if (!ValidateBucketName(name)) return true;
    if (auto bucket = OpenDirAt(impl->root.get(), std::string(name))) impl->SweepTemps(bucket->get());
    return true;
  });
  return std::unique_ptr<LocalStore>(new LocalStore(std::move(impl)));
}

LocalStore::LocalStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

LocalStore::~LocalStore() { impl_->pool.Stop(); }

bool LocalStore::IsCallbackThread() const noexcept { return impl_->pool.OnWorkerThread(); }

const LocalStoreOptions& LocalStore::options() const noexcept { return impl_->opt; }

template <class T, class Op>
Status LocalStore::Run(Callback<T> done, Op op) {
  if (ClaimBlockingCaller()) {
    done(op());
    return OkStatus();
  }
  return impl_->pool.Submit([done = std::move(done), op = std::move(op)](bool cancelled) {
    if (cancelled) {
      done(Error::Cancelled("the LocalStore was destroyed before the operation ran"));
      return;
    }
    done(op());
  });
}

namespace {
// "put b/k: " in front of every error.
template <class T>
Result<T> Named(Result<T> r, std::string_view op, std::string_view bucket, std::string_view key) {
  if (r) return r;
  return Error(r.error()).Wrap(key.empty() ? fmt::format("{} {}", op, bucket)
                                           : fmt::format("{} {}/{}", op, bucket, key));
}
}  // namespace

Status LocalStore::StartPut(std::string bucket, std::string key, PutBody body, PutOptions options,
                            Callback<ObjectInfo> done) {
  return Run(std::move(done), [impl = impl_.get(), bucket = std::move(bucket), key = std::move(key),
                               body = std::move(body), options = std::move(options)] {
    return Named(impl->Put(bucket, key, body, options), "put", bucket, key);
  });
}

Status LocalStore::StartGet(std::string bucket, std::string key, GetOptions options,
                            Callback<GetResult> done) {
  return Run(std::move(done), [impl = impl_.get(), bucket = std::move(bucket), key = std::move(key),
                               options = std::move(options)] {
    return Named(impl->Get(bucket, key, options), "get", bucket, key);
  });
}

Status LocalStore::StartStat(std::string bucket, std::string key, Callback<ObjectInfo> done) {
  return Run(std::move(done), [impl = impl_.get(), bucket = std::move(bucket), key = std::move(key)] {
    return Named(impl->Stat(bucket, key), "stat", bucket, key);
  });
}

Status LocalStore::StartList(std::string bucket, ListOptions options, Callback<ListPage> done) {
  return Run(std::move(done),
             [impl = impl_.get(), bucket = std::move(bucket), options = std::move(options)] {
               return Named(impl->List(bucket, options), "list", bucket, "");
             });
}

Status LocalStore::StartDelete(std::string bucket, std::string key, Callback<void> done) {
  return Run(std::move(done), [impl = impl_.get(), bucket = std::move(bucket), key = std::move(key)] {
    return Named(impl->Delete(bucket, key), "delete", bucket, key);
  });
}

Status LocalStore::StartDeleteMany(std::string bucket, std::vector<std::string> keys,
                                   Callback<std::vector<DeleteResult>> done) {
  return Run(std::move(done),
             [impl = impl_.get(), bucket = std::move(bucket), keys = std::move(keys)] {
               return Named(impl->DeleteMany(bucket, keys), "delete_many", bucket, "");
             });
}

Status LocalStore::StartCopy(ObjectRef source, ObjectRef destination, CopyOptions options,
                             Callback<ObjectInfo> done) {
  return Run(std::move(done), [impl = impl_.get(), source = std::move(source),
                               destination = std::move(destination), options = std::move(options)] {
    return Named(impl->Copy(source, destination, options), "copy",
                 fmt::format("{}/{} to {}", source.bucket, source.key, destination.bucket),
                 destination.key);
  });
}

Status LocalStore::StartCreateBucket(std::string bucket, Callback<void> done) {
  return Run(std::move(done), [impl = impl_.get(), bucket = std::move(bucket)] {
    return Named(impl->CreateBucket(bucket), "create bucket", bucket, "");
  });
}

Status LocalStore::StartDeleteBucket(std::string bucket, Callback<void> done) {
  return Run(std::move(done), [impl = impl_.get(), bucket = std::move(bucket)] {
    return Named(impl->DeleteBucket(bucket), "delete bucket", bucket, "");
  });
}

Status LocalStore::StartListBuckets(Callback<std::vector<BucketInfo>> done) {
  return Run(std::move(done), [impl = impl_.get()] { return impl->ListBuckets(); });
}

}  // namespace esper::storage
