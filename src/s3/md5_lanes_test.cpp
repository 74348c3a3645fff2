// Md5Lanes against OpenSSL's MD5, on every kernel this CPU has, for lane counts and lengths
// around the block and padding edges, fed in one piece and in many.
#include "s3/md5_lanes.h"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "esper/s3/checksum.h"

namespace esper::s3::detail {
namespace {

using Kernel = Md5Lanes::Kernel;

std::vector<Kernel> KernelsHere() {
  std::vector<Kernel> out = {Kernel::kScalar};
  if (Md5Lanes::Width(Md5Lanes::Best()) >= 8) out.push_back(Kernel::kAvx2);
  if (Md5Lanes::Width(Md5Lanes::Best()) >= 16) out.push_back(Kernel::kAvx512);
  return out;
}

TEST(Md5Lanes, EveryLaneIsOpenSslsMd5OnEveryKernel) {
  std::mt19937_64 rng(7);
  for (Kernel kernel : KernelsHere()) {
    for (int lanes : {1, 3, 8, 9, 16}) {
      for (size_t len : {size_t{0}, size_t{1}, size_t{55}, size_t{56}, size_t{63}, size_t{64}, size_t{65}, size_t{119},
                         size_t{120}, size_t{1000}, size_t{70001}}) {
        const size_t stride = (len + 3) / 4 * 4 + 4 * (rng() % 5);  // any multiple of 4 past the input
        std::string buf(stride * static_cast<size_t>(lanes), '\0');
        for (char& ch : buf) ch = static_cast<char>(rng());
        // Fed in pieces of whole blocks (the last one whatever is left), as a download does.
        Md5Lanes h(lanes, kernel);
        const size_t piece = 64 * (1 + rng() % 20);
        size_t at = 0;
        do {
          const size_t n = std::min(piece, len - at);
          h.Update(buf.data() + at, stride, n);
          at += n;
        } while (at < len);
        for (int i = 0; i < lanes; ++i) {
          const std::string_view input(buf.data() + static_cast<size_t>(i) * stride, len);
          EXPECT_EQ(Hex(h.Final(i)), Hex(Md5::Of(input)))
              << "kernel " << static_cast<int>(kernel) << ", lane " << i << " of " << lanes << ", " << len << " bytes";
        }
      }
    }
  }
}

// Md5sOf: OpenSSL's MD5 for every input, on every kernel this CPU has (the scalar one never pays:
// OpenSSL one after the other; AVX2 and AVX-512 from 2 inputs), whether the fill reads into
// the slot (a file read back) or gives a view of separate buffers (a stream's ranges), over
// several slices and a short last one; a fill's error ends it with that error.
TEST(Md5sOf, EveryInputIsOpenSslsMd5OnEveryKernelWhetherTheFillReadsOrPointsAndAFillErrorEndsIt) {
  std::mt19937_64 rng(11);
  const uint64_t length = 2 * kMd5Slice + 1001;
  for (Kernel kernel : KernelsHere()) {
    for (size_t count : {size_t{1}, size_t{2}, size_t{3}, size_t{7}, size_t{Md5Lanes::kMaxLanes}}) {
      std::vector<std::string> inputs(count);
      for (auto& in : inputs) {
        in.resize(static_cast<size_t>(length));
        for (char& ch : in) ch = static_cast<char>(rng());
      }
      for (bool into_slot : {true, false}) {
        std::vector<std::array<uint8_t, 16>> out(count);
        Status st = Md5sOf(
            count, length,
            [&](size_t k, uint64_t at, size_t n, char* slot) -> Result<std::string_view> {
              EXPECT_LE(n, kMd5Slice);
              if (!into_slot) return std::string_view(inputs[k]).substr(static_cast<size_t>(at), n);
              std::memcpy(slot, inputs[k].data() + at, n);
              return std::string_view(slot, n);
            },
            out.data(), kernel);
        ASSERT_TRUE(st) << st.error();
        for (size_t k = 0; k < count; ++k) {
          EXPECT_EQ(Hex(out[k]), Hex(Md5::Of(inputs[k])))
              << "kernel " << static_cast<int>(kernel) << ", " << k << " of " << count << (into_slot ? ", read" : ", views");
        }
      }
      std::vector<std::array<uint8_t, 16>> out(count);
      Status failed = Md5sOf(
          count, length,
          [&](size_t k, uint64_t at, size_t n, char*) -> Result<std::string_view> {
            if (k + 1 == count && at > 0) return Error::Unavailable("read back f: the disk went");
            return std::string_view(inputs[k]).substr(static_cast<size_t>(at), n);
          },
          out.data(), kernel);
      ASSERT_FALSE(failed);
      EXPECT_EQ(failed.error().message(), "read back f: the disk went");
    }
  }
  EXPECT_EQ(LanesPayFrom(Kernel::kScalar), std::numeric_limits<size_t>::max());
  EXPECT_LE(LanesPayFrom(Kernel::kAuto), Md5Lanes::Width(Md5Lanes::Best()) > 1 ? size_t{2} : std::numeric_limits<size_t>::max());
}

TEST(Md5Lanes, TheWidthIsWhatTheKernelHashesAtOnce) {
  EXPECT_EQ(Md5Lanes::Width(Kernel::kScalar), 1);
  EXPECT_EQ(Md5Lanes::Width(Kernel::kAvx2), 8);
  EXPECT_EQ(Md5Lanes::Width(Kernel::kAvx512), 16);
  EXPECT_GE(Md5Lanes::Width(Kernel::kAuto), 1);
}

}  // namespace
}  // namespace esper::s3::detail
