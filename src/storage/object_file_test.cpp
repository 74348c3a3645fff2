#include "storage/object_file.h"

#include <gtest/gtest.h>

namespace esper::storage::detail {
namespace {

TEST(ObjectFile, HeaderRoundTripsWithSizeAndMd5FilledInLater) {
  ObjectHeader h{.key = "a/b", .content_type = "text/plain", .metadata = {{"k", "v"}, {"x", ""}}};
  std::string bytes = EncodeObjectHeader(h);
  Md5 md5;
  md5.Update("hello");
  const Md5Digest digest = md5.Finish();
  bytes.replace(kSizeOffset, 24, EncodeSizeAndMd5(5, digest));
  auto parsed = ParseObjectHeader(bytes + "hello");
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_EQ(parsed->key, "a/b");
  EXPECT_EQ(parsed->size, 5u);
  EXPECT_EQ(parsed->content_type, "text/plain");
  EXPECT_EQ(parsed->metadata, h.metadata);
  EXPECT_EQ(parsed->header_len, bytes.size());
  EXPECT_EQ(HexDigest(parsed->md5), "5d41402abc4b2a76b9719d911017c592");  // md5("hello")
}

TEST(ObjectFile, DamagedHeadersAreDataLoss) {
  const std::string good = EncodeObjectHeader({.key = "k"});
  EXPECT_TRUE(HasObjectMagic(good));
  EXPECT_FALSE(HasObjectMagic("not an object"));
  for (size_t cut : {size_t{10}, size_t{41}, good.size() - 1}) {
    auto r = ParseObjectHeader(good.substr(0, cut));
    ASSERT_FALSE(r) << cut;
    EXPECT_EQ(r.error().code(), ErrorCode::kDataLoss);
  }
  std::string bad_len = good;
  bad_len[12] = '\x7f';  // a header length past the end
  EXPECT_FALSE(ParseObjectHeader(bad_len));
  std::string bad_key_len = good;
  bad_key_len[40] = '\x05';  // key length 5 of 1 byte present
  EXPECT_FALSE(ParseObjectHeader(bad_key_len));
  EXPECT_FALSE(ParseObjectHeader(EncodeObjectHeader({.key = ""})));
}

}  // namespace
}  // namespace esper::storage::detail
