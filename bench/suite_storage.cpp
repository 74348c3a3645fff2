// esper bench storage — LocalStore's small operations beside the file system's own floor.
//
//  * PUT, GET and HEAD of 4 KiB objects through the ObjectStore interface (blocking calls, 1 in
//    flight, which LocalStore runs on the calling thread), and PUT with 16 in flight through
//    PutAsync (4 workers): operations per second and client CPU per operation (getrusage of the
//    whole process: every thread, user + system).
//  * The floor, measured in the same run on the same file system, is the work a store cannot
//    avoid, done bare: for PUT, write 4 KiB to a new file, fsync it, rename it over the old one and
//    fsync the directory (LocalStore's put does that, plus its header, MD5 and locks); for GET,
//    open + read + close of a 4 KiB file; for HEAD, open + fstat + close. The ratio (> 1 better) is
//    therefore below 1 by construction: it says how close to the file system we are.
// Method: interleaved rounds (ours, then the floor), the median of each; one round with --quick.
// 256 keys are overwritten in turn, so the tree stays the same size however long a round runs.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

#include "esper/storage/local_store.h"
#include "frame.h"
#include "loops.h"

namespace esper::bench {
namespace {

using namespace std::chrono_literals;
using storage::LocalStore;
using storage::PutBody;

constexpr size_t kObjectBytes = 4096;
constexpr int kKeys = 256;

// The bare loops of the floor.
Status BarePut(int dir, int thread, uint64_t i, const std::string& data) {
  const std::string tmp = fmt::format("tmp.{}", thread);
  const std::string name = fmt::format("f{}.{}", thread, i % kKeys);
  const int fd = ::openat(dir, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Error::FromErrno(errno, "open");
  const bool ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Error::FromErrno(errno, "write + fsync");
  if (::renameat(dir, tmp.c_str(), dir, name.c_str()) != 0) return Error::FromErrno(errno, "rename");
  if (::fsync(dir) != 0) return Error::FromErrno(errno, "fsync(dir)");
  return OkStatus();
}

Status BareGet(int dir, uint64_t i, bool read_bytes) {
  const std::string name = fmt::format("f0.{}", i % kKeys);
  const int fd = ::openat(dir, name.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error::FromErrno(errno, "open");
  char buf[kObjectBytes];
  struct stat st {};
  const bool ok = read_bytes ? ::read(fd, buf, sizeof buf) == static_cast<ssize_t>(sizeof buf)
                             : ::fstat(fd, &st) == 0;
  ::close(fd);
  if (!ok) return Error::FromErrno(errno, "read");
  return OkStatus();
}

std::string FileSystemName(const std::string& path) {
  struct statfs s {};
  if (::statfs(path.c_str(), &s) != 0) return "unknown";
  switch (static_cast<unsigned long>(s.f_type)) {
    case 0xEF53: return "ext4";
    case 0x01021994: return "tmpfs";
    case 0x794C7630: return "overlayfs";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    default: return fmt::format("f_type {:#x}", static_cast<unsigned long>(s.f_type));
  }
}

}  // namespace

Status RunStorageSuite(Context& ctx) {
  namespace fs = std::filesystem;
  std::string root = (fs::temp_directory_path() / "esper-bench-storage-XXXXXX").string();
  if (::mkdtemp(root.data()) == nullptr) return Error::FromErrno(errno, "mkdtemp");
  struct Cleanup {
    std::string path;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  } cleanup{root};
  const std::string fs_name = FileSystemName(root);

  const auto data = std::make_shared<const std::string>(kObjectBytes, 'x');
  const std::string bucket = "bench";
  fs::create_directories(root + "/floor");
  const int floor_dir = ::open((root + "/floor").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (floor_dir < 0) return Error::FromErrno(errno, "open the floor directory");
  struct CloseFd {
    int fd;
    ~CloseFd() { ::close(fd); }
  } close_floor{floor_dir};
  {
    // Both sides start with the 256 objects the GETs and HEADs read (written without fsync:
    // seeding is not what is measured, and a slow disk would take seconds).
    ctx.Progress("storage: writing 256 objects of 4 KiB (LocalStore and the floor)");
    ESPER_ASSIGN_OR_RETURN(auto seeder, LocalStore::Create({.root = root + "/store", .create_root = true,
                                                            .fsync = false}));
    ESPER_RETURN_IF_ERROR(seeder->CreateBucket(bucket));
    for (int i = 0; i < kKeys; ++i) {
      ESPER_RETURN_IF_ERROR(seeder->Put(bucket, fmt::format("k/{}", i), PutBody::FromShared(data)));
      const std::string name = fmt::format("f0.{}", i);
      const int fd = ::openat(floor_dir, name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0) return Error::FromErrno(errno, "seed the floor");
      const bool ok = ::write(fd, data->data(), data->size()) == static_cast<ssize_t>(data->size());
      ::close(fd);
      if (!ok) return Error::FromErrno(errno, "seed the floor");
    }
  }
  // Flush the seeding now, or the first measured fsync would pay for all of it.
  if (::syncfs(floor_dir) != 0) return Error::FromErrno(errno, "syncfs");
  ESPER_ASSIGN_OR_RETURN(auto store, LocalStore::Create({.root = root + "/store"}));

  const int rounds = ctx.quick() ? 1 : 3;
  const auto slice = ctx.quick() ? 400ms : 1000ms;
  Samples put, put_floor, get, get_floor, head, head_floor, async, async_floor;
  for (int r = 0; r < rounds; ++r) {
    ctx.Progress(fmt::format("storage: round {} of {}: PUT, GET, HEAD 4 KiB, ours and the floor", r + 1, rounds));
    ESPER_ASSIGN_OR_RETURN(Throughput m, Loop(slice, 1, [&](int, uint64_t i) -> Status {
      return store->Put(bucket, fmt::format("k/{}", i % kKeys), PutBody::FromShared(data)).map([](auto&&) {});
    }));
    put.Add(m);
    ESPER_ASSIGN_OR_RETURN(m, Loop(slice, 1, [&](int t, uint64_t i) { return BarePut(floor_dir, t, i, *data); }));
    put_floor.Add(m);
    ESPER_ASSIGN_OR_RETURN(m, Loop(slice, 1, [&](int, uint64_t i) -> Status {
      auto got = store->Get(bucket, fmt::format("k/{}", i % kKeys));
      if (!got) return got.error();
      if (got->body.size() != kObjectBytes) return Error::DataLoss("short GET");
      return OkStatus();
    }));
    get.Add(m);
    ESPER_ASSIGN_OR_RETURN(m, Loop(slice, 1, [&](int, uint64_t i) { return BareGet(floor_dir, i, true); }));
    get_floor.Add(m);
    ESPER_ASSIGN_OR_RETURN(m, Loop(slice, 1, [&](int, uint64_t i) -> Status {
      return store->Stat(bucket, fmt::format("k/{}", i % kKeys)).map([](auto&&) {});
    }));
    head.Add(m);
    ESPER_ASSIGN_OR_RETURN(m, Loop(slice, 1, [&](int, uint64_t i) { return BareGet(floor_dir, i, false); }));
    head_floor.Add(m);
    ESPER_ASSIGN_OR_RETURN(m, Pipelined(16, slice, [&](uint64_t i, std::function<void(Status)> done) {
      return store->PutAsync(bucket, fmt::format("async/{}", i % kKeys), PutBody::FromShared(data), {},
                             [done = std::move(done)](Result<storage::ObjectInfo> stored) {
                               done(stored ? OkStatus() : Status(stored.error()));
                             });
    }));
    async.Add(m);
    ESPER_ASSIGN_OR_RETURN(m, Loop(slice, store->options().threads,
                                   [&](int t, uint64_t i) { return BarePut(floor_dir, t, i, *data); }));
    async_floor.Add(m);
  }

  const std::string method = fmt::format("{} on {}; median of {} interleaved {} ms rounds", "LocalStore",
                                         fs_name, rounds, slice.count());
  struct Case {
    const char* name;
    const Samples& ours;
    const Samples& floor;
    const char* floor_name;
    std::string note;
  };
  const std::vector<Case> cases = {
      {"PUT 4 KiB, 1 in flight", put, put_floor, "write+fsync+rename+fsync(dir) loop",
       "fsync'd (LocalStoreOptions::fsync, the default): the disk's flush sets the pace; " + method},
      {"GET 4 KiB, 1 in flight", get, get_floor, "open+read+close loop", method},
      {"HEAD 4 KiB, 1 in flight", head, head_floor, "open+fstat+close loop",
       "HEAD also reads the object's header (size, MD5, metadata); " + method},
      {"PUT 4 KiB, 16 in flight (4 workers)", async, async_floor, "the same bare loop on 4 threads",
       "PutAsync on the store's 4 workers; " + method},
  };
  for (const Case& c : cases) {
    const Throughput ours = c.ours.Median(), floor = c.floor.Median();
    ctx.Add(Row{.part = "storage",
                .metric = "operations/s",
                .case_name = std::string("LocalStore ") + c.name,
                .unit = "ops/s",
                .value = ours.per_second,
                .lower_is_better = false,
                .peer = c.floor_name,
                .peer_value = floor.per_second,
                .target = "",
                .pass = std::nullopt,
                .note = c.note});
    ctx.Add(Row{.part = "storage",
                .metric = "client CPU per operation",
                .case_name = std::string("LocalStore ") + c.name,
                .unit = "us",
                .value = ours.cpu_us_per_op,
                .lower_is_better = true,
                .peer = c.floor_name,
                .peer_value = floor.cpu_us_per_op,
                .target = "",
                .pass = std::nullopt,
                .note = "user+system CPU of the whole process (every thread) per operation, getrusage"});
  }
  return OkStatus();
}

}  // namespace esper::bench
