// The part size rule and the multipart ETag (store_transfer.cpp).
#include <gtest/gtest.h>

#include "esper/s3/checksum.h"
#include "s3/s3_store_impl.h"

namespace esper::s3::detail {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;

TEST(PartSize, StaysAsConfiguredUpToTenThousandParts) {
  EXPECT_EQ(PartSizeFor(8 * kMiB, 1), 8 * kMiB);
  EXPECT_EQ(PartSizeFor(8 * kMiB, 10000 * 8 * kMiB), 8 * kMiB);
}

TEST(PartSize, GrowsInWholeMebibytesSoNoObjectNeedsMoreThanTenThousandParts) {
  for (uint64_t size : {10000 * 8 * kMiB + 1, uint64_t{1} << 40, uint64_t{5} << 40, (uint64_t{5} << 40) - 1}) {
    const uint64_t part = PartSizeFor(8 * kMiB, size);
    EXPECT_EQ(part % kMiB, 0u) << size;
    EXPECT_LE((size + part - 1) / part, 10000u) << size;
    EXPECT_GT(part, 8 * kMiB) << size;
  }
  EXPECT_EQ(PartSizeFor(8 * kMiB, uint64_t{5} << 40), 525 * kMiB);  // 5 TiB, S3's largest object
}

TEST(MultipartEtag, IsTheMd5OfThePartMd5sAndTheirCount) {
  const auto a = Md5::Of("part one"), b = Md5::Of("part two");
  std::string both(reinterpret_cast<const char*>(a.data()), a.size());
  both.append(reinterpret_cast<const char*>(b.data()), b.size());
  EXPECT_EQ(MultipartEtag({a, b}), Hex(Md5::Of(both)) + "-2");
}

}  // namespace
}  // namespace esper::s3::detail
