#include "config/tree.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace esper::config::detail {
namespace {

std::unique_ptr<Node> Parse(std::string_view text, std::vector<YamlProblem>* p) { return ParseYaml(text, 0, p); }

TEST(TreeTest, BuildsMappingsSequencesAndScalarsWithMarks) {
  std::vector<YamlProblem> p;
  auto root = Parse("a:\n  b: 1\n  c: \"x\"\nlist:\n  - one\n  - {k: v}\n", &p);
  ASSERT_TRUE(root);
  EXPECT_TRUE(p.empty());
  const Node* a = root->Find("a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->kind, Node::Kind::kMap);
  const Node* b = a->Find("b");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->text, "1");
  EXPECT_TRUE(b->plain);
  EXPECT_EQ(b->src.line, 2u);
  EXPECT_EQ(b->src.col, 6u);
  EXPECT_EQ(b->key_line, 2u);
  EXPECT_EQ(b->key_col, 3u);
  EXPECT_FALSE(a->Find("c")->plain);
  const Node* list = root->Find("list");
  ASSERT_EQ(list->kind, Node::Kind::kSeq);
  ASSERT_EQ(list->children.size(), 2u);
  EXPECT_EQ(list->children[0]->text, "one");
  EXPECT_EQ(list->children[1]->Find("k")->text, "v");
}

TEST(TreeTest, LargeMappingsAreIndexed) {
  std::string text;
  for (int i = 0; i < 100; ++i) text += fmt::format("k{}: {}\n", i, i);
  std::vector<YamlProblem> p;
  auto root = Parse(text, &p);
  ASSERT_TRUE(root);
  EXPECT_FALSE(root->index.empty());
  EXPECT_EQ(root->Find("k77")->text, "77");
  EXPECT_EQ(root->Find("k100"), nullptr);
}

TEST(TreeTest, DuplicatesAreFoundInIndexedMappingsToo) {
  std::string text;
  for (int i = 0; i < 50; ++i) text += fmt::format("k{}: {}\n", i, i);
  text += "k7: again\nk49: again\n";
  std::vector<YamlProblem> p;
  auto root = Parse(text, &p);
  ASSERT_TRUE(root);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].message, "duplicate key \"k7\" (first defined at line 8)");
  EXPECT_EQ(p[1].line, 52u);
  EXPECT_EQ(root->children.size(), 50u);
  EXPECT_EQ(root->Find("k7")->text, "7");
  for (int i = 0; i < 50; ++i) ASSERT_EQ(root->Find(fmt::format("k{}", i))->text, std::to_string(i));
}

TEST(TreeTest, DuplicateKeysAreReportedAndTheFirstKept) {
  std::vector<YamlProblem> p;
  auto root = Parse("a: 1\nb: 2\na: 3\n", &p);
  ASSERT_TRUE(root);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].line, 3u);
  EXPECT_EQ(p[0].col, 1u);
  EXPECT_EQ(p[0].message, "duplicate key \"a\" (first defined at line 1)");
  EXPECT_EQ(root->Find("a")->text, "1");
}

TEST(TreeTest, AliasesAreRejectedClearly) {
  std::vector<YamlProblem> p;
  auto root = Parse("base: &b\n  x: 1\nother: *b\n", &p);
  ASSERT_TRUE(root);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].line, 3u);
  EXPECT_EQ(p[0].col, 8u);
  EXPECT_EQ(p[0].message, "aliases (*b) are not supported; repeat the value instead");
  EXPECT_EQ(root->Find("other"), nullptr);
}

TEST(TreeTest, SyntaxErrorsCarryLineAndColumn) {
  std::vector<YamlProblem> p;
  auto root = Parse("a: 1\nb: [1, 2\nc: 3\n", &p);
  EXPECT_FALSE(root);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_GT(p[0].line, 1u);
  EXPECT_EQ(p[0].message.rfind("YAML syntax error: ", 0), 0u) << p[0].message;
}

TEST(TreeTest, RejectsWhatAConfigCannotBe) {
  std::vector<YamlProblem> p;
  EXPECT_FALSE(Parse("just a scalar\n", &p));
  EXPECT_EQ(p.back().message,
            "the top level of a configuration file must be a mapping of sections (\"section:\" lines)");
  EXPECT_FALSE(Parse("- a\n- b\n", &p));
  EXPECT_FALSE(Parse("a: 1\n---\nb: 2\n", &p));
  EXPECT_EQ(p.back().message, "a configuration file holds one YAML document; found a second '---'");
  EXPECT_FALSE(Parse("? [a, b]\n: 1\n", &p));
  EXPECT_EQ(p.back().message, "a key must be a plain value, not a mapping or sequence");
  p.clear();
  auto r = Parse("a.b: 1\n", &p);
  ASSERT_TRUE(r);
  EXPECT_EQ(p.back().message, "key \"a.b\" contains '.', which separates levels; nest it instead");
  p.clear();
  r = Parse("a: !!str 5\n", &p);
  ASSERT_TRUE(r);
  EXPECT_EQ(p.back().message,
            "explicit tags (tag:yaml.org,2002:str) are not supported; the schema gives each key its type");
}

TEST(TreeTest, DepthIsBounded) {
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += "[";
  std::vector<YamlProblem> p;
  EXPECT_FALSE(Parse("a: " + deep, &p));
  EXPECT_EQ(p.back().message, "nesting deeper than 64 levels");
}

TEST(TreeTest, EmptyDocumentIsAnEmptyMapping) {
  std::vector<YamlProblem> p;
  for (const char* t : {"", "# only a comment\n", "---\n", "~\n"}) {
    auto r = Parse(t, &p);
    ASSERT_TRUE(r) << t;
    EXPECT_EQ(r->kind, Node::Kind::kMap);
    EXPECT_TRUE(r->children.empty());
  }
  EXPECT_TRUE(p.empty());
}

}  // namespace
}  // namespace esper::config::detail
