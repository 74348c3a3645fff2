#include "esper/core/secret.h"

#include <gtest/gtest.h>

#include <sstream>

namespace esper {
namespace {

TEST(SecretTest, NeverFormatsItsValue) {
  Secret s("hunter2-very-secret");
  EXPECT_EQ(fmt::format("{}", s), "***");
  EXPECT_EQ(fmt::format("key={:>5}", s), "key=  ***");
  std::ostringstream os;
  os << s;
  EXPECT_EQ(os.str(), "***");
  EXPECT_EQ(s.reveal(), "hunter2-very-secret");
}

TEST(SecretTest, EmptyFormatsAsEmpty) {
  Secret s;
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(fmt::format("{}", s), "");
  EXPECT_EQ(fmt::format("{}", Secret(static_cast<const char*>(nullptr))), "");
}

TEST(SecretTest, CopyMoveAndCompare) {
  Secret a("abc");
  Secret b = a;
  EXPECT_TRUE(a == b);
  Secret c(std::move(b));
  EXPECT_EQ(c.reveal(), "abc");
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move): moved-from is wiped, by contract
  EXPECT_FALSE(a == Secret("abd"));
  EXPECT_FALSE(a == Secret("abcd"));
  c = Secret("xyz");
  EXPECT_EQ(c.reveal(), "xyz");
}

}  // namespace
}  // namespace esper
