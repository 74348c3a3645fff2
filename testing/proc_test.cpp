#include "testing/proc.h"

#include <sys/resource.h>

#include <gtest/gtest.h>

#include <cstring>
#include <memory>

#include "testing/process.h"
#include "testing/wait.h"

namespace esper::testing {
namespace {

constexpr uint64_t kMiB = 1024 * 1024;

// 64 MiB the kernel must back with pages (every page written). The pointer escapes, so no
// compiler may drop the allocation (clang removes a new/delete pair nothing reads).
std::unique_ptr<char[]> Touch64MiB() {
  std::unique_ptr<char[]> p(new char[64 * kMiB]);
  std::memset(p.get(), 1, 64 * kMiB);
  asm volatile("" : : "r"(p.get()) : "memory");
  return p;
}

TEST(Memory, RssAndPeakSeeWhatIsTouched) {
  ASSERT_TRUE(ResetPeakRss());
  const uint64_t before = RssBytes();
  ASSERT_GT(before, 0u);
  {
    auto block = Touch64MiB();
    EXPECT_GE(RssBytes(), before + 60 * kMiB);
  }
  EXPECT_GE(PeakRssBytes(), before + 60 * kMiB) << "the peak outlives the block";
}

TEST(Memory, SamplerKeepsThePeakItSawOnItsThread) {
  RssSampler sampler;
  const uint64_t first = sampler.peak();
  ASSERT_GT(first, 0u);
  uint64_t seen = 0;
  {
    auto block = Touch64MiB();
    EXPECT_TRUE(WaitUntil([&] { return sampler.peak() >= first + 60 * kMiB; })) << "sampled while held";
    seen = sampler.peak();
  }
  EXPECT_GE(sampler.Stop(), seen) << "a peak, not the last sample";
}

TEST(Cpu, MeterCountsThisProcess) {
  CpuMeter cpu;
  volatile uint64_t x = 0;
  ASSERT_TRUE(WaitUntil([&] {
    for (int i = 0; i < 1000000; ++i) x = x + 1;
    return cpu.Seconds() >= 0.05;
  }));
  EXPECT_GT(CpuSeconds(RUSAGE_SELF), 0.0);
  EXPECT_NEAR(cpu.MicrosPer(1000), cpu.Seconds() * 1e3, cpu.Seconds() * 1e3 * 0.5);
}

// The busy loop runs in a grandchild: the child's own CPU stays near zero, the tree's grows.
TEST(Cpu, ProcessTreeCountsDescendants) {
  ChildProcess child;
  ASSERT_TRUE(child.Start({"sh", "-c", "sh -c 'while :; do :; done' & wait"}));
  CpuMeter tree(child.pid());
  EXPECT_TRUE(WaitUntil([&] { return ProcessTree(child.pid()).size() >= 2; }));
  EXPECT_TRUE(WaitUntil([&] { return tree.Seconds() >= 0.05; }));
  const auto members = ProcessTree(child.pid());
  ASSERT_GE(members.size(), 2u);
  EXPECT_EQ(members[0], child.pid());
  const double busy = ProcessTreeCpuSeconds(members[1]);  // the grandchild, alone
  EXPECT_GE(busy, 0.04);
  EXPECT_GE(ProcessTreeCpuSeconds(child.pid()), busy) << "the tree includes the grandchild";
  child.Stop();
}

}  // namespace
}  // namespace esper::testing
