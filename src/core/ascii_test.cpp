#include "esper/core/ascii.h"

#include <gtest/gtest.h>

namespace esper {
namespace {

TEST(Ascii, ComparesCaseInsensitivelyWithoutTheLocale) {
  EXPECT_TRUE(EqualsIgnoreCase("Content-Type", "content-TYPE"));
  EXPECT_FALSE(EqualsIgnoreCase("Content-Type", "content-typ"));
  EXPECT_FALSE(EqualsIgnoreCase("\xc9", "\xe9"));  // Latin-1 É/é are not ASCII letters: bytes compare as is
  EXPECT_FALSE(EqualsIgnoreCase("@", "`"));         // 0x40 / 0x60 differ by the case bit but are not letters
  EXPECT_TRUE(EqualsIgnoreCase("", ""));
  EXPECT_TRUE(StartsWithIgnoreCase("HTTPS://h", "https://"));
  EXPECT_FALSE(StartsWithIgnoreCase("http", "https"));
  static_assert(EqualsIgnoreCase("KEEP-ALIVE", "keep-alive"));
}

TEST(Ascii, ClassifiesAndMapsOnlyAsciiBytes) {
  EXPECT_EQ(AsciiLowerCopy("Example.COM:8080/\xC3\x89"), "example.com:8080/\xC3\x89");
  EXPECT_EQ(AsciiUpper('z'), 'Z');
  EXPECT_EQ(AsciiUpper('{'), '{');
  for (int c = 0; c < 256; ++c) {
    auto ch = static_cast<char>(c);
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    EXPECT_EQ(IsAsciiAlpha(ch), alpha) << c;
    EXPECT_EQ(IsAsciiDigit(ch), c >= '0' && c <= '9') << c;
    EXPECT_EQ(IsAsciiAlnum(ch), alpha || (c >= '0' && c <= '9')) << c;
    if (!alpha) {
      EXPECT_EQ(AsciiLower(ch), ch) << c;
    }
  }
  EXPECT_EQ(HexDigitValue('0'), 0);
  EXPECT_EQ(HexDigitValue('f'), 15);
  EXPECT_EQ(HexDigitValue('F'), 15);
  EXPECT_EQ(HexDigitValue('g'), -1);
  EXPECT_EQ(HexDigitValue('\xff'), -1);
}

}  // namespace
}  // namespace esper
