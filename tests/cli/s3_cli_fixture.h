// What the `esper s3` end-to-end tests share: a store to run against — s3rver 4.0.4 or fauxqs
// 1.9.2 on 127.0.0.1 (testing/s3_test_server.h), or a LocalStore directory (file://) — a
// private HOME and AWS environment (never the developer's ~/.aws, never IMDS at 169.254.169.254),
// and ways to run the built `esper s3 …` and Debian's `/usr/bin/aws` against it.
//
//   auto s = S3Cli::Start(Backend::kS3rver4, {"bkt"});
//   ASSERT_TRUE(s) << s.error();
//   auto r = (*s)->Esper({"ls", "s3://bkt"});            // --endpoint-url added
//   EXPECT_EQ(r.exit_code, 0) << r.err;
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "esper/core/result.h"
#include "esper/storage/object_store.h"
#include "testing/process.h"
#include "testing/s3_test_server.h"

namespace esper::cli::s3test {

enum class Backend { kS3rver4, kFauxqs, kLocal };

/// "S3rver4", "Fauxqs", "Local" (test name suffixes).
std::string BackendName(Backend b);

class S3Cli {
 public:
  /// Starts the backend with `buckets` created, and a temporary directory for HOME and files.
  static Result<std::unique_ptr<S3Cli>> Start(Backend backend, const std::vector<std::string>& buckets);
  ~S3Cli();

  Backend backend() const { return backend_; }
  bool is_s3() const { return backend_ != Backend::kLocal; }
  /// "http://127.0.0.1:PORT" or "file:///tmp/…/store".
  const std::string& endpoint() const { return endpoint_; }
  /// A scratch directory of this test (removed at the end).
  const std::string& dir() const { return dir_; }
  /// dir() + "/" + name.
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  /// The environment esper and aws run with: HOME=dir(), the servers' keys, us-east-1, IMDS off,
  /// every AWS_* variable that could redirect them blanked. `extra` entries ("K=V") come last.
  std::vector<std::string> Env(const std::vector<std::string>& extra = {}) const;
  /// `esper s3 <args> --endpoint-url <endpoint>`.
  testing::ProcessResult Esper(std::vector<std::string> args, const std::string& stdin_data = "",
                               const std::vector<std::string>& extra_env = {}) const;
  /// `/usr/bin/aws --endpoint-url <endpoint> <args>` (S3 backends only).
  testing::ProcessResult Aws(std::vector<std::string> args, const std::vector<std::string>& extra_env = {}) const;
  /// The argv of Esper(), for a ChildProcess.
  std::vector<std::string> EsperArgv(std::vector<std::string> args) const;

  /// A store of the library on the same backend, to set up or check objects without the CLI.
  storage::ObjectStore& store() { return *store_; }

 private:
  S3Cli() = default;
  Backend backend_ = Backend::kLocal;
  std::unique_ptr<testing::S3TestServer> server_;
  std::string endpoint_;
  std::string dir_;
  std::unique_ptr<storage::ObjectStore> store_;
};

/// The whole content of a file ("" when it cannot be read).
std::string ReadFile(const std::string& path);
/// Writes `data` to `path` (creating it).
void WriteFile(const std::string& path, const std::string& data);

}  // namespace esper::cli::s3test
