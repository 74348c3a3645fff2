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

TEST(StreamPartSize, DoublesEveryThousandPartsSoTenThousandHoldMoreThanS3sLargestObject) {
  EXPECT_EQ(StreamPartSize(8 * kMiB, 0), 8 * kMiB);
  EXPECT_EQ(StreamPartSize(8 * kMiB, 999), 8 * kMiB);
  EXPECT_EQ(StreamPartSize(8 * kMiB, 1000), 16 * kMiB);
  EXPECT_EQ(StreamPartSize(8 * kMiB, 9999), 4096 * kMiB);
  EXPECT_EQ(StreamPartSize(uint64_t{5} << 30, 5000), uint64_t{5} << 30);  // never above S3's 5 GiB
  for (uint64_t part : {8 * kMiB, 5 * kMiB, 64 * kMiB}) {
    uint64_t total = 0;
    for (int i = 0; i < 10000; ++i) {
      const uint64_t n = StreamPartSize(part, i);
      EXPECT_LE(n, uint64_t{5} << 30);
      EXPECT_GE(n, part);
      total += n;
    }
    if (part <= 8 * kMiB) {
      EXPECT_EQ(total, part * 1023000) << part;  // 1,000 × (1 + 2 + … + 512)
    }
    if (part >= 8 * kMiB) {
      EXPECT_GE(total, uint64_t{5} << 40) << part;  // S3's largest object
    }
  }
}

TEST(MultipartEtag, IsTheMd5OfThePartMd5sAndTheirCount) {
  const auto a = Md5::Of("part one"), b = Md5::Of("part two");
  std::string both(reinterpret_cast<const char*>(a.data()), a.size());
  both.append(reinterpret_cast<const char*>(b.data()), b.size());
  EXPECT_EQ(MultipartEtag({a, b}), Hex(Md5::Of(both)) + "-2");
}

}  // namespace
}  // namespace esper::s3::detail
