// How far `esper s3 cp` / `mv` have got, on stderr: a bar redrawn in place when stderr is a
// terminal, a plain line every few seconds with -v otherwise, nothing with --quiet or when a
// transfer is over within the first second.
//
//   Progress progress(Progress::StyleFor(verbose, quiet));
//   progress.Expect(1, size);           // totals, as they become known
//   progress.Bytes(n);                  // bytes moved, from any thread (stream readers/writers)
//   progress.FileDone(size_if_not_counted);
//   progress.Say("upload: a to s3://b/a\n");   // a result line on stdout, under the bar
//
// Where bytes are counted: stdin and stdout streams where the CLI reads or writes them; an S3
// upload from or download into a file through S3Store's progress callback (TransferOptions), as
// the server confirms parts or ranges land; anything else (LocalStore) when the file is done.
//
// Thread safety: every method from any thread. A ticker thread (owned, joined by the destructor)
// draws; the destructor clears the bar.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace esper::cli::s3cmd {

class Progress {
 public:
  enum class Style {
    kNone,   // --quiet, or stderr is not a terminal and no -v
    kLines,  // -v without a terminal: "progress: …" every few seconds
    kBar,    // stderr is a terminal: one line redrawn in place
  };
  static Style StyleFor(int verbose, bool quiet);

  explicit Progress(Style style);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  /// Adds to the totals: `files` more files of `bytes` bytes in all (bytes may be 0: unknown).
  void Expect(uint64_t files, uint64_t bytes);
  /// `n` more bytes moved.
  void Bytes(uint64_t n);
  /// One file done; `uncounted` of its bytes were not given to Bytes().
  void FileDone(uint64_t uncounted);
  /// Writes `line` to stdout (the bar is cleared first and redrawn later).
  void Say(std::string_view line);

  /// "1.5 MiB", "12 B".
  static std::string HumanBytes(uint64_t n);

 private:
  void Run();
  std::string LineLocked(std::chrono::steady_clock::time_point now) const;

  const Style style_;
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool drawn_ = false;  // a bar is on the terminal now
  uint64_t files_total_ = 0, files_done_ = 0, bytes_total_ = 0, bytes_done_ = 0;
  std::thread ticker_;
};

}  // namespace esper::cli::s3cmd
