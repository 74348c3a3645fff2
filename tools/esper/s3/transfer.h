// One object's transfer, as a Job for Session::RunJobs: upload (a file, a FIFO or stdin to
// s3://), download (s3:// to a file, a device or FIFO, or stdout), server-side copy (s3:// to
// s3://), and for `mv` the removal of the source once the copy is complete. Each job says what
// it did on stdout as `aws s3` does ("upload: a.bin to s3://b/a.bin"; nothing for stdin and
// stdout) and feeds the Progress.
//
// Streaming, never the whole object in memory:
//   * stdin and FIFOs are read as they arrive (a regular file behind stdin is sent with its size,
//     rewound on a retry). A pipe is sent with --expected-size when given; else an S3Store
//     sends one of at most 16 MiB as one PUT and a longer one in parts as it is read (parts
//     growing every 1,000 of them: up to 8 TiB); LocalStore streams any length.
//   * downloads into a file go to a temporary file beside it, renamed over it once complete and
//     checked (an interrupted, truncated or corrupted download leaves no file; the store retries
//     a truncated or corrupted body); into stdout, a device or a FIFO they are written as they
//     arrive (a failure after some bytes is an error: what was written cannot be taken back).
//
// Thread safety: a Transfers is built on the command's thread; its jobs' completions run on the
// store's threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "esper/storage/object.h"
#include "s3/progress.h"
#include "s3/session.h"

namespace esper::cli::s3cmd {

struct TransferSettings {
  /// --content-type; empty: guessed from the file name (uploads), kept (copies).
  std::string content_type{};
  bool guess_content_type = true;  // --no-guess-mime-type turns it off
  /// --metadata; given (even empty) replaces the metadata of a copy.
  storage::Metadata metadata{};
  bool metadata_given = false;
  /// --expected-size: the size of what stdin or a FIFO will deliver.
  std::optional<uint64_t> expected_size{};
  /// mv: remove the source once the copy is complete.
  bool move = false;
  /// --quiet: no "upload: …" lines.
  bool quiet = false;
};

class Transfers {
 public:
  Transfers(Session& session, Progress& progress, TransferSettings settings);

  /// `path` ("-": stdin) to bucket/key. `size`: given by a directory walk, which found a
  /// regular file of that size (not looked at again); nullopt: look what `path` is.
  Job Upload(std::string path, std::string bucket, std::string key, std::optional<uint64_t> size = std::nullopt);
  /// bucket/key to `path` ("-": stdout). `size`: from a listing (0: unknown), for the progress.
  Job Download(std::string bucket, std::string key, std::string path, uint64_t size = 0);
  /// Server-side copy.
  Job Copy(storage::ObjectRef source, storage::ObjectRef destination, uint64_t size = 0);

 private:
  // mv's removal of bucket/key once it is `what` ("downloaded", "copied"), for Finish.
  std::function<void(std::function<void(Status)>)> RemoveObject(std::string bucket, std::string key,
                                                                std::string_view what);
  // After a transfer: the line, the progress, the source removed for mv, then `done`.
  void Finish(std::string line, uint64_t uncounted, std::function<void(std::function<void(Status)>)> remove_source,
              const std::function<void(Status)>& done);

  Session& session_;
  Progress& progress_;
  const TransferSettings settings_;
};

}  // namespace esper::cli::s3cmd
