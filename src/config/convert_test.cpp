#include "config/convert.h"

#include <gtest/gtest.h>

#include <cmath>

namespace esper::config::detail {
namespace {

TEST(ConvertTest, BoolIsTrueOrFalseOnly) {
  bool b = false;
  std::string err;
  for (const char* t : {"true", "True", "TRUE"}) {
    EXPECT_TRUE(ParseBool(t, "x", &b, &err)) << t;
    EXPECT_TRUE(b);
  }
  for (const char* t : {"false", "False", "FALSE"}) {
    EXPECT_TRUE(ParseBool(t, "x", &b, &err)) << t;
    EXPECT_FALSE(b);
  }
  for (const char* t : {"1", "0", "yes", "no", "on", "off", "y", ""}) {
    EXPECT_FALSE(ParseBool(t, Quote(t), &b, &err)) << t;
  }
  EXPECT_EQ(err, "expected a boolean (true or false), got \"\"");
}

TEST(ConvertTest, IntegersFollowTheCoreSchemaAndRejectLeadingZeros) {
  std::int64_t v = 0;
  std::string err;
  EXPECT_TRUE(ParseInt("123", "", &v, &err));
  EXPECT_EQ(v, 123);
  EXPECT_TRUE(ParseInt("-42", "", &v, &err));
  EXPECT_EQ(v, -42);
  EXPECT_TRUE(ParseInt("+7", "", &v, &err));
  EXPECT_EQ(v, 7);
  EXPECT_TRUE(ParseInt("0x1F", "", &v, &err));
  EXPECT_EQ(v, 31);
  EXPECT_TRUE(ParseInt("0o17", "", &v, &err));
  EXPECT_EQ(v, 15);
  EXPECT_TRUE(ParseInt("0", "", &v, &err));
  EXPECT_EQ(v, 0);
  EXPECT_TRUE(ParseInt("-9223372036854775808", "", &v, &err));
  EXPECT_EQ(v, INT64_MIN);

  EXPECT_FALSE(ParseInt("0123", "\"0123\"", &v, &err));
  EXPECT_EQ(err,
            "\"0123\" has a leading zero, which YAML 1.1 reads as octal 83 and YAML 1.2 as decimal 123; "
            "write 123 (decimal) or 0o123 (octal)");
  EXPECT_FALSE(ParseInt("089", "\"089\"", &v, &err));
  EXPECT_EQ(err, "\"089\" has a leading zero, which YAML 1.1 reads as a string and YAML 1.2 as decimal 89; write 89");
  EXPECT_FALSE(ParseInt("9223372036854775808", "\"9223372036854775808\"", &v, &err));
  EXPECT_EQ(err, "\"9223372036854775808\" does not fit in a 64-bit integer");
  for (const char* t : {"abc", "1.5", "12abc", "", "-", "0x", "1e3", " 1", "true"}) {
    EXPECT_FALSE(ParseInt(t, Quote(t), &v, &err)) << t;
  }
  EXPECT_EQ(err, "expected an integer, got \"true\"");
}

TEST(ConvertTest, Doubles) {
  double d = 0;
  std::string err;
  EXPECT_TRUE(ParseDouble("0.001", "", &d, &err));
  EXPECT_DOUBLE_EQ(d, 0.001);
  EXPECT_TRUE(ParseDouble("-1e3", "", &d, &err));
  EXPECT_DOUBLE_EQ(d, -1000);
  EXPECT_TRUE(ParseDouble(".5", "", &d, &err));
  EXPECT_DOUBLE_EQ(d, 0.5);
  EXPECT_TRUE(ParseDouble("42", "", &d, &err));
  EXPECT_TRUE(ParseDouble("-.inf", "", &d, &err));
  EXPECT_TRUE(std::isinf(d) && d < 0);
  EXPECT_TRUE(ParseDouble(".nan", "", &d, &err));
  EXPECT_TRUE(std::isnan(d));
  for (const char* t : {"abc", "0x10", "1.2.3", "", "inf", "nan", "1,5"}) {
    EXPECT_FALSE(ParseDouble(t, Quote(t), &d, &err)) << t;
  }
  EXPECT_EQ(err, "expected a number, got \"1,5\"");
}

TEST(ConvertTest, DurationsNeedAUnit) {
  std::chrono::milliseconds d{0};
  std::string err;
  EXPECT_TRUE(ParseDuration("250ms", "", &d, &err));
  EXPECT_EQ(d.count(), 250);
  EXPECT_TRUE(ParseDuration("30s", "", &d, &err));
  EXPECT_EQ(d.count(), 30000);
  EXPECT_TRUE(ParseDuration("1m30s", "", &d, &err));
  EXPECT_EQ(d.count(), 90000);
  EXPECT_TRUE(ParseDuration("1.5s", "", &d, &err));
  EXPECT_EQ(d.count(), 1500);
  EXPECT_TRUE(ParseDuration("2h", "", &d, &err));
  EXPECT_EQ(d.count(), 7200000);
  for (const char* t : {"30", "", "s", "10 s", "5d", "-1s", "1ms2"}) {
    EXPECT_FALSE(ParseDuration(t, Quote(t), &d, &err)) << t;
  }
  EXPECT_FALSE(ParseDuration("30", "\"30\"", &d, &err));
  EXPECT_EQ(err, "expected a duration with a unit (e.g. 250ms, 30s, 5m, 1h, 1m30s), got \"30\"");
  EXPECT_EQ(FormatDuration(std::chrono::milliseconds(90000)), "1m30s");
  EXPECT_EQ(FormatDuration(std::chrono::milliseconds(250)), "250ms");
  EXPECT_EQ(FormatDuration(std::chrono::milliseconds(3600000)), "1h");
  EXPECT_EQ(FormatDuration(std::chrono::milliseconds(0)), "0s");
}

TEST(ConvertTest, Urls) {
  std::string err;
  EXPECT_TRUE(ParseUrl("http://localhost:8000", "", {"http", "https"}, &err));
  EXPECT_TRUE(ParseUrl("https://s3.amazonaws.com", "", {"http", "https"}, &err));
  EXPECT_FALSE(ParseUrl("localhost:8000", "\"localhost:8000\"", {"http", "https"}, &err));
  EXPECT_EQ(err, "expected a URL like http://host:port, got \"localhost:8000\"");
  EXPECT_FALSE(ParseUrl("ftp://x", "\"ftp://x\"", {"http", "https"}, &err));
  EXPECT_EQ(err, "URL scheme of \"ftp://x\" is not one of http://, https://");
  EXPECT_FALSE(ParseUrl("http://a b", "\"http://a b\"", {}, &err));
  EXPECT_FALSE(ParseUrl("http://", "\"http://\"", {}, &err));
}

TEST(ConvertTest, CoreSchemaKinds) {
  EXPECT_EQ(CoreSchemaKind(""), 'n');
  EXPECT_EQ(CoreSchemaKind("~"), 'n');
  EXPECT_EQ(CoreSchemaKind("true"), 'b');
  EXPECT_EQ(CoreSchemaKind("yes"), 's');
  EXPECT_EQ(CoreSchemaKind("0123"), 'i');
  EXPECT_EQ(CoreSchemaKind("0x1f"), 'i');
  EXPECT_EQ(CoreSchemaKind("1.5"), 'f');
  EXPECT_EQ(CoreSchemaKind("abc"), 's');
}

TEST(ConvertTest, QuoteWritesAYamlScalarThatIsPrintable) {
  EXPECT_EQ(Quote("a\"b\\c\n\x01\x1b[31m"), "\"a\\\"b\\\\c\\n\\u0001\\u001b[31m\"");
  // YAML may not hold DEL, C1 controls, U+FEFF, U+FFFE/U+FFFF raw, and folds U+0085 / U+2028 /
  // U+2029 as line breaks: each is escaped. Other text, non-ASCII included, stays as it is.
  EXPECT_EQ(Quote("\x7f \xC2\x85 \xC2\x9F \xE2\x80\xA8 \xE2\x80\xA9 \xEF\xBB\xBF \xEF\xBF\xBF"),
            "\"\\x7f \\x85 \\x9f \\u2028 \\u2029 \\ufeff \\uffff\"");
  EXPECT_EQ(Quote("h\xC3\xA9 \xE6\x97\xA5 \xC2\xA0"), "\"h\xC3\xA9 \xE6\x97\xA5 \xC2\xA0\"");
  EXPECT_EQ(Quote("bad \xFF"), "\"bad \xEF\xBF\xBD\"");  // invalid UTF-8: U+FFFD
}

}  // namespace
}  // namespace esper::config::detail
