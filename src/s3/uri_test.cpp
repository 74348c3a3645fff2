#include "esper/s3/uri.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace esper::s3 {
namespace {

using ::testing::HasSubstr;

TEST(ParseS3Uri, BucketAndKey) {
  EXPECT_EQ(*parse_s3_uri("s3://models/kernels/v1.bin"), (S3Uri{"models", "kernels/v1.bin"}));
  EXPECT_EQ(*parse_s3_uri("s3://models/a//b/"), (S3Uri{"models", "a//b/"}));
  EXPECT_EQ(*parse_s3_uri("S3://models/k"), (S3Uri{"models", "k"}));
  // No key: the bucket alone (for listing), unlike the seed, which raised.
  EXPECT_EQ(*parse_s3_uri("s3://models"), (S3Uri{"models", ""}));
  EXPECT_EQ(*parse_s3_uri("s3://models/"), (S3Uri{"models", ""}));
  // The key is taken verbatim: no decoding.
  EXPECT_EQ(parse_s3_uri("s3://b12/a%20b?x#y")->key, "a%20b?x#y");
}

TEST(ParseS3Uri, ClearErrors) {
  struct Case {
    const char* uri;
    const char* says;
  } cases[] = {
      {"http://bucket/key", "not an s3:// URI"},
      {"bucket/key", "not an s3:// URI"},
      {"s3://", "no bucket"},
      {"s3:///key", "no bucket"},
      {"s3://My_Bucket/key", "only lower-case letters"},
      {"s3://ab/key", "3 to 63"},
      {"s3://-abc/key", "begin and end"},
      {"s3://a..b/key", "\"..\""},
      {"s3://192.168.1.1/key", "IP address"},
  };
  for (const auto& c : cases) {
    auto r = parse_s3_uri(c.uri);
    ASSERT_FALSE(r) << c.uri;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_THAT(r.error().message(), HasSubstr(c.says)) << c.uri;
    EXPECT_THAT(r.error().message(), HasSubstr("invalid")) << c.uri;
  }
  EXPECT_THAT(parse_s3_uri("s3://bucket/" + std::string(1025, 'k')).error().message(), HasSubstr("1024"));
  EXPECT_TRUE(parse_s3_uri("s3://bucket/" + std::string(1024, 'k')));
}

TEST(BucketName, S3Rules) {
  for (const char* ok : {"abc", "my.bucket-1", "0bucket9", "a-b.c-d"}) EXPECT_TRUE(ValidateBucketName(ok)) << ok;
  for (const char* bad : {"", "ab", "ABC", "a_b", "abc-", ".abc", "xn--abc", "sthree-x", "abc-s3alias", "abc--ol-s3",
                          "10.0.0.1"})
    EXPECT_FALSE(ValidateBucketName(bad)) << bad;
  EXPECT_FALSE(ValidateBucketName(std::string(64, 'a')));
  EXPECT_TRUE(ValidateBucketName(std::string(63, 'a')));
}

// Every byte but the unreserved set and '/' encoded once, upper-case hex — the path S3
// canonicalises.
TEST(EncodeKey, EncodesExactlyAsS3Canonicalises) {
  EXPECT_EQ(EncodeKey("plain/key-1_2.3~"), "plain/key-1_2.3~");
  EXPECT_EQ(EncodeKey("+ = % & ? # !'()*"), "%2B%20%3D%20%25%20%26%20%3F%20%23%20%21%27%28%29%2A");
  EXPECT_EQ(EncodeKey("a//b/../c/./d"), "a//b/../c/./d");
  EXPECT_EQ(EncodeKey("ключ/日本/😀"), "%D0%BA%D0%BB%D1%8E%D1%87/%E6%97%A5%E6%9C%AC/%F0%9F%98%80");
  EXPECT_EQ(EncodeKey("test$file.text"), "test%24file.text");  // the S3 API reference's PUT example
  EXPECT_EQ(EncodeKey(std::string("\x00\x7f\xff", 3)), "%00%7F%FF");
}

TEST(Addressing, PathStyleWithAnEndpoint) {
  auto a = Addressing::Create({.endpoint_url = "http://127.0.0.1:4568/", .region = "us-east-1"});
  ASSERT_TRUE(a) << a.error();
  EXPECT_EQ(a->ObjectUrl("bucket", "a b/c+d"), "http://127.0.0.1:4568/bucket/a%20b/c%2Bd");
  EXPECT_EQ(a->ObjectUrl("bucket"), "http://127.0.0.1:4568/bucket");
  EXPECT_EQ(a->ObjectUrl(""), "http://127.0.0.1:4568/");
  EXPECT_TRUE(a->UsesPathStyle("bucket"));
  // A base path on the endpoint is kept.
  auto b = Addressing::Create({.endpoint_url = "https://gw.example.com:8443/s3", .region = "eu-west-1"});
  EXPECT_EQ(b->ObjectUrl("bucket", "k"), "https://gw.example.com:8443/s3/bucket/k");
  // Default ports are dropped so the URL matches the Host header curl sends.
  auto c = Addressing::Create({.endpoint_url = "http://minio:80", .region = "us-east-1"});
  EXPECT_EQ(c->ObjectUrl("bucket", "k"), "http://minio/bucket/k");
}

TEST(Addressing, VirtualHostedOnAws) {
  auto a = Addressing::Create({.region = "eu-west-1"});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->endpoint_url(), "https://s3.eu-west-1.amazonaws.com");
  EXPECT_EQ(a->ObjectUrl("bucket", "dir/a b"), "https://bucket.s3.eu-west-1.amazonaws.com/dir/a%20b");
  EXPECT_EQ(a->ObjectUrl("bucket"), "https://bucket.s3.eu-west-1.amazonaws.com/");
  // A dotted bucket would not match the wildcard certificate: path style.
  EXPECT_EQ(a->ObjectUrl("my.bucket", "k"), "https://s3.eu-west-1.amazonaws.com/my.bucket/k");
  EXPECT_EQ(a->ObjectUrl(""), "https://s3.eu-west-1.amazonaws.com/");
  // Forced styles.
  auto p = Addressing::Create({.region = "us-east-1", .style = AddressingStyle::kPath});
  EXPECT_EQ(p->ObjectUrl("bucket", "k"), "https://s3.us-east-1.amazonaws.com/bucket/k");
  auto v = Addressing::Create({.endpoint_url = "http://localhost:9000", .region = "us-east-1",
                               .style = AddressingStyle::kVirtualHosted});
  EXPECT_EQ(v->ObjectUrl("bucket", "k"), "http://bucket.localhost:9000/k");
}

TEST(Addressing, Errors) {
  EXPECT_THAT(Addressing::Create({.endpoint_url = "http://h"}).error().message(), HasSubstr("no region"));
  EXPECT_THAT(Addressing::Create({.endpoint_url = "127.0.0.1:9000", .region = "r"}).error().message(),
              HasSubstr("not absolute"));
  EXPECT_THAT(Addressing::Create({.endpoint_url = "ftp://h", .region = "r"}).error().message(), HasSubstr("scheme"));
  EXPECT_THAT(Addressing::Create({.endpoint_url = "http://h/?x=1", .region = "r"}).error().message(),
              HasSubstr("query"));
}

}  // namespace
}  // namespace esper::s3
