#include "config/source_line.h"

#include <gtest/gtest.h>

#include "config/tree.h"

namespace esper::config::detail {
namespace {

// Line `line` (1-based) of `yaml` as a diagnostic at `col` shows it: "text" and the caret, "^" at
// its byte, e.g. {"  port: ***", 9}.
ShownLine Show(const std::string& yaml, std::uint32_t line, std::uint32_t col = 0) {
  std::size_t b = 0;
  for (std::uint32_t l = 1; l < line; ++l) b = yaml.find('\n', b) + 1;
  std::size_t e = yaml.find('\n', b);
  return MaskLine(std::string_view(yaml).substr(b, e == std::string::npos ? std::string::npos : e - b), line - 1,
                  SecretSpans(yaml), col);
}

TEST(SourceLine, MasksSecretValuesWhereverTheErrorIs) {
  const std::string y = "service: {name: x}\ndatabase: {password: hunter2, port: abc}\n";
  auto s = Show(y, 2, 37);
  EXPECT_EQ(s.text, "database: {password: ***, port: abc}");
  EXPECT_EQ(s.caret, 33);  // still under "abc"
  EXPECT_EQ(Show(y, 1).text, "service: {name: x}");
}

TEST(SourceLine, MasksTaggedAnchoredQuotedAndBlockValues) {
  EXPECT_EQ(Show("password: !!str hunter2\n", 1).text, "password: ***");
  EXPECT_EQ(Show("password: &a \"hunter2\"  # c\n", 1).text, "password: ***  # c");
  const std::string block = "db:\n  password: |\n    hunter2\n    more\n  port: 1\n";
  EXPECT_EQ(Show(block, 2).text, "  password: ***");
  EXPECT_EQ(Show(block, 3).text, "***");  // the value goes on from the line before
  EXPECT_EQ(Show(block, 5).text, "  port: 1");
  const std::string nested = "secrets:\n  db: hunter2\n  list: [a, b]\nport: 1\n";  // a secret section
  EXPECT_EQ(Show(nested, 2).text, "  ***");
  EXPECT_EQ(Show(nested, 3).text, "***");
  EXPECT_EQ(Show(nested, 4).text, "port: 1");
  EXPECT_EQ(Show("api:\n  key: hunter2\n", 2).text, "  key: ***");  // "api" + "key" across levels
  EXPECT_EQ(Show("x: {private-key: a, x-api-key: b, apiKey: c, tokenizer_path: d}\n", 1).text,
            "x: {private-key: ***, x-api-key: ***, apiKey: ***, tokenizer_path: d}");
}

TEST(SourceLine, MasksUrlsWithCredentials) {
  EXPECT_EQ(Show("s3: {endpoint_url: \"http://ak:pw@h\", pool_size: x}\n", 1).text,
            "s3: {endpoint_url: ***, pool_size: x}");
  EXPECT_EQ(Show("redis:\n  url: redis://h:6379/0?password=pw\n", 2).text, "  url: ***");
  EXPECT_EQ(Show("s3:\n  endpoint_url: http://h:9000\n", 2).text, "  endpoint_url: http://h:9000");
}

TEST(SourceLine, PastASyntaxErrorAnythingThatMayBeASecretIsMasked) {
  // The value of a secret key did not parse: the rest of the file is masked.
  EXPECT_EQ(Show("a: 1\npassword: \"hunter2\n", 2).text, "password***");
  // The error comes first on the line: what follows it names a secret.
  auto s = Show("x: @oops {password: hunter2}\n", 1, 4);
  EXPECT_EQ(s.text, "x: ***");
  EXPECT_EQ(s.caret, 4);
  EXPECT_EQ(Show("x: @oops http://u:pw@h\n", 1, 4).text, "x: ***");
  EXPECT_EQ(Show("x: @oops plain\n", 1, 4).text, "x: @oops plain");  // nothing secret-looking
}

TEST(SourceLine, CaretCountsCharactersAndLongLinesAreCut) {
  auto s = Show("n: {a: \xC3\xA9\xC3\xA9, password: x, b: [}\n", 1, 28);  // column 28 is '['
  EXPECT_EQ(s.text, "n: {a: \xC3\xA9\xC3\xA9, password: ***, b: [}");
  EXPECT_EQ(s.caret, 32);  // its byte in the shown text (two 2-byte characters, "***" for "x")
  std::string huge = "k: " + std::string(100000, 'v') + "\n";
  EXPECT_EQ(Show(huge, 1).text.size(), 400u);
  EXPECT_EQ(MaskLine("a\r", 0, {}, 0).text, "a");
}

}  // namespace
}  // namespace esper::config::detail
