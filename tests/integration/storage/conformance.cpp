// The conformance suite's frame: the registries of stores and cases, and a main() that registers
// one test per (store, case) — after every static initializer has run, whatever their order.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <set>

#include "integration/storage/conformance_case.h"

namespace esper::storage::testing {
namespace {

std::vector<StoreFactory>& Stores() {
  static std::vector<StoreFactory> stores;
  return stores;
}
std::vector<Case>& Cases() {
  static std::vector<Case> cases;
  return cases;
}

std::string MakeLocalDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "esper-conformance-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return {};
  return tmpl;
}

class ConformanceTest : public ::testing::Test {
 public:
  ConformanceTest(const StoreFactory* factory, const Case* c) : factory_(factory), case_(c) {}
  void TestBody() override {
    auto sut = factory_->make();
    ASSERT_TRUE(sut) << "the store factory failed: " << sut.error();
    ASSERT_TRUE(sut->store) << "the store factory returned no store";
    Env env(*factory_, std::move(*sut), case_->tags);
    case_->fn(env);
  }

 private:
  const StoreFactory* factory_;
  const Case* case_;
};

class DeclaredDeviationsTest : public ::testing::Test {
 public:
  explicit DeclaredDeviationsTest(const StoreFactory* factory) : factory_(factory) {}
  void TestBody() override {
    std::set<std::string_view> known;
    for (const Case& c : Cases()) known.insert(c.tags.begin(), c.tags.end());
    for (const auto& [tag, why] : factory_->deviations) {
      EXPECT_TRUE(known.count(tag)) << "store '" << factory_->name << "' declares deviation '"
                                    << tag << "' (" << why << "), which no conformance case knows";
    }
  }

 private:
  const StoreFactory* factory_;
};

void RegisterAll() {
  for (const StoreFactory& f : Stores()) {
    const std::string suite = "Conformance_" + f.name;
    ::testing::RegisterTest(suite.c_str(), "DeclaredDeviationsAreKnown", nullptr, nullptr, __FILE__,
                            __LINE__, [&f]() -> ::testing::Test* { return new DeclaredDeviationsTest(&f); });
    for (const Case& c : Cases()) {
      std::string name = c.name;
      for (std::string_view tag : c.tags) {
        if (f.deviations.count(tag)) name += fmt::format("_KnownDeviation_{}", tag);
      }
      ::testing::RegisterTest(suite.c_str(), name.c_str(), nullptr, nullptr, __FILE__, __LINE__,
                              [&f, &c]() -> ::testing::Test* { return new ConformanceTest(&f, &c); });
    }
  }
}

}  // namespace

bool RegisterStoreFactory(StoreFactory factory) {
  for (char ch : factory.name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) {
      std::fprintf(stderr, "conformance: store name '%s' must be letters and digits\n",
                   factory.name.c_str());
      std::abort();
    }
  }
  Stores().push_back(std::move(factory));
  return true;
}

bool RegisterCase(Case c) {
  Cases().push_back(std::move(c));
  return true;
}

Env::Env(const StoreFactory& factory, StoreUnderTest sut, std::vector<std::string_view> tags)
    : factory_(factory), sut_(std::move(sut)), tags_(std::move(tags)), local_dir_(MakeLocalDir()) {
  EXPECT_FALSE(local_dir_.empty()) << "could not make a local temporary directory";
}

Env::~Env() {
  sut_.store.reset();      // the store first: its threads may still use the resources
  sut_.resources.reset();
  std::error_code ec;
  if (!local_dir_.empty()) std::filesystem::remove_all(local_dir_, ec);
}

bool Env::Deviates(std::string_view tag) const {
  return factory_.deviations.count(tag) &&
         std::find(tags_.begin(), tags_.end(), tag) != tags_.end();
}

void Env::NoteDeviation(std::string_view tag, bool conformed, std::string_view what) {
  const auto it = factory_.deviations.find(tag);
  const std::string note =
      conformed ? fmt::format("{}: declared deviation {} NOT observed here ({}): the server "
                              "conformed — if it always does now, remove the declaration",
                              factory_.name, tag, what)
                : fmt::format("{}: known server deviation {} observed ({}): {}", factory_.name, tag,
                              what, it->second);
  ::testing::Test::RecordProperty(std::string("deviation_") + std::string(tag), note);
  std::printf("[ DEVIATION ] %s\n", note.c_str());
}

}  // namespace esper::storage::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  esper::storage::testing::RegisterAll();
  return RUN_ALL_TESTS();
}
