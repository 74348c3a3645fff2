// The ObjectStore conformance suite: every promise of esper/storage/object_store.h, run against
// every store registered in the test executable.
//
// A store joins by registering a factory from any source file linked into a test executable
// that also links the `esper_storage_conformance` object library (which brings the cases and
// main()):
//
//   #include "integration/storage/conformance.h"
//   namespace {
//   const bool kRegistered = esper::storage::testing::RegisterStoreFactory({
//       .name = "s3rver404",            // [A-Za-z0-9]: becomes the test suite's name
//       .make = [] () -> esper::Result<esper::storage::testing::StoreUnderTest> {
//         // start (or reuse) the server, make an S3Store, create a fresh empty bucket
//       },
//       .deviations = {{esper::storage::testing::kSuffixRangeWrong,
//                       "s3rver 4.0.4 serves bytes=-N from the start"}},
//   });
//   }  // namespace
//
//   # CMakeLists.txt
//   esper_add_test(NAME esper_s3_conformance_test SOURCES s3_conformance.cpp
//                  DEPS esper::s3 esper_storage_conformance LABELS integration)
//
// Every (store, case) pair becomes one test, named Conformance_<store>.<Case>. A store that
// declares a known server deviation the case touches runs the case anyway, under the name
// Conformance_<store>.<Case>_KnownDeviation_<Tag>: the checks marked with that tag report what
// the server did (and whether it still deviates) instead of failing, every other check of the
// case still holds, and the test never skips. A declared tag that no case knows fails
// Conformance_<store>.DeclaredDeviationsAreKnown, so a typo cannot silence a check.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "esper/core/result.h"
#include "esper/storage/object_store.h"

namespace esper::storage::testing {

// Known server deviations a store may declare (the tag → what the server does wrong).
/// A suffix range (bytes=-N) is not served as the last N bytes.
inline constexpr std::string_view kSuffixRangeWrong = "SuffixRangeWrong";
/// PUT with If-None-Match: * overwrites an existing object (create_only is not enforced).
inline constexpr std::string_view kCreateOnlyIgnored = "CreateOnlyIgnored";
/// PUT with If-Match is not checked (the object is replaced whatever its ETag).
inline constexpr std::string_view kPutIfMatchIgnored = "PutIfMatchIgnored";
/// Keys with control characters (0x01-0x1F, 0x7F) do not round-trip.
inline constexpr std::string_view kControlCharKeysWrong = "ControlCharKeysWrong";
/// GET with If-None-Match matching the ETag is not answered 304.
inline constexpr std::string_view kGetIfNoneMatchIgnored = "GetIfNoneMatchIgnored";
/// GET with If-Match not matching the ETag is not answered 412.
inline constexpr std::string_view kGetIfMatchIgnored = "GetIfMatchIgnored";
/// CopyObject's x-amz-copy-source-if-match is not checked.
inline constexpr std::string_view kCopySourceIfMatchIgnored = "CopySourceIfMatchIgnored";
/// A range starting past the end is not answered 416 InvalidRange.
inline constexpr std::string_view kInvalidRangeNotReported = "InvalidRangeNotReported";
/// Some key shapes do not round-trip (each check names its key): refused, stored under another
/// key (dot segments resolved), or listed with other characters.
inline constexpr std::string_view kKeyShapesWrong = "KeyShapesWrong";
/// A range ending at byte 0 (bytes=0-0) is served to the end of the object.
inline constexpr std::string_view kRangeEndingAtZeroWrong = "RangeEndingAtZeroWrong";
/// A PUT whose body was cut short (the client gave up in the middle) is stored.
inline constexpr std::string_view kTruncatedPutStored = "TruncatedPutStored";
/// User metadata whose value is empty is not kept.
inline constexpr std::string_view kEmptyMetadataValueDropped = "EmptyMetadataValueDropped";
/// A large object in one PUT is refused (the server's own body limit).
inline constexpr std::string_view kLargePutRefused = "LargePutRefused";
/// Listings paged with continuation tokens skip or repeat entries, or are not in byte order.
inline constexpr std::string_view kListPagesWrong = "ListPagesWrong";
/// A copy that replaces the metadata keeps the source's content type.
inline constexpr std::string_view kCopyReplaceKeepsContentType = "CopyReplaceKeepsContentType";
/// Creating a bucket that already exists succeeds.
inline constexpr std::string_view kCreateExistingBucketSucceeds = "CreateExistingBucketSucceeds";

/// A store ready for one test: the store, a fresh empty bucket in it, and whatever must live as
/// long as the test (a temporary directory, a server handle) — released after the store.
struct StoreUnderTest {
  std::unique_ptr<ObjectStore> store;
  std::string bucket;
  std::shared_ptr<void> resources;
};

struct StoreFactory {
  /// Letters and digits only; the test suite is Conformance_<name>.
  std::string name;
  /// Makes a fresh store and a fresh, empty bucket (called once per test).
  std::function<Result<StoreUnderTest>()> make;
  /// Known server deviations: tag (the constants above) → what the server does.
  std::map<std::string, std::string, std::less<>> deviations;
};

/// Adds a store to the suite; call it from a static initializer. Returns true.
bool RegisterStoreFactory(StoreFactory factory);

}  // namespace esper::storage::testing
