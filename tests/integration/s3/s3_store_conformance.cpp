// S3Store joins the ObjectStore conformance suite (tests/integration/storage/conformance.h) on
// both real S3 servers, each started on 127.0.0.1 by this process (once, for all its tests), a
// fresh bucket per test. What a server gets wrong is declared with what it does: those checks
// report the deviation (and say so if the server stops deviating); every other check holds.
// s3_store_test.cpp shows, for each declared deviation, that the store sent what S3 specifies.
#include <fmt/format.h>

#include <atomic>
#include <mutex>

#include "esper/s3/s3_store.h"
#include "integration/storage/conformance.h"
#include "testing/s3_store_options.h"
#include "testing/s3_test_server.h"

namespace esper::storage::testing {
namespace {

using esper::testing::S3ServerKind;
using esper::testing::S3TestServer;

Result<std::shared_ptr<S3TestServer>> SharedServer(S3ServerKind kind) {
  static std::mutex mu;
  static std::shared_ptr<S3TestServer> servers[3];
  std::lock_guard lock(mu);
  auto& s = servers[static_cast<int>(kind)];
  if (!s) {
    ESPER_ASSIGN_OR_RETURN(std::unique_ptr<S3TestServer> started, S3TestServer::Start({.kind = kind}));
    s = std::move(started);
  }
  return s;
}

Result<StoreUnderTest> MakeS3Store(S3ServerKind kind) {
  ESPER_ASSIGN_OR_RETURN(std::shared_ptr<S3TestServer> server, SharedServer(kind));
  s3::S3StoreOptions o = esper::testing::StoreOptionsFor(*server);
  o.http.retry.base_delay = std::chrono::milliseconds(5);
  // s3rver answers 500 to a key with a segment over 255 bytes (its files' NAME_MAX): a key shape
  // it cannot hold (KeyShapesWrong), which would open the endpoint's breaker for the rest of the
  // case. The breaker has its own tests (s3_store_test.cpp); here it would only hide checks.
  o.http.breaker_per_host = false;
  ESPER_ASSIGN_OR_RETURN(std::unique_ptr<s3::S3Store> store, s3::S3Store::Create(std::move(o)));
  static std::atomic<int> counter{0};
  const std::string bucket = fmt::format("conformance-{}-{}", ::getpid(), counter.fetch_add(1));
  ESPER_RETURN_IF_ERROR(store->CreateBucket(bucket));
  return StoreUnderTest{.store = std::move(store), .bucket = bucket, .resources = server};
}

// Measured with this suite and shown request by request in s3_store_test.cpp (S3rver4Deviation.*,
// FauxqsDeviation.*: what the store sent, and what the server did with it).
const bool kS3rver4 = RegisterStoreFactory({
    .name = "S3StoreOnS3rver404",
    .make = [] { return MakeS3Store(S3ServerKind::kS3rver4); },
    .deviations = {
        {std::string(kKeyShapesWrong),
         "s3rver 4.0.4 refuses keys with an empty segment (a//b, //, /leading: 404 NoSuchKey, no route) and keys "
         "with a segment over 255 bytes (500 InternalError: its file names), "
         "stores keys with . or .. segments under the resolved path (a/../b is listed as b) and lists & and ' "
         "escaped twice (&amp; comes back as the key's text)"},
        {std::string(kRangeEndingAtZeroWrong), "s3rver 4.0.4 reads bytes=0-0 as 'from 0' (its end 0 is falsy) and serves the whole object"},
        {std::string(kSuffixRangeWrong), "s3rver 4.0.4 serves bytes=-N from the start of the object"},
        {std::string(kInvalidRangeNotReported),
         "s3rver 4.0.4 answers bytes=0-0 of an empty object 206 'bytes 0-0/0' with Content-Length 1 and no byte (the "
         "store sees a truncated body, retried)"},
        {std::string(kGetIfMatchIgnored), "s3rver 4.0.4 ignores If-Match on GET"},
        {std::string(kCreateOnlyIgnored), "s3rver 4.0.4 ignores If-None-Match: * on PUT"},
        {std::string(kPutIfMatchIgnored), "s3rver 4.0.4 ignores If-Match on PUT"},
        {std::string(kTruncatedPutStored), "s3rver 4.0.4 stores the bytes of a PUT the client abandoned mid-body"},
        {std::string(kListPagesWrong), "s3rver 4.0.4's continuation tokens skip keys with small pages, and a page with a delimiter holds more "
         "entries than max-keys (it counts keys and prefixes apart)"},
        {std::string(kCopySourceIfMatchIgnored), "s3rver 4.0.4 ignores x-amz-copy-source-if-match"},
    },
});

const bool kFauxqs = RegisterStoreFactory({
    .name = "S3StoreOnFauxqs192",
    .make = [] { return MakeS3Store(S3ServerKind::kFauxqs); },
    .deviations = {
        {std::string(kEmptyMetadataValueDropped), "fauxqs 1.9.2 drops x-amz-meta-* headers whose value is empty"},
        {std::string(kSuffixRangeWrong), "fauxqs 1.9.2 does not serve bytes=-N larger than the object as the whole object"},
        {std::string(kCreateOnlyIgnored), "fauxqs 1.9.2 ignores If-None-Match: * on PUT"},
        {std::string(kPutIfMatchIgnored), "fauxqs 1.9.2 ignores If-Match on PUT"},
        {std::string(kListPagesWrong),
         "fauxqs 1.9.2 sorts listings with localeCompare (not byte order) and continues after the token's key in "
         "byte order, so pages skip and repeat keys; a malformed continuation token is read as a key (no error)"},
        {std::string(kCopyReplaceKeepsContentType), "fauxqs 1.9.2 keeps the source's Content-Type on a REPLACE copy"},
        {std::string(kCopySourceIfMatchIgnored), "fauxqs 1.9.2 ignores x-amz-copy-source-if-match"},
        {std::string(kCreateExistingBucketSucceeds), "fauxqs 1.9.2 answers 200 to creating a bucket that exists"},
    },
});

}  // namespace
}  // namespace esper::storage::testing
