#include "storage/key_path.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace esper::storage::detail {
namespace {

using Path = std::vector<std::string>;

TEST(KeyPath, ReadableKeysStayReadable) {
  EXPECT_EQ(KeyToPath("models/resnet/v3.bin"), (Path{"models", "resnet", "v3.bin%o"}));
  EXPECT_EQ(KeyToPath("a b+c=d&e?f#g!h'i(j)k*l~m"), (Path{"a b+c=d&e?f#g!h'i(j)k*l~m%o"}));
  EXPECT_EQ(KeyToPath("caf\xc3\xa9/\xe6\x97\xa5"), (Path{"caf\xc3\xa9", "\xe6\x97\xa5%o"}));
}

TEST(KeyPath, NothingIsDotDotEmptyHiddenOrSlashed) {
  EXPECT_EQ(KeyToPath(".."), (Path{"%2E.%o"}));
  EXPECT_EQ(KeyToPath("."), (Path{"%2E%o"}));
  EXPECT_EQ(KeyToPath("../../etc/passwd"), (Path{"%2E.", "%2E.", "etc", "passwd%o"}));
  EXPECT_EQ(KeyToPath("/abs"), (Path{"%", "abs%o"}));
  EXPECT_EQ(KeyToPath("a//b"), (Path{"a", "%", "b%o"}));
  EXPECT_EQ(KeyToPath("a/"), (Path{"a", "%%o"}));
  EXPECT_EQ(KeyToPath(".hidden"), (Path{"%2Ehidden%o"}));
  EXPECT_EQ(KeyToPath("100%"), (Path{"100%25%o"}));
  EXPECT_EQ(KeyToPath(std::string("nul\0tab\tdel\x7f", 12)), (Path{"nul%00tab%09del%7F%o"}));
}

TEST(KeyPath, AFileAndADirectoryOfTheSameNameNeverCollide) {
  EXPECT_NE(KeyToPath("a")[0], KeyToPath("a/b")[0]);
  EXPECT_NE(KeyToPath("a%o")[0], KeyToPath("a")[0]);  // "%" is escaped: "a%25o%o"
}

TEST(KeyPath, LongSegmentsAreHashedWithinNameMax) {
  const std::string seg(300, 'x');
  const Path p = KeyToPath(seg + "/" + seg);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0], "%h" + SegmentDigest(seg));
  EXPECT_EQ(p[1], "%h" + SegmentDigest(seg) + "%o");
  for (const auto& c : p) EXPECT_LE(c.size(), 255u);
  // 100 bytes that each need escaping: 300 encoded, over the plain limit.
  EXPECT_TRUE(KeyToPath(std::string(100, '%'))[0].starts_with("%h"));
  EXPECT_FALSE(KeyToPath(std::string(kMaxPlainName, 'y'))[0].starts_with("%h"));
}

TEST(KeyPath, DecodeInvertsEncodeAndRefusesEverythingElse) {
  for (std::string seg : std::vector<std::string>{"", "a", "..", ".", "%", "%o", "a%25", std::string("\0\x01", 2), "\xff",
                          "x y", std::string(kMaxPlainName, 'z')}) {
    for (EntryKind kind : {EntryKind::kDirectory, EntryKind::kObject}) {
      const std::string name = EncodeSegment(seg, kind);
      auto d = DecodeName(name);
      ASSERT_TRUE(d) << name;
      EXPECT_EQ(d->kind, kind);
      EXPECT_FALSE(d->hashed);
      EXPECT_EQ(d->text, seg);
    }
  }
  auto hashed = DecodeName("%h" + SegmentDigest("s") + "%o");
  ASSERT_TRUE(hashed);
  EXPECT_TRUE(hashed->hashed);
  EXPECT_EQ(hashed->text, SegmentDigest("s"));
  for (std::string bad : std::vector<std::string>{".esper-tmp", ".", "..", "", "%o", "a%2", "a%2f", "a%41", "%2e",
                          "%hxyz", "%h" + SegmentDigest("s") + "0", "a%", "%%", "x.y%2E",
                          std::string(kMaxPlainName + 1, 'q')}) {
    EXPECT_FALSE(DecodeName(bad)) << bad;
  }
}

}  // namespace
}  // namespace esper::storage::detail
