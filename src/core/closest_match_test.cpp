#include "esper/core/closest_match.h"

#include <gtest/gtest.h>

namespace esper {
namespace {

TEST(ClosestMatch, SuggestsNearNamesAndPrefixes) {
  const std::vector<std::string> c = {"host", "port", "password", "pool_size"};
  EXPECT_EQ(ClosestMatch("hots", c), "host");
  EXPECT_EQ(ClosestMatch("prot", c), "port");
  EXPECT_EQ(ClosestMatch("pass", c), "password");  // a prefix counts as one edit
  EXPECT_EQ(ClosestMatch("zzzzzz", c), "");
  EXPECT_EQ(ClosestMatch("", c), "");
  EXPECT_EQ(ClosestMatch("hots", {}), "");
}

TEST(ClosestMatch, AllowsMoreEditsForLongerWords) {
  // max(2, |word| / 3) edits: 2 for short words, 4 for a 12-letter one.
  EXPECT_EQ(ClosestMatch("benhc", {"bench", "config", "http"}), "bench");
  EXPECT_EQ(ClosestMatch("xyz", {"abc"}), "");  // 3 edits > 2
  EXPECT_EQ(ClosestMatch("bacth_sizzes", {"batch_size"}), "batch_size");
  EXPECT_EQ(ClosestMatch("tamyio", {"tamiyo", "tezzeret", "urza"}), "tamiyo");
}

TEST(ClosestMatch, GivesNoGuessForHugeWords) {
  std::string huge(100000, 'a');
  EXPECT_EQ(ClosestMatch(huge, {std::string(100000, 'a')}), "");
}

TEST(EditDistance, CountsInsertionsDeletionsAndSubstitutions) {
  EXPECT_EQ(EditDistance("", ""), 0u);
  EXPECT_EQ(EditDistance("abc", ""), 3u);
  EXPECT_EQ(EditDistance("", "abc"), 3u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(EditDistance("flaw", "lawn"), 2u);
  EXPECT_EQ(EditDistance("same", "same"), 0u);
}

}  // namespace
}  // namespace esper
