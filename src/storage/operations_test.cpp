#include "esper/storage/operations.h"

#include <gtest/gtest.h>

#include <limits>

namespace esper::storage {
namespace {

using Span = std::pair<uint64_t, uint64_t>;

TEST(ByteRange, HeadersAsHttpWritesThem) {
  EXPECT_EQ(ByteRange::Span(0, 100).ToHttpHeader(), "bytes=0-99");
  EXPECT_EQ(ByteRange::From(100).ToHttpHeader(), "bytes=100-");
  EXPECT_EQ(ByteRange::Last(100).ToHttpHeader(), "bytes=-100");
}

TEST(ByteRange, ResolveFollowsRfc9110) {
  EXPECT_EQ(*ByteRange::Span(2, 3).Resolve(10), (Span{2, 3}));
  EXPECT_EQ(*ByteRange::Span(8, 100).Resolve(10), (Span{8, 2}));     // clipped at the end
  EXPECT_EQ(*ByteRange::From(7).Resolve(10), (Span{7, 3}));
  EXPECT_EQ(*ByteRange::Last(3).Resolve(10), (Span{7, 3}));
  EXPECT_EQ(*ByteRange::Last(30).Resolve(10), (Span{0, 10}));       // the whole object
  for (auto r : {ByteRange::Span(10, 1), ByteRange::From(10), ByteRange::Span(0, 1)}) {
    auto size = r.kind() == ByteRange::Kind::kSpan && r.offset() == 0 ? 0 : 10;
    auto got = r.Resolve(size);
    ASSERT_FALSE(got) << r.ToHttpHeader();
    EXPECT_EQ(got.error().code(), ErrorCode::kOutOfRange);
    EXPECT_EQ(got.error().service_code(), "InvalidRange");
  }
  EXPECT_FALSE(ByteRange::Last(1).Resolve(0));
}

TEST(ByteRange, ValidateRefusesEmptyAndOverflowingRanges) {
  EXPECT_FALSE(ByteRange::Span(0, 0).Validate());
  EXPECT_FALSE(ByteRange::Last(0).Validate());
  EXPECT_FALSE(ByteRange::Span(std::numeric_limits<uint64_t>::max(), 2).Validate());
  EXPECT_TRUE(ByteRange::Span(std::numeric_limits<uint64_t>::max(), 1).Validate());
}

TEST(PutBody, MemoryBodiesAreSharedNotCopied) {
  auto data = std::make_shared<const std::string>("abc");
  PutBody a = PutBody::FromShared(data);
  PutBody b = a;
  EXPECT_EQ(a.data().get(), data.get());
  EXPECT_EQ(b.data().get(), data.get());
  EXPECT_EQ(a.known_size(), 3u);
  EXPECT_EQ(PutBody().known_size(), 0u);
  EXPECT_EQ(PutBody::FromFile("/x").known_size(), std::nullopt);
  EXPECT_EQ(PutBody::FromStream([](char*, size_t) -> Result<size_t> { return 0; }, 5).known_size(),
            5u);
}

TEST(Etag, QuotesAndWeakPrefixAreIgnored) {
  EXPECT_EQ(UnquoteEtag("\"abc\""), "abc");
  EXPECT_EQ(UnquoteEtag("W/\"abc\""), "abc");
  EXPECT_EQ(UnquoteEtag("abc"), "abc");
  EXPECT_EQ(UnquoteEtag("\""), "\"");
}

}  // namespace
}  // namespace esper::storage
