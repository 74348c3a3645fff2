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
#include <optional>
#include <string>
#include <vector>

#include "esper/core/result.h"
#include "esper/storage/object_store.h"
#include "testing/http_server.h"
#include "testing/process.h"
#include "testing/s3_test_server.h"

namespace esper::cli::s3test {

enum class Backend { kS3rver4, kFauxqs, kLocal };

/// "S3rver4", "Fauxqs", "Local" (test name suffixes).
std::string BackendName(Backend b);
/// BackendName of a parameter, for INSTANTIATE_TEST_SUITE_P.
std::string BackendTestName(const ::testing::TestParamInfo<Backend>& p);

/// The bucket S3CliStoreTest creates.
inline constexpr const char* kBucket = "bkt";

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
  /// `esper s3 <args> --endpoint-url <endpoint>`: this store's, or `endpoint` (a stand-in server).
  testing::ProcessResult Esper(std::vector<std::string> args, const std::string& stdin_data = "",
                               const std::vector<std::string>& extra_env = {},
                               const std::optional<std::string>& endpoint = std::nullopt) const;
  /// `/usr/bin/aws --endpoint-url <endpoint> <args>` (S3 backends only).
  testing::ProcessResult Aws(std::vector<std::string> args, const std::vector<std::string>& extra_env = {}) const;
  /// The argv of Esper(), for a ChildProcess.
  std::vector<std::string> EsperArgv(std::vector<std::string> args,
                                     const std::optional<std::string>& endpoint = std::nullopt) const {
    return EsperArgvAt(std::move(args), endpoint.value_or(endpoint_));
  }
  /// `esper s3 <args> --endpoint-url <endpoint>`'s argv, for a test without an S3Cli.
  static std::vector<std::string> EsperArgvAt(std::vector<std::string> args, const std::string& endpoint);

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

/// A test on one backend with kBucket: objects put, read and checked through the library.
class S3CliStoreTest : public ::testing::Test {
 protected:
  /// Starts `backend` with kBucket into s_ (a fatal failure when it cannot).
  void Start(Backend backend);
  /// Puts an object into kBucket through the library.
  void Put(const std::string& key, const std::string& data, storage::PutOptions options = {});
  /// kBucket/key's body, or "<the error>".
  std::string Get(const std::string& key);
  bool Exists(const std::string& bucket, const std::string& key);

  std::unique_ptr<S3Cli> s_;
};

/// S3CliStoreTest on the backend of the test's parameter.
class S3CliBackendTest : public S3CliStoreTest, public ::testing::WithParamInterface<Backend> {
 protected:
  void SetUp() override { Start(GetParam()); }
};

/// A stand-in server's 200 to a GET of an object: `body`, with the ETag of `etag_of` (default:
/// of `body`; another for a corrupted body), a content type, a last-modified and request id REQ-OK.
testing::Reply ObjectReply(const std::string& body, const std::optional<std::string>& etag_of = std::nullopt);

/// How many attempts -v shows ("> GET /…" request lines of `method`).
size_t Attempts(const std::string& err, std::string_view method = "GET");

/// `argv` as one /bin/sh command line, each argument single-quoted.
std::string ShellCommand(const std::vector<std::string>& argv);

/// The whole content of a file ("" when it cannot be read).
std::string ReadFile(const std::string& path);
/// Writes `data` to `path` (creating it).
void WriteFile(const std::string& path, const std::string& data);

}  // namespace esper::cli::s3test
