#include "esper/config/config.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

extern char** environ;  // NOLINT
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "testing/process.h"

namespace esper::config {
namespace {

namespace fs = std::filesystem;

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int kReloads = 40;
#else
constexpr int kReloads = 200;
#endif

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("esper_config_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    path_ = (dir_ / "service.yaml").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes generation k atomically (write + rename), as a deploy tool would.
  void Write(int k, bool broken = false) {
    std::string tmp = path_ + ".tmp";
    {
      std::ofstream out(tmp);
      out << "service:\n  name: svc\ndatabase:\n  port: " << 1000 + k << "\ntraining:\n  a: " << k
          << "\n  b: " << k << "\n";
      if (broken) out << "  b: duplicate\n";
    }
    fs::rename(tmp, path_);
  }

  LoadOptions Options() const {
    LoadOptions o;
    o.files = {path_};
    o.environment = std::map<std::string, std::string>{};
    return o;
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(ConfigTest, CreateFailsWithEveryErrorAndSucceedsOnValidInput) {
  Write(1, /*broken=*/true);
  auto bad = Config::Create(Options());
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("duplicate key \"b\""), std::string::npos);
  Write(1);
  auto cfg = Config::Create(Options());
  ASSERT_TRUE(cfg) << cfg.error().ToString();
  EXPECT_EQ((*cfg)->snapshot()->database().port, 1001);
  EXPECT_EQ((*cfg)->generation(), 1u);
}

TEST_F(ConfigTest, ReloadSwapsAndCallsBackAndAFailedReloadKeepsTheOldSnapshot) {
  Write(1);
  auto cfg = Config::Create(Options()).value();
  std::vector<std::pair<int, int>> changes;
  auto id = cfg->Subscribe([&](const Config::Snap& old_s, const Config::Snap& new_s) {
    changes.emplace_back(old_s->database().port, new_s->database().port);
  });
  auto held = cfg->snapshot();
  Write(2);
  ASSERT_TRUE(cfg->Reload());
  EXPECT_EQ(cfg->snapshot()->database().port, 1002);
  EXPECT_EQ(held->database().port, 1001);  // a reader's snapshot never changes under it
  EXPECT_EQ(cfg->generation(), 2u);

  Write(3, /*broken=*/true);
  std::vector<Diagnostic> d;
  auto st = cfg->Reload(&d);
  ASSERT_FALSE(st);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].origin.line, 8);
  EXPECT_EQ(cfg->snapshot()->database().port, 1002);
  EXPECT_EQ(cfg->generation(), 2u);
  ConfigStats stats = cfg->get_stats();
  EXPECT_EQ(stats.generation, 2u);
  EXPECT_EQ(stats.reloads, 1u);
  EXPECT_EQ(stats.failed_reloads, 1u);
  EXPECT_EQ(stats.subscribers, 1u);

  cfg->Unsubscribe(id);
  Write(4);
  ASSERT_TRUE(cfg->Reload());
  EXPECT_EQ(changes, (std::vector<std::pair<int, int>>{{1001, 1002}}));
  stats = cfg->get_stats();
  EXPECT_EQ(stats.reloads, 2u);
  EXPECT_EQ(stats.subscribers, 0u);
}

// Readers on several threads check that every snapshot they see is whole (a == b, port = 1000 + a)
// and that generations only move forward, while one thread rewrites and reloads the file.
TEST_F(ConfigTest, ReadersNeverSeeAHalfLoadedConfigDuringReloads) {
  Write(0);
  auto cfg = Config::Create(Options()).value();
  std::atomic<int> last_seen_by_callback{0};
  std::atomic<int> callback_errors{0};
  cfg->Subscribe([&](const Config::Snap& o, const Config::Snap& n) {
    int a_old = o->Get<int>("training.a").value();
    int a_new = n->Get<int>("training.a").value();
    if (a_new != a_old + 1) callback_errors.fetch_add(1);
    last_seen_by_callback.store(a_new);
  });
  std::atomic<bool> stop{false};
  std::atomic<long> reads{0};
  std::atomic<int> torn{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      int prev = -1;
      while (!stop.load(std::memory_order_relaxed)) {
        auto s = cfg->snapshot();
        int a = s->Get<int>("training.a").value();
        int b = s->Get<int>("training.b").value();
        if (a != b || s->database().port != 1000 + a || a < prev) torn.fetch_add(1);
        prev = a;
        reads.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (int k = 1; k <= kReloads; ++k) {
    Write(k);
    ASSERT_TRUE(cfg->Reload()) << k;
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(callback_errors.load(), 0);
  EXPECT_EQ(last_seen_by_callback.load(), kReloads);
  EXPECT_EQ(cfg->generation(), static_cast<std::uint64_t>(kReloads) + 1);
  EXPECT_GT(reads.load(), 0);
}

TEST_F(ConfigTest, ConcurrentReloadsAreSerialised) {
  Write(7);
  auto cfg = Config::Create(Options()).value();
  std::atomic<int> calls{0}, inside{0}, overlaps{0}, broken_chain{0};
  // Serialised: callbacks never overlap, and each one's old snapshot is the previous one's new.
  // `last` is a plain variable on purpose: TSan reports overlapping callbacks that touch it.
  const Snapshot* last = cfg->snapshot().get();
  cfg->Subscribe([&](const Config::Snap& old_snap, const Config::Snap& new_snap) {
    if (inside.fetch_add(1) != 0) overlaps.fetch_add(1);
    if (old_snap.get() != last) broken_chain.fetch_add(1);
    std::this_thread::sleep_for(std::chrono::microseconds(200));  // room for another to overlap
    last = new_snap.get();
    calls.fetch_add(1);
    inside.fetch_sub(1);
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kReloads / 8; ++i) EXPECT_TRUE(cfg->Reload());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(broken_chain.load(), 0);
  EXPECT_EQ(last, cfg->snapshot().get());
  EXPECT_EQ(calls.load(), 4 * (kReloads / 8));
  EXPECT_EQ(cfg->generation(), 1u + 4u * (kReloads / 8));
}

}  // namespace
}  // namespace esper::config

namespace esper::config {
namespace {

// get_config() reads the real process environment, so it runs in a forked child whose
// environment the test sets; the parent's environment is untouched.
TEST_F(ConfigTest, GetConfigLoadsOnceFromEsperConfig) {
  Write(5);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    setenv("ESPER_CONFIG", path_.c_str(), 1);
    // Whatever the machine sets must not change the outcome.
    for (char** e = environ; *e;) {
      std::string kv(*e);
      std::string name = kv.substr(0, kv.find('='));
      if (name.rfind("ESPER_", 0) == 0 && name != "ESPER_CONFIG") {
        unsetenv(name.c_str());
      } else {
        ++e;
      }
    }
    for (const char* v : {"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "S3_ENDPOINT_URL"}) unsetenv(v);
    auto c = get_config();
    if (!c) _exit(2);
    if ((*c)->snapshot()->database().port != 1005) _exit(3);
    auto again = get_config();
    if (!again || *again != *c) _exit(4);
    _exit(0);
  }
  EXPECT_EQ(esper::testing::WaitForChild(pid), 0) << "2-4: a failed check in the child; -1: it hung";
}

}  // namespace
}  // namespace esper::config
