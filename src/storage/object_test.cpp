#include "esper/storage/object.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "esper/storage/errors.h"

namespace esper::storage {
namespace {

TEST(BucketName, S3Rules) {
  for (std::string ok : std::vector<std::string>{"abc", "my-bucket", "my.bucket.2", "a1b", std::string(63, 'a')}) {
    EXPECT_TRUE(ValidateBucketName(ok)) << ok;
  }
  for (const char* bad : {"ab", "ABC", "-abc", "abc-", ".abc", "a..b", "a_b", "192.168.1.1",
                          "xn--abc", "sthree-abc", "abc-s3alias", "abc--ol-s3", "a b", ""}) {
    auto st = ValidateBucketName(bad);
    ASSERT_FALSE(st) << bad;
    EXPECT_EQ(st.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(st.error().service_code(), "InvalidBucketName");
  }
  EXPECT_FALSE(ValidateBucketName(std::string(64, 'a')));
}

TEST(Key, AnyUtf8UpTo1024BytesWithoutNul) {
  for (std::string ok : std::vector<std::string>{"a", "a//b", "..", ".", "/a", "a/", " ", "+ = % & ? # ! ' ( ) * ~",
                         "\xc3\xa9t\xc3\xa9", "\xf0\x9f\x98\x80", "\x01\x7f",
                         std::string(kMaxKeyBytes, 'k')}) {
    EXPECT_TRUE(ValidateKey(ok)) << ok;
  }
  EXPECT_EQ(ValidateKey(std::string(kMaxKeyBytes + 1, 'k')).error().service_code(),
            "KeyTooLongError");
  EXPECT_FALSE(ValidateKey(""));
  EXPECT_FALSE(ValidateKey(std::string("a\0b", 3)));
  // Invalid UTF-8: a lone continuation byte, an overlong '/', a surrogate, beyond U+10FFFF,
  // a truncated sequence.
  for (std::string bad : {"\x80", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82"}) {
    auto st = ValidateKey(bad);
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message().find("UTF-8"), std::string::npos) << st.error();
  }
}

TEST(Metadata, NamesLowerCasedValuesCheckedTotalBounded) {
  auto md = NormalizeMetadata({{"Model-Version", "3"}, {"epoch", "40"}});
  ASSERT_TRUE(md) << md.error();
  EXPECT_EQ(*md, (Metadata{{"model-version", "3"}, {"epoch", "40"}}));
  EXPECT_FALSE(NormalizeMetadata({{"A", "1"}, {"a", "2"}}));          // one name twice
  EXPECT_FALSE(NormalizeMetadata({{"a b", "1"}}));                    // not a token
  EXPECT_FALSE(NormalizeMetadata({{"", "1"}}));
  EXPECT_FALSE(NormalizeMetadata({{"a", "caf\xc3\xa9"}}));             // not US-ASCII
  EXPECT_FALSE(NormalizeMetadata({{"a", " padded"}}));
  EXPECT_FALSE(NormalizeMetadata({{"a", "line\nbreak"}}));
  EXPECT_TRUE(NormalizeMetadata({{"a", std::string(kMaxMetadataBytes - 1, 'v')}}));
  auto big = NormalizeMetadata({{"a", std::string(kMaxMetadataBytes, 'v')}});
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().service_code(), "MetadataTooLarge");
}

TEST(ContentType, PrintableAsciiBounded) {
  EXPECT_TRUE(ValidateContentType("text/plain; charset=utf-8"));
  EXPECT_FALSE(ValidateContentType("text/\n"));
  EXPECT_FALSE(ValidateContentType(std::string(kMaxContentTypeBytes + 1, 'x')));
}

TEST(Errors, ServiceCodesMapToTheDocumentedCanonicalCodes) {
  EXPECT_EQ(ServiceError("NoSuchKey", "x").code(), ErrorCode::kNotFound);
  EXPECT_EQ(ServiceError("NoSuchBucket", "x").service_code(), "NoSuchBucket");
  EXPECT_EQ(ServiceError("PreconditionFailed", "x").code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(ServiceError("BucketNotEmpty", "x").code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(ServiceError("BucketAlreadyOwnedByYou", "x").code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(ServiceError("InvalidRange", "x").code(), ErrorCode::kOutOfRange);
  EXPECT_EQ(ServiceError("SignatureDoesNotMatch", "x").code(), ErrorCode::kPermissionDenied);
  auto slow = ServiceError("SlowDown", "x");
  EXPECT_EQ(slow.code(), ErrorCode::kUnavailable);
  EXPECT_TRUE(slow.retryable());
  EXPECT_EQ(ServiceError("SomethingNew", "x").code(), ErrorCode::kUnknown);
  EXPECT_FALSE(CanonicalCodeForServiceCode("SomethingNew"));
}

}  // namespace
}  // namespace esper::storage
