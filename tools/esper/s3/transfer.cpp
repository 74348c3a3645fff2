#include "s3/transfer.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "cli.h"
#include "output.h"
#include "esper/s3/s3_store.h"
#include "s3/content_type.h"
#include "s3/location.h"

namespace esper::cli::s3cmd {
namespace {

namespace fs = std::filesystem;
using storage::GetTarget;
using storage::PutBody;

// errno, read before anything else can change it, with what failed.
template <class... Args>
Error Errno(fmt::format_string<Args...> what, Args&&... args) {
  const int err = errno;
  return Error::FromErrno(err, fmt::format(what, std::forward<Args>(args)...));
}

// A descriptor a job reads or writes, closed when the last of its users (the body or target
// and the completion) is gone.
struct Fd {
  Fd(int d, bool own, std::string n) : fd(d), owned(own), name(std::move(n)) {}
  ~Fd() {
    if (owned && fd >= 0) close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  const int fd;
  const bool owned;        // opened here (not stdin / stdout): closed here
  const std::string name;  // for messages: "stdin", the path
  off_t start = 0;         // where a seekable input began (a retry rewinds to it)
};

// Reads as bytes arrive, and gives up at once on an interrupt (a pipe may never deliver more).
PutBody::ReadFn Reader(std::shared_ptr<Fd> in, Progress& progress) {
  return [in, &progress](char* buf, size_t cap) -> Result<size_t> {
    for (;;) {
      if (Interrupted()) return Error::Cancelled(fmt::format("read {}: interrupted", in->name));
      pollfd p{in->fd, POLLIN, 0};
      const int ready = poll(&p, 1, 100);
      if (ready < 0 && errno != EINTR) return Errno("poll {}", in->name);
      if (ready <= 0) continue;
      const ssize_t n = read(in->fd, buf, cap);
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        return Errno("read {}", in->name);
      }
      progress.Bytes(static_cast<uint64_t>(n));
      return static_cast<size_t>(n);
    }
  };
}

// stdin or a FIFO / device path as a put body: with its size when it is a regular file behind
// stdin (and then rewindable), or the size the user promised, or none.
Result<PutBody> StreamBody(std::shared_ptr<Fd> in, std::optional<uint64_t> expected, Progress& progress) {
  struct stat st {};
  if (fstat(in->fd, &st) != 0) return Errno("stat {}", in->name);
  if (S_ISREG(st.st_mode)) {
    in->start = lseek(in->fd, 0, SEEK_CUR);
    if (in->start >= 0) {
      const uint64_t size = static_cast<uint64_t>(st.st_size > in->start ? st.st_size - in->start : 0);
      progress.Expect(0, size);
      return PutBody::FromStream(Reader(in, progress), size, [in]() -> Status {
        if (lseek(in->fd, in->start, SEEK_SET) < 0) return Errno("rewind {}", in->name);
        return OkStatus();
      });
    }
  }
  if (expected) progress.Expect(0, *expected);
  return PutBody::FromStream(Reader(in, progress), expected);
}

// Writes every byte of `chunk` to `out`.
Status WriteAll(const Fd& out, std::string_view chunk) {
  while (!chunk.empty()) {
    const ssize_t n = write(out.fd, chunk.data(), chunk.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("write {}", out.name);
    }
    chunk.remove_prefix(static_cast<size_t>(n));
  }
  return OkStatus();
}

std::string Shown(const std::string& path) { return path == "-" ? "stdout" : path; }

// The library's progress reports for one transfer (cumulative `done`, on the store's loop thread)
// as Progress::Bytes increments; `counted` is what was passed on, for FileDone's remainder. A
// report lower than the last (a range fetched again) adds nothing until it is passed.
struct Fed {
  uint64_t counted = 0;
};
s3::TransferOptions Feeding(Progress& progress, const std::shared_ptr<Fed>& fed) {
  return s3::TransferOptions{.progress = [&progress, fed](uint64_t done, uint64_t) {
    if (done <= fed->counted) return;
    progress.Bytes(done - fed->counted);
    fed->counted = done;
  }};
}

}  // namespace

Transfers::Transfers(Session& session, Progress& progress, TransferSettings settings)
    : session_(session), progress_(progress), settings_(std::move(settings)) {}

void Transfers::Finish(std::string line, uint64_t uncounted,
                       std::function<void(std::function<void(Status)>)> remove_source,
                       const std::function<void(Status)>& done) {
  auto complete = [this, line = std::move(line), uncounted, done](Status st) {
    if (!st) {
      done(st);
      return;
    }
    progress_.FileDone(uncounted);
    if (!settings_.quiet && !line.empty()) progress_.Say(line + "\n");
    done(OkStatus());
  };
  if (settings_.move && remove_source) {
    remove_source(std::move(complete));
  } else {
    complete(OkStatus());
  }
}

std::function<void(std::function<void(Status)>)> Transfers::RemoveObject(std::string bucket, std::string key,
                                                                         std::string_view what) {
  return [this, bucket = std::move(bucket), key = std::move(key), what = std::string(what)](
             std::function<void(Status)> next) {
    Status started = session_.store().DeleteAsync(bucket, key, [next, what](Status deleted) {
      next(deleted ? deleted : std::move(deleted.error()).Wrap(fmt::format("{}, but could not delete the source", what)));
    });
    if (!started) next(started);
  };
}

Job Transfers::Upload(std::string path, std::string bucket, std::string key, std::optional<uint64_t> size) {
  return [this, path = std::move(path), bucket = std::move(bucket), key = std::move(key), size](
             std::function<void(Status)> done) -> Status {
    storage::PutOptions options{.content_type = settings_.content_type, .metadata = settings_.metadata};
    std::optional<PutBody> body;
    uint64_t uncounted = 0;
    if (path == "-") {
      ESPER_ASSIGN_OR_RETURN(body, StreamBody(std::make_shared<Fd>(STDIN_FILENO, false, "stdin"),
                                              settings_.expected_size, progress_));
    } else {
      if (options.content_type.empty() && settings_.guess_content_type) options.content_type = GuessContentType(path);
      struct stat st {};
      if (!size) {
        if (stat(path.c_str(), &st) != 0) return Errno("upload {}", path);
        if (S_ISDIR(st.st_mode)) return UsageError(fmt::format("{} is a directory: add --recursive", path));
      }
      if (size || S_ISREG(st.st_mode)) {
        body = PutBody::FromFile(path);
        uncounted = size ? *size : static_cast<uint64_t>(st.st_size);
        progress_.Expect(0, uncounted);
      } else {  // a FIFO, a device, /dev/stdin, <(command): read as it comes
        const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return Errno("open {}", path);
        ESPER_ASSIGN_OR_RETURN(body, StreamBody(std::make_shared<Fd>(fd, true, path),
                                                settings_.expected_size, progress_));
      }
    }
    progress_.Expect(1, 0);
    const std::string line = path == "-" ? "" : fmt::format("{}: {} to {}", settings_.move ? "move" : "upload", path,
                                                            S3Uri(bucket, key));
    auto remove = [path](std::function<void(Status)> next) {
      if (unlink(path.c_str()) != 0) {
        next(Errno("uploaded, but could not remove {}", path));
      } else {
        next(OkStatus());
      }
    };
    const bool sizeless = body->kind() == PutBody::Kind::kStream && !body->known_size();
    // A file's bytes are counted as the server confirms them (an S3 multipart upload part by
    // part); a stream's are counted by its reader.
    auto fed = std::make_shared<Fed>();
    auto completed = [this, path, line, uncounted, remove, done, sizeless, fed](Result<storage::ObjectInfo> r) {
      if (!r) {
        Error e = r.error();
        if (sizeless && e.code() == ErrorCode::kResourceExhausted) {
          // Longer than a sizeless stream's 10,000 growing parts: a size lets the part size fit.
          e.Wrap(fmt::format("{} (give its size with --expected-size BYTES)", path == "-" ? "stdin" : path));
        }
        done(e);
        return;
      }
      Finish(line, uncounted - std::min(uncounted, fed->counted), remove, done);
    };
    if (s3::S3Store* s3 = session_.s3_store(); s3 && body->kind() == PutBody::Kind::kFile) {
      return s3->UploadAsync(bucket, key, std::move(*body), std::move(options), Feeding(progress_, fed),
                             std::move(completed));
    }
    return session_.store().PutAsync(bucket, key, std::move(*body), std::move(options), std::move(completed));
  };
}

Job Transfers::Download(std::string bucket, std::string key, std::string path, uint64_t size) {
  return [this, bucket = std::move(bucket), key = std::move(key), path = std::move(path), size](
             std::function<void(Status)> done) -> Status {
    storage::GetOptions options;
    std::shared_ptr<Fd> out;
    bool to_file = false;
    struct stat st {};
    if (path == "-") {
      options.target = GetTarget::ToStream([this](std::string_view chunk) -> Status {
        if (!Write(chunk)) {
          Status why = FlushOutput();
          return why ? Error::Unknown("write to stdout failed") : why.error();
        }
        progress_.Bytes(chunk.size());
        return OkStatus();
      });
    } else if (stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
      // /dev/null, a FIFO, a terminal: written as it comes, never replaced by a renamed file.
      const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0) return Errno("open {}", path);
      out = std::make_shared<Fd>(fd, true, path);
      options.target = GetTarget::ToStream([this, out](std::string_view chunk) -> Status {
        ESPER_RETURN_IF_ERROR(WriteAll(*out, chunk));
        progress_.Bytes(chunk.size());
        return OkStatus();
      });
    } else {
      const fs::path parent = fs::path(path).parent_path();
      std::error_code ec;
      if (!parent.empty()) fs::create_directories(parent, ec);
      if (ec) return Error::FromErrno(ec.value(), fmt::format("create directory {}", parent.string()));
      options.target = GetTarget::ToFile(path);
      to_file = true;
    }
    progress_.Expect(1, size);
    const std::string line = path == "-" ? "" : fmt::format("{}: {} to {}", settings_.move ? "move" : "download",
                                                            S3Uri(bucket, key), Shown(path));
    auto remove = RemoveObject(bucket, key, "downloaded");
    auto fed = std::make_shared<Fed>();
    auto completed = [this, line, to_file, out, remove, done, fed](Result<storage::GetResult> r) {
      if (!r) {
        done(r.error());
        return;
      }
      Finish(line, to_file ? r->length - std::min(r->length, fed->counted) : 0, remove, done);
    };
    if (s3::S3Store* s3 = session_.s3_store(); s3 && to_file) {
      return s3->DownloadAsync(bucket, key, path, std::move(options), Feeding(progress_, fed), std::move(completed));
    }
    return session_.store().GetAsync(bucket, key, std::move(options), std::move(completed));
  };
}

Job Transfers::Copy(storage::ObjectRef source, storage::ObjectRef destination, uint64_t size) {
  return [this, source = std::move(source), destination = std::move(destination), size](
             std::function<void(Status)> done) -> Status {
    storage::CopyOptions options;
    // --content-type or --metadata replace what the copy carries (S3's REPLACE directive).
    options.replace_metadata = !settings_.content_type.empty() || settings_.metadata_given;
    options.content_type = settings_.content_type;
    options.metadata = settings_.metadata;
    progress_.Expect(1, size);
    const std::string line = fmt::format("{}: {} to {}", settings_.move ? "move" : "copy",
                                         S3Uri(source.bucket, source.key), S3Uri(destination.bucket, destination.key));
    auto remove = RemoveObject(source.bucket, source.key, "copied");
    auto copy = [this, source, destination, line, size, remove, done](storage::CopyOptions o) {
      return session_.store().CopyAsync(source, destination, std::move(o),
                                        [this, line, size, remove, done](Result<storage::ObjectInfo> r) {
                                          if (!r) {
                                            done(r.error());
                                            return;
                                          }
                                          Finish(line, size, remove, done);
                                        });
    };
    if (!options.replace_metadata || (!options.content_type.empty() && settings_.metadata_given)) {
      return copy(std::move(options));
    }
    // Replacing one of the two keeps the other: the source's, from a HEAD first.
    return session_.store().StatAsync(
        source.bucket, source.key, [options, copy, done, this](Result<storage::ObjectInfo> info) mutable {
          if (!info) {
            done(info.error());
            return;
          }
          if (options.content_type.empty()) options.content_type = info->content_type;
          if (!settings_.metadata_given) options.metadata = info->metadata;
          if (Status st = copy(std::move(options)); !st) done(st);
        });
  };
}

}  // namespace esper::cli::s3cmd
