// How the conformance cases are written (conformance_cases.cpp); stores never include this.
//
//   CONFORMANCE_CASE(GetSuffixRange, {kSuffixRangeWrong}) {
//     ObjectStore& s = env.store();
//     ...
//     EXPECT_CONFORMS(env, kSuffixRangeWrong, got && got->body == "xyz", "bytes=-3 is the end");
//   }
//
// A case is a function of an Env; its list names the deviations it may meet. EXPECT_CONFORMS is
// EXPECT_TRUE, unless the store declared that deviation: then it records what happened (a test
// property and a line on stdout) without failing.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "integration/storage/conformance.h"

namespace esper::storage::testing {

class Env {
 public:
  Env(const StoreFactory& factory, StoreUnderTest sut, std::vector<std::string_view> tags);
  ~Env();

  ObjectStore& store() { return *sut_.store; }
  const std::string& bucket() const { return sut_.bucket; }
  const std::string& store_name() const { return factory_.name; }
  /// Destroys the store now (what a destruction test needs); store() is invalid afterwards.
  void DestroyStore() { sut_.store.reset(); }
  /// Whether the store declared `tag` and the case listed it.
  bool Deviates(std::string_view tag) const;
  /// Records the outcome of a check the store declared a deviation for.
  void NoteDeviation(std::string_view tag, bool conformed, std::string_view what);
  /// A fresh local directory for file bodies and targets (removed after the test).
  const std::string& local_dir() const { return local_dir_; }

 private:
  const StoreFactory& factory_;
  StoreUnderTest sut_;
  std::vector<std::string_view> tags_;
  std::string local_dir_;
};

using CaseFn = void (*)(Env&);
struct Case {
  const char* name;
  CaseFn fn;
  std::vector<std::string_view> tags;
};
bool RegisterCase(Case c);

}  // namespace esper::storage::testing

#define CONFORMANCE_CASE(Name, ...)                                                           \
  static void ConformanceCase_##Name(::esper::storage::testing::Env& env);                    \
  static const bool kConformanceCase_##Name = ::esper::storage::testing::RegisterCase(        \
      {#Name, &ConformanceCase_##Name, std::vector<std::string_view> __VA_ARGS__});           \
  static void ConformanceCase_##Name([[maybe_unused]] ::esper::storage::testing::Env& env)

#define EXPECT_CONFORMS(env, tag, cond, what)                 \
  do {                                                        \
    const bool conformance_ok_ = static_cast<bool>(cond);     \
    if ((env).Deviates(tag)) {                                \
      (env).NoteDeviation(tag, conformance_ok_, what);        \
    } else {                                                  \
      EXPECT_TRUE(conformance_ok_) << #cond << ": " << what;  \
    }                                                         \
  } while (false)
