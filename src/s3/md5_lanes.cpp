// Md5Lanes (md5_lanes.h): RFC 1321's MD5 on up to 16 inputs at once, one per 32-bit SIMD lane.
// Each kernel loads word k of every lane's block with one gather (lane i's bytes are at
// base + i × stride), runs the 64 steps on all lanes, and adds the result to the lanes' state.
#include "s3/md5_lanes.h"

#include <cstring>
#include <limits>

#if defined(__x86_64__)
#include <immintrin.h>
#define ESPER_MD5_X86 1
#endif

namespace esper::s3::detail {
namespace {

// MD5's 64 steps (RFC 1321 §3.4): the function, the registers in their turn, the message word,
// the rotation and the constant floor(|sin(i + 1)| × 2^32).
#define MD5_64_STEPS(STEP, F, G, H, I) \
  STEP(F, a, b, c, d, 0, 7, 0xd76aa478u) STEP(F, d, a, b, c, 1, 12, 0xe8c7b756u) STEP(F, c, d, a, b, 2, 17, 0x242070dbu) STEP(F, b, c, d, a, 3, 22, 0xc1bdceeeu) \
  STEP(F, a, b, c, d, 4, 7, 0xf57c0fafu) STEP(F, d, a, b, c, 5, 12, 0x4787c62au) STEP(F, c, d, a, b, 6, 17, 0xa8304613u) STEP(F, b, c, d, a, 7, 22, 0xfd469501u) \
  STEP(F, a, b, c, d, 8, 7, 0x698098d8u) STEP(F, d, a, b, c, 9, 12, 0x8b44f7afu) STEP(F, c, d, a, b, 10, 17, 0xffff5bb1u) STEP(F, b, c, d, a, 11, 22, 0x895cd7beu) \
  STEP(F, a, b, c, d, 12, 7, 0x6b901122u) STEP(F, d, a, b, c, 13, 12, 0xfd987193u) STEP(F, c, d, a, b, 14, 17, 0xa679438eu) STEP(F, b, c, d, a, 15, 22, 0x49b40821u) \
  STEP(G, a, b, c, d, 1, 5, 0xf61e2562u) STEP(G, d, a, b, c, 6, 9, 0xc040b340u) STEP(G, c, d, a, b, 11, 14, 0x265e5a51u) STEP(G, b, c, d, a, 0, 20, 0xe9b6c7aau) \
  STEP(G, a, b, c, d, 5, 5, 0xd62f105du) STEP(G, d, a, b, c, 10, 9, 0x02441453u) STEP(G, c, d, a, b, 15, 14, 0xd8a1e681u) STEP(G, b, c, d, a, 4, 20, 0xe7d3fbc8u) \
  STEP(G, a, b, c, d, 9, 5, 0x21e1cde6u) STEP(G, d, a, b, c, 14, 9, 0xc33707d6u) STEP(G, c, d, a, b, 3, 14, 0xf4d50d87u) STEP(G, b, c, d, a, 8, 20, 0x455a14edu) \
  STEP(G, a, b, c, d, 13, 5, 0xa9e3e905u) STEP(G, d, a, b, c, 2, 9, 0xfcefa3f8u) STEP(G, c, d, a, b, 7, 14, 0x676f02d9u) STEP(G, b, c, d, a, 12, 20, 0x8d2a4c8au) \
  STEP(H, a, b, c, d, 5, 4, 0xfffa3942u) STEP(H, d, a, b, c, 8, 11, 0x8771f681u) STEP(H, c, d, a, b, 11, 16, 0x6d9d6122u) STEP(H, b, c, d, a, 14, 23, 0xfde5380cu) \
  STEP(H, a, b, c, d, 1, 4, 0xa4beea44u) STEP(H, d, a, b, c, 4, 11, 0x4bdecfa9u) STEP(H, c, d, a, b, 7, 16, 0xf6bb4b60u) STEP(H, b, c, d, a, 10, 23, 0xbebfbc70u) \
  STEP(H, a, b, c, d, 13, 4, 0x289b7ec6u) STEP(H, d, a, b, c, 0, 11, 0xeaa127fau) STEP(H, c, d, a, b, 3, 16, 0xd4ef3085u) STEP(H, b, c, d, a, 6, 23, 0x04881d05u) \
  STEP(H, a, b, c, d, 9, 4, 0xd9d4d039u) STEP(H, d, a, b, c, 12, 11, 0xe6db99e5u) STEP(H, c, d, a, b, 15, 16, 0x1fa27cf8u) STEP(H, b, c, d, a, 2, 23, 0xc4ac5665u) \
  STEP(I, a, b, c, d, 0, 6, 0xf4292244u) STEP(I, d, a, b, c, 7, 10, 0x432aff97u) STEP(I, c, d, a, b, 14, 15, 0xab9423a7u) STEP(I, b, c, d, a, 5, 21, 0xfc93a039u) \
  STEP(I, a, b, c, d, 12, 6, 0x655b59c3u) STEP(I, d, a, b, c, 3, 10, 0x8f0ccc92u) STEP(I, c, d, a, b, 10, 15, 0xffeff47du) STEP(I, b, c, d, a, 1, 21, 0x85845dd1u) \
  STEP(I, a, b, c, d, 8, 6, 0x6fa87e4fu) STEP(I, d, a, b, c, 15, 10, 0xfe2ce6e0u) STEP(I, c, d, a, b, 6, 15, 0xa3014314u) STEP(I, b, c, d, a, 13, 21, 0x4e0811a1u) \
  STEP(I, a, b, c, d, 4, 6, 0xf7537e82u) STEP(I, d, a, b, c, 11, 10, 0xbd3af235u) STEP(I, c, d, a, b, 2, 15, 0x2ad7d2bbu) STEP(I, b, c, d, a, 9, 21, 0xeb86d391u)

inline uint32_t Rol(uint32_t x, int s) { return (x << s) | (x >> (32 - s)); }

// One lane, `blocks` blocks from p (the tails, Final's padding, and CPUs without AVX2).
void ScalarBlocks(uint32_t* st, size_t lane_stride, const uint8_t* p, size_t blocks) {
  uint32_t a = st[0], b = st[lane_stride], c = st[2 * lane_stride], d = st[3 * lane_stride];
  for (size_t blk = 0; blk < blocks; ++blk, p += 64) {
    uint32_t m[16];
    std::memcpy(m, p, 64);  // MD5 is little-endian, as x86 and arm64 are
    const uint32_t a0 = a, b0 = b, c0 = c, d0 = d;
#define SF(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define SG(x, y, z) ((y) ^ ((z) & ((x) ^ (y))))
#define SH(x, y, z) ((x) ^ (y) ^ (z))
#define SI(x, y, z) ((y) ^ ((x) | ~(z)))
#define SSTEP(f, w, x, y, z, k, s, t) w = x + Rol(w + f(x, y, z) + m[k] + t, s);
    MD5_64_STEPS(SSTEP, SF, SG, SH, SI)
#undef SSTEP
#undef SF
#undef SG
#undef SH
#undef SI
    a += a0;
    b += b0;
    c += c0;
    d += d0;
  }
  st[0] = a;
  st[lane_stride] = b;
  st[2 * lane_stride] = c;
  st[3 * lane_stride] = d;
}

#if ESPER_MD5_X86
// 16 lanes: state rows of 16 words; F/G/H/I in one ternary-logic instruction each.
// Lanes from `lanes` on are not read (masked), nor is their state of any use.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
// GCC 12 warns inside its own _mm512_rol_epi32 (an _mm512_undefined_epi32 it passes as the
// unused merge source): a false positive.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
__attribute__((target("avx512f"))) void Avx512Blocks(uint32_t (*st)[Md5Lanes::kMaxLanes], int lanes, const char* base,
                                                     size_t stride, size_t blocks) {
  __m512i a = _mm512_load_si512(st[0]), b = _mm512_load_si512(st[1]);
  __m512i c = _mm512_load_si512(st[2]), d = _mm512_load_si512(st[3]);
  const __m512i index = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                           _mm512_set1_epi32(static_cast<int>(stride / 4)));
  const __m512i zero = _mm512_setzero_si512();
  const __mmask16 active = static_cast<__mmask16>((1u << lanes) - 1);
  for (size_t blk = 0; blk < blocks; ++blk) {
    const char* p = base + blk * 64;
    __m512i m[16];
    for (int k = 0; k < 16; ++k) m[k] = _mm512_mask_i32gather_epi32(zero, active, index, p + 4 * k, 4);
    const __m512i a0 = a, b0 = b, c0 = c, d0 = d;
#define VF(x, y, z) _mm512_ternarylogic_epi32(x, y, z, 0xCA)  // x ? y : z
#define VG(x, y, z) _mm512_ternarylogic_epi32(x, y, z, 0xE4)  // z ? x : y
#define VH(x, y, z) _mm512_ternarylogic_epi32(x, y, z, 0x96)  // x ^ y ^ z
#define VI(x, y, z) _mm512_ternarylogic_epi32(x, y, z, 0x39)  // y ^ (x | ~z)
#define VSTEP(f, w, x, y, z, k, s, t)                                                                              \
  w = _mm512_add_epi32(x, _mm512_rol_epi32(_mm512_add_epi32(_mm512_add_epi32(w, f(x, y, z)),                      \
                                                            _mm512_add_epi32(m[k], _mm512_set1_epi32(static_cast<int>(t)))), \
                                           s));
    MD5_64_STEPS(VSTEP, VF, VG, VH, VI)
#undef VSTEP
#undef VF
#undef VG
#undef VH
#undef VI
    a = _mm512_add_epi32(a, a0);
    b = _mm512_add_epi32(b, b0);
    c = _mm512_add_epi32(c, c0);
    d = _mm512_add_epi32(d, d0);
  }
  _mm512_store_si512(st[0], a);
  _mm512_store_si512(st[1], b);
  _mm512_store_si512(st[2], c);
  _mm512_store_si512(st[3], d);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// 8 lanes from `first` on (run twice for 16).
__attribute__((target("avx2"))) void Avx2Blocks(uint32_t (*st)[Md5Lanes::kMaxLanes], int first, int lanes,
                                                const char* base, size_t stride, size_t blocks) {
#define LOAD(row) _mm256_load_si256(reinterpret_cast<const __m256i*>(st[row] + first))
  __m256i a = LOAD(0), b = LOAD(1), c = LOAD(2), d = LOAD(3);
#undef LOAD
  const __m256i index = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                           _mm256_set1_epi32(static_cast<int>(stride / 4)));
  const __m256i ones = _mm256_set1_epi32(-1);
  const __m256i active = _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes - first), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  base += static_cast<size_t>(first) * stride;
  for (size_t blk = 0; blk < blocks; ++blk) {
    const char* p = base + blk * 64;
    __m256i m[16];
    for (int k = 0; k < 16; ++k) {
      m[k] = _mm256_mask_i32gather_epi32(_mm256_setzero_si256(), reinterpret_cast<const int*>(p + 4 * k), index, active, 4);
    }
    const __m256i a0 = a, b0 = b, c0 = c, d0 = d;
#define VF(x, y, z) _mm256_xor_si256(z, _mm256_and_si256(x, _mm256_xor_si256(y, z)))
#define VG(x, y, z) _mm256_xor_si256(y, _mm256_and_si256(z, _mm256_xor_si256(x, y)))
#define VH(x, y, z) _mm256_xor_si256(_mm256_xor_si256(x, y), z)
#define VI(x, y, z) _mm256_xor_si256(y, _mm256_or_si256(x, _mm256_xor_si256(z, ones)))
#define VROL(v, s) _mm256_or_si256(_mm256_slli_epi32(v, s), _mm256_srli_epi32(v, 32 - (s)))
#define VSTEP(f, w, x, y, z, k, s, t)                                                                            \
  w = _mm256_add_epi32(x, VROL(_mm256_add_epi32(_mm256_add_epi32(w, f(x, y, z)),                                \
                                                _mm256_add_epi32(m[k], _mm256_set1_epi32(static_cast<int>(t)))), \
                               s));
    MD5_64_STEPS(VSTEP, VF, VG, VH, VI)
#undef VSTEP
#undef VROL
#undef VF
#undef VG
#undef VH
#undef VI
    a = _mm256_add_epi32(a, a0);
    b = _mm256_add_epi32(b, b0);
    c = _mm256_add_epi32(c, c0);
    d = _mm256_add_epi32(d, d0);
  }
  _mm256_store_si256(reinterpret_cast<__m256i*>(st[0] + first), a);
  _mm256_store_si256(reinterpret_cast<__m256i*>(st[1] + first), b);
  _mm256_store_si256(reinterpret_cast<__m256i*>(st[2] + first), c);
  _mm256_store_si256(reinterpret_cast<__m256i*>(st[3] + first), d);
}
#endif

}  // namespace

Md5Lanes::Kernel Md5Lanes::Best() {
#if ESPER_MD5_X86
  static const Kernel best = __builtin_cpu_supports("avx512f") ? Kernel::kAvx512
                             : __builtin_cpu_supports("avx2")  ? Kernel::kAvx2
                                                               : Kernel::kScalar;
  return best;
#else
  return Kernel::kScalar;
#endif
}

int Md5Lanes::Width(Kernel kernel) {
  switch (kernel == Kernel::kAuto ? Best() : kernel) {
    case Kernel::kAvx512: return 16;
    case Kernel::kAvx2: return 8;
    default: return 1;
  }
}

namespace {
// The kernel that runs for `kernel`: the widest the CPU has for kAuto, and a kernel the CPU lacks
// falls back to the best it has.
Md5Lanes::Kernel Resolve(Md5Lanes::Kernel kernel) {
  if (kernel == Md5Lanes::Kernel::kAuto) return Md5Lanes::Best();
  return Md5Lanes::Width(kernel) > Md5Lanes::Width(Md5Lanes::Best()) ? Md5Lanes::Best() : kernel;
}
}  // namespace

size_t LanesPayFrom(Md5Lanes::Kernel kernel) {
  switch (Resolve(kernel)) {
    case Md5Lanes::Kernel::kAvx512:
    case Md5Lanes::Kernel::kAvx2: return 2;
    default: return std::numeric_limits<size_t>::max();
  }
}

Md5Lanes::Md5Lanes(int lanes, Kernel kernel)
    : lanes_(lanes < 1 ? 1 : lanes > kMaxLanes ? kMaxLanes : lanes), kernel_(Resolve(kernel)) {
  for (int i = 0; i < kMaxLanes; ++i) {
    state_[0][i] = 0x67452301u;
    state_[1][i] = 0xefcdab89u;
    state_[2][i] = 0x98badcfeu;
    state_[3][i] = 0x10325476u;
  }
}

void Md5Lanes::Update(const char* base, size_t stride, size_t len) {
  const size_t blocks = len / 64;
  if (blocks > 0) {
    switch (kernel_) {
#if ESPER_MD5_X86
      case Kernel::kAvx512:
        Avx512Blocks(state_, lanes_, base, stride, blocks);
        break;
      case Kernel::kAvx2:
        for (int first = 0; first < lanes_; first += 8) Avx2Blocks(state_, first, lanes_, base, stride, blocks);
        break;
#endif
      default:
        for (int i = 0; i < lanes_; ++i) {
          ScalarBlocks(&state_[0][i], kMaxLanes, reinterpret_cast<const uint8_t*>(base + static_cast<size_t>(i) * stride),
                       blocks);
        }
    }
  }
  length_ += len;
  tail_len_ = len % 64;
  for (int i = 0; i < lanes_ && tail_len_ > 0; ++i) {
    std::memcpy(tail_[static_cast<size_t>(i)].data(), base + static_cast<size_t>(i) * stride + blocks * 64, tail_len_);
  }
}

std::array<uint8_t, 16> Md5Lanes::Final(int lane) {
  // The padding: 0x80, zeros to 56 mod 64, the length in bits (little-endian), in one or two blocks.
  uint8_t last[128] = {};
  std::memcpy(last, tail_[static_cast<size_t>(lane)].data(), tail_len_);
  last[tail_len_] = 0x80;
  const size_t n = tail_len_ < 56 ? 64 : 128;
  const uint64_t bits = length_ * 8;
  for (int i = 0; i < 8; ++i) last[n - 8 + static_cast<size_t>(i)] = static_cast<uint8_t>(bits >> (8 * i));
  ScalarBlocks(&state_[0][lane], kMaxLanes, last, n / 64);
  std::array<uint8_t, 16> out;
  for (int r = 0; r < 4; ++r) std::memcpy(out.data() + 4 * r, &state_[r][lane], 4);
  return out;
}

}  // namespace esper::s3::detail
