#include "proxy/fault_plan.h"

#include <gtest/gtest.h>

#include <map>

namespace esper::proxy::detail {
namespace {

TEST(FaultPlan, SplitMix64MatchesTheReferenceSequence) {
  // Reference values of splitmix64 seeded with 0 (Vigna's splitmix64.c).
  SplitMix64 r(0);
  EXPECT_EQ(r.Next(), 0xE220A8397B1DCDAFULL);
  EXPECT_EQ(r.Next(), 0x6E789E6AA1B965F4ULL);
  EXPECT_EQ(r.Next(), 0x06C45D188009454FULL);
}

TEST(FaultPlan, UnitIsInRange) {
  SplitMix64 r(42);
  for (int i = 0; i < 100000; ++i) {
    double u = r.NextUnit();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
}

TEST(FaultPlan, ConnectionStreamsAreIndependentAndReplayable) {
  SplitMix64 a = ConnectionRng(7, 0), b = ConnectionRng(7, 1), a2 = ConnectionRng(7, 0);
  SplitMix64 other_seed = ConnectionRng(8, 0);
  uint64_t x = a.Next();
  EXPECT_EQ(x, a2.Next());
  EXPECT_NE(x, b.Next());
  EXPECT_NE(x, other_seed.Next());
}

TEST(FaultPlan, RatesAreHonouredAndExclusive) {
  Options o{.upstream = "h:1", .reset_rate = 0.1, .stall_rate = 0.05, .error_rate = 0.2,
            .truncate_rate = 0.15, .corrupt_rate = 0.1};
  SplitMix64 r(123);
  std::map<FaultKind, int> counts;
  const int n = 200000;
  for (int i = 0; i < n; ++i) counts[Decide(r, o).kind]++;
  auto frac = [&](FaultKind k) { return static_cast<double>(counts[k]) / n; };
  EXPECT_NEAR(frac(FaultKind::kReset) + frac(FaultKind::kResetAfterUpstream), 0.10, 0.01);
  EXPECT_NEAR(frac(FaultKind::kReset), 0.05, 0.01);  // before/after split 50/50
  EXPECT_NEAR(frac(FaultKind::kStall), 0.05, 0.01);
  EXPECT_NEAR(frac(FaultKind::kError), 0.20, 0.01);
  EXPECT_NEAR(frac(FaultKind::kTruncate), 0.15, 0.01);
  EXPECT_NEAR(frac(FaultKind::kCorrupt), 0.10, 0.01);
  EXPECT_NEAR(frac(FaultKind::kNone), 0.40, 0.01);
}

TEST(FaultPlan, ZeroAndOneRates) {
  SplitMix64 r(1);
  Options none{.upstream = "h:1"};
  Options all{.upstream = "h:1", .truncate_rate = 1.0};
  for (int i = 0; i < 10000; ++i) {
    ASSERT_EQ(Decide(r, none).kind, FaultKind::kNone);
    ASSERT_EQ(Decide(r, all).kind, FaultKind::kTruncate);
  }
}

TEST(FaultPlan, TcpModeHasNoResetAfterUpstream) {
  Options o{.upstream = "h:1", .mode = Mode::kTcp, .reset_rate = 1.0};
  SplitMix64 r(9);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(Decide(r, o).kind, FaultKind::kReset);
}

TEST(FaultPlan, SameSeedSameDecisions) {
  Options o{.upstream = "h:1", .reset_rate = 0.3, .error_rate = 0.3};
  SplitMix64 a = ConnectionRng(5, 3), b = ConnectionRng(5, 3);
  for (int i = 0; i < 1000; ++i) {
    Decision x = Decide(a, o), y = Decide(b, o);
    ASSERT_EQ(x.kind, y.kind);
    ASSERT_EQ(x.variant, y.variant);
  }
}

}  // namespace
}  // namespace esper::proxy::detail
