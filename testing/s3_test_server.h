// The real S3-protocol servers the tests and the benchmarks run against, each started on
// 127.0.0.1 with a port the kernel picks, waited for until it answers, and stopped (the whole
// node process, killed if need be) when the object is destroyed:
//   kS3rver4   @20minutes/s3rver 4.0.4 — verifies SigV4 (header and presigned); keys S3RVER/S3RVER
//   kS3rver3   s3rver 3.7.1            — verifies no signature at all
//   kFauxqs    fauxqs 1.9.2            — multipart with AWS's ETag rules, abort; no signature check;
//                                        listens on 0.0.0.0 (it cannot be told otherwise)
// scripts/setup installs them into build/tools (ESPER_TOOLS_DIR overrides where they are looked
// for). Both s3rver versions run under node --openssl-legacy-provider: without it their
// ListObjectsV2 continuation tokens fail on Node >= 17. docs/s3.md lists what each gets wrong.
//
//   auto server = esper::testing::S3TestServer::Start({.kind = esper::testing::S3ServerKind::kS3rver4,
//                                                      .buckets = {"bucket"}});
//   ASSERT_TRUE(server) << server.error();       // says "run scripts/setup" when it is missing
//   std::string endpoint = (*server)->endpoint(); // "http://127.0.0.1:41234"
//
// Thread safety: Start from one thread; the accessors are const. The server runs as a
// ChildProcess (process.h): killed with the test if the test dies, stopped (SIGTERM, then
// SIGKILL) with its whole process group when this object is destroyed.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "esper/core/result.h"
#include "testing/process.h"

namespace esper::testing {

enum class S3ServerKind { kS3rver4, kS3rver3, kFauxqs };

/// "s3rver 4.0.4", "s3rver 3.7.1", "fauxqs 1.9.2".
const char* S3ServerName(S3ServerKind kind);

class S3TestServer {
 public:
  struct Options {
    S3ServerKind kind = S3ServerKind::kS3rver4;
    /// Buckets created before the server answers.
    std::vector<std::string> buckets{};
    /// How long to wait for "listening" and a first answer.
    int start_timeout_ms = 30000;
  };

  /// Starts the server. Errors: NotFound (with "run scripts/setup") when the server or node is
  /// not installed; Unavailable when it did not come up (its log's last lines in the message).
  static Result<std::unique_ptr<S3TestServer>> Start(Options options);
  ~S3TestServer();
  S3TestServer(const S3TestServer&) = delete;
  S3TestServer& operator=(const S3TestServer&) = delete;

  /// "http://127.0.0.1:<port>".
  std::string endpoint() const;
  int port() const { return port_; }
  S3ServerKind kind() const { return kind_; }
  /// The credentials the server accepts: s3rver's fixed S3RVER / S3RVER (fauxqs accepts any).
  static constexpr const char* kAccessKey = "S3RVER";
  static constexpr const char* kSecretKey = "S3RVER";
  /// The region the servers sign for.
  static constexpr const char* kRegion = "us-east-1";
  /// Where the npm servers are installed (ESPER_TOOLS_DIR, else <source>/build/tools).
  static std::string ToolsDir();
  /// The server's own output so far (its log file).
  std::string Log() const;
  /// The server's process (node), e.g. to read its CPU time (proc.h).
  pid_t pid() const { return process_.pid(); }

 private:
  S3TestServer() = default;
  S3ServerKind kind_ = S3ServerKind::kS3rver4;
  ChildProcess process_;  // node, in a process group of its own, killed if we die
  int port_ = 0;
  std::string dir_{};  // temporary directory: data and log
};

}  // namespace esper::testing
