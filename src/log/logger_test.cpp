#include "esper/log/logger.h"

#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <map>
#include <thread>

#include "esper/core/secret.h"
#include "testing/threads.h"
#include "testing/wait.h"
#include "log/test_util.h"

#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <set>

namespace esper::log {
namespace {

struct Fixture {
  std::shared_ptr<MemorySink> mem = std::make_shared<MemorySink>();
  std::unique_ptr<Logger> logger;
  explicit Fixture(Options o = {}, Format f = Format::kJson) {
    o.level_from_env = false;
    if (o.sinks.empty()) o.sinks.push_back({.sink = mem, .format = f});
    auto l = Logger::Create(std::move(o));
    EXPECT_TRUE(l.has_value()) << (l ? "" : l.error().ToString());
    logger = std::move(*l);
  }
};

TEST(LoggerTest, LogsMessageAndFieldsAsJson) {
  Fixture f({.name = "tamiyo", .level = Level::kTrace, .context = {{"service", "tamiyo"}}});
  std::string name = "conv1";
  ESPER_LOG_INFO(f.logger, "Processing health signal for {} ({}, {:.2f})", name, 42, 0.5,
                 kv("layer_id", 5), kv("health_score", 0.85), kv("ok", true), kv("who", "me"));
  ASSERT_TRUE(f.logger->Flush());
  auto lines = f.mem->lines();
  ASSERT_EQ(lines.size(), 1u);
  const std::string& l = lines[0];
  EXPECT_NE(l.find("\"level\":\"INFO\""), std::string::npos) << l;
  EXPECT_NE(l.find("\"logger\":\"tamiyo\""), std::string::npos) << l;
  EXPECT_NE(l.find("\"msg\":\"Processing health signal for conv1 (42, 0.50)\""), std::string::npos) << l;
  EXPECT_NE(l.find("\"service\":\"tamiyo\",\"layer_id\":5,\"health_score\":0.85,\"ok\":true,\"who\":\"me\"}"),
            std::string::npos) << l;
}

struct Point {
  int x, y;
};

}  // namespace
}  // namespace esper::log

template <>
struct fmt::formatter<esper::log::Point> : fmt::formatter<std::string_view> {
  template <class Ctx>
  auto format(const esper::log::Point& p, Ctx& ctx) const {
    return fmt::format_to(ctx.out(), "({}, {})", p.x, p.y);
  }
};

namespace esper::log {
namespace {

TEST(LoggerTest, FormatsAnyFmtType) {
  Fixture f({}, Format::kText);
  std::vector<std::string> v{"a", "b"};
  std::map<std::string, int> m{{"k", 1}};
  Secret s("hunter2");
  ESPER_LOG_WARN(f.logger, "v={} m={} p={} secret={} c={} b={}", v, m, Point{1, 2}, s, 'x', false,
                 kv("pt", Point{3, 4}));
  ASSERT_TRUE(f.logger->Flush());
  auto lines = f.mem->lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("WARN - v=[\\\"a\\\", \\\"b\\\"] m={\\\"k\\\": 1} p=(1, 2) secret=*** c=x b=false [pt=\"(3, 4)\"]"),
            std::string::npos)
      << lines[0];
  EXPECT_EQ(lines[0].find("hunter2"), std::string::npos);
}

TEST(LoggerTest, VectorsAreEncodedAsBinaryAndPrintLikeFmt) {
  Fixture f({}, Format::kLogfmt);
  std::vector<int> vi{1, -2, 3};
  std::vector<std::string> vs{"a b", "q\"uote", ""};
  std::vector<double> vd{};
  std::vector<std::string_view> vsv{"x"};
  std::vector<Point> vp{{1, 2}};  // element type without a binary codec: caller-side fallback
  ESPER_LOG_INFO(f.logger, "{}|{}|{}|{}|{}", vi, vs, vd, vsv, vp, kv("v", vi));
  ASSERT_TRUE(f.logger->Flush());
  auto kvs = testing::ParseLogfmt(f.mem->lines().at(0));
  ASSERT_TRUE(kvs);
  EXPECT_EQ((*kvs)[3].second, fmt::format("{}|{}|{}|{}|{}", vi, vs, vd, vsv, vp));
  EXPECT_EQ((*kvs)[4], (std::pair<std::string, std::string>{"v", "[1, -2, 3]"}));
}

TEST(LoggerTest, MessagesMatchFmtWhateverTheFormatString) {
  // The backend writes plain "{}" strings itself and hands anything else to fmt: both must print
  // exactly what fmt::format prints.
  Fixture f({}, Format::kLogfmt);
  const std::string s = "a{b}c";
  const int64_t big = INT64_MIN;
  const uint8_t u8 = 200;
  ESPER_LOG_INFO(f.logger, "plain {} {} {} {} {}", 1, -2.5, s, big, u8);
  ESPER_LOG_INFO(f.logger, "{{literal}} {} }}{{ {}", 7, true);
  ESPER_LOG_INFO(f.logger, "{}{}", 'c', 0.1);
  ESPER_LOG_INFO(f.logger, "no arguments {{}}");
  ESPER_LOG_INFO(f.logger, "specs {:>5}|{:.3f}|{:x}", 42, 3.14159, 255);
  ESPER_LOG_INFO(f.logger, "indices {1} {0}", "a", "b");
  ESPER_LOG_INFO(f.logger, "mixed {} then {:04d}", s, 7);
  ASSERT_TRUE(f.logger->Flush());
  std::vector<std::string> want = {
      fmt::format("plain {} {} {} {} {}", 1, -2.5, s, big, u8),
      fmt::format("{{literal}} {} }}{{ {}", 7, true),
      fmt::format("{}{}", 'c', 0.1),
      fmt::format("no arguments {{}}"),
      fmt::format("specs {:>5}|{:.3f}|{:x}", 42, 3.14159, 255),
      fmt::format("indices {1} {0}", "a", "b"),
      fmt::format("mixed {} then {:04d}", s, 7),
  };
  auto lines = f.mem->lines();
  ASSERT_EQ(lines.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    auto kvs = testing::ParseLogfmt(lines[i]);
    ASSERT_TRUE(kvs) << lines[i];
    EXPECT_EQ((*kvs)[3].second, want[i]) << lines[i];
  }
}

TEST(LoggerTest, NamedPlaceholdersBecomeFieldsToo) {
  Fixture f({.context = {{"service", "tamiyo"}}});
  std::string layer = "conv\"1";
  ESPER_LOG_INFO(f.logger, "loaded {layer} in {ms:.1f} ms {{not a field}}", layer, 12.25, kv("ok", true));
  ESPER_LOG_INFO(f.logger, "step {step}/{total}", 3, 10);
  ASSERT_TRUE(f.logger->Flush());
  auto lines = f.mem->lines();
  ASSERT_EQ(lines.size(), 2u);
  auto o = testing::ParseFlatJson(lines[0]);
  ASSERT_TRUE(o) << lines[0];
  EXPECT_EQ(o->values["msg"], "loaded conv\"1 in 12.2 ms {not a field}");
  EXPECT_EQ(o->values["layer"], "conv\"1");
  EXPECT_EQ(o->values["ms"], "12.25");  // the field keeps the full value; the spec shapes the message
  EXPECT_EQ(o->values["ok"], "true");
  EXPECT_EQ(o->values["service"], "tamiyo");
  // Context fields, then the named ones in order, then kv().
  EXPECT_LT(lines[0].find("\"service\""), lines[0].find("\"layer\"")) << lines[0];
  EXPECT_LT(lines[0].find("\"layer\""), lines[0].find("\"ms\"")) << lines[0];
  EXPECT_LT(lines[0].find("\"ms\""), lines[0].find("\"ok\"")) << lines[0];
  EXPECT_NE(lines[0].find("\"ms\":12.25"), std::string::npos) << "numbers stay numbers: " << lines[0];
  auto o2 = testing::ParseFlatJson(lines[1]);
  ASSERT_TRUE(o2);
  EXPECT_EQ(o2->values["msg"], "step 3/10");
  EXPECT_EQ(o2->values["step"], "3");
  EXPECT_EQ(o2->values["total"], "10");
}

TEST(LoggerTest, NamedPlaceholdersInLogfmtAndTextAndSyncMode) {
  auto mem = std::make_shared<MemorySink>();
  auto text = std::make_shared<MemorySink>();
  auto logger = Logger::Create({.level_from_env = false,
                                .sinks = {{.sink = mem, .format = Format::kLogfmt}, {.sink = text, .format = Format::kText}},
                                .async = false});
  ASSERT_TRUE(logger);
  ESPER_LOG_WARN(logger, "health {score:.2f} for {layer_id}", 0.8512, 5);
  auto kvs = testing::ParseLogfmt(mem->lines().at(0));
  ASSERT_TRUE(kvs);
  EXPECT_EQ((*kvs)[3], (std::pair<std::string, std::string>{"msg", "health 0.85 for 5"}));
  EXPECT_EQ((*kvs)[4], (std::pair<std::string, std::string>{"score", "0.8512"}));
  EXPECT_EQ((*kvs)[5], (std::pair<std::string, std::string>{"layer_id", "5"}));
  EXPECT_NE(text->lines().at(0).find("health 0.85 for 5 [score=0.8512 layer_id=5]"), std::string::npos)
      << text->lines().at(0);
}

TEST(LoggerTest, ContextLoggersCarryTheirFieldsOnEveryLine) {
  Fixture f({.level = Level::kInfo, .context = {{"service", "tamiyo"}}});
  auto req = f.logger->With("request_id", "r-\"42\"").With("attempt", 2);
  auto layer = req.With("layer", 7).With("ok", true).With("ratio", 0.5);
  ESPER_LOG_INFO(req, "fetched {}", "k1", kv("bytes", 10));
  ESPER_LOG_WARN(layer, "slow {step}", 3);
  ESPER_LOG_DEBUG(req, "below the logger's level");  // the parent's level applies
  ESPER_LOG_INFO(f.logger, "plain");                 // the parent itself is unchanged
  ESPER_LOG_INFO(f.logger->With("once", std::string(40, 'o')), "through a temporary view");
  std::vector<std::thread> ts;
  for (int t = 0; t < 3; ++t)
    ts.emplace_back([&, t] {
      auto mine = req.With("thread", t);
      for (int i = 0; i < 100; ++i) ESPER_LOG_INFO(mine, "n {}", i);
    });
  for (auto& th : ts) th.join();
  ASSERT_TRUE(f.logger->Flush());
  auto lines = f.mem->lines();
  ASSERT_EQ(lines.size(), 304u);
  auto o = testing::ParseFlatJson(lines[0]);
  ASSERT_TRUE(o) << lines[0];
  EXPECT_EQ(o->values["request_id"], "r-\"42\"");
  EXPECT_EQ(o->values["attempt"], "2");
  EXPECT_EQ(o->values["bytes"], "10");
  EXPECT_NE(lines[0].find(",\"service\":\"tamiyo\",\"request_id\":\"r-\\\"42\\\"\",\"attempt\":2,\"bytes\":10}"),
            std::string::npos) << "context, bound fields, then the call's: " << lines[0];
  auto w = testing::ParseFlatJson(lines[1]);
  ASSERT_TRUE(w) << lines[1];
  EXPECT_EQ(w->values["msg"], "slow 3");
  EXPECT_EQ(w->values["layer"], "7");
  EXPECT_EQ(w->values["ok"], "true");
  EXPECT_EQ(w->values["ratio"], "0.5");
  EXPECT_EQ(w->values["step"], "3");
  EXPECT_NE(lines[1].find("\"ok\":true,\"ratio\":0.5"), std::string::npos) << "typed: " << lines[1];
  auto plain = testing::ParseFlatJson(lines[2]);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->values.count("request_id"), 0u);
  auto once = testing::ParseFlatJson(lines[3]);
  ASSERT_TRUE(once) << lines[3];
  EXPECT_EQ(once->values["once"], std::string(40, 'o'));
  std::map<std::string, int> per_thread;
  for (size_t i = 4; i < lines.size(); ++i) {
    auto l = testing::ParseFlatJson(lines[i]);
    ASSERT_TRUE(l) << lines[i];
    EXPECT_EQ(l->values["request_id"], "r-\"42\"");
    ++per_thread[l->values["thread"]];
  }
  EXPECT_EQ(per_thread, (std::map<std::string, int>{{"0", 100}, {"1", 100}, {"2", 100}}));
}

TEST(LoggerTest, ContextIsBoundedAndWorksInSyncModeAndSmallQueues) {
  auto mem = std::make_shared<MemorySink>();
  auto logger = Logger::Create({.level_from_env = false, .sinks = {{.sink = mem, .format = Format::kLogfmt}},
                                .queue_bytes = 4096, .async = false});
  ASSERT_TRUE(logger);
  auto c = (*logger)->With("big", std::string(5000, 'x')).With("after", 1);
  ESPER_LOG_INFO(c, "{}", std::string(3000, 'y'));
  auto kvs = testing::ParseLogfmt(mem->lines().at(0));
  ASSERT_TRUE(kvs);
  ASSERT_GE(kvs->size(), 5u);
  EXPECT_EQ((*kvs)[4].first, "big");
  EXPECT_LT((*kvs)[4].second.size(), detail::kMaxContextBytes);  // cut to the budget
  EXPECT_GT((*kvs)[4].second.size(), detail::kMaxContextBytes / 2);
  EXPECT_EQ(kvs->size(), 5u) << "a field that no longer fits is left out";
  EXPECT_EQ((*logger)->get_stats().truncated, 1u);  // the 3000-byte argument was cut to fit the queue
}

TEST(LoggerTest, LevelCheckedBeforeArgumentsAreEvaluated) {
  Fixture f({.level = Level::kWarn});
  int evaluated = 0;
  auto touch = [&] { return ++evaluated; };
  ESPER_LOG_INFO(f.logger, "x {}", touch());
  ESPER_LOG_DEBUG(f.logger, "x {}", touch());
  EXPECT_EQ(evaluated, 0);
  ESPER_LOG_ERROR(f.logger, "x {}", touch());
  EXPECT_EQ(evaluated, 1);
  f.logger->set_level(Level::kTrace);
  ESPER_LOG_TRACE(f.logger, "x {}", touch());
  EXPECT_EQ(evaluated, 2);
  ASSERT_TRUE(f.logger->Flush());
  EXPECT_EQ(f.mem->size(), 2u);
}


#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int kScale = 10;
#else
constexpr int kScale = 1;
#endif

using testing::ParseFlatJson;
using testing::ReadLines;
using testing::TempDir;

// A sink that blocks in Write() until released: stalls the backend deterministically.
class GateSink : public Sink {
 public:
  Status Write(std::string_view lines, std::chrono::system_clock::time_point) override {
    std::unique_lock lk(mu_);
    ++writes_;
    entered_.notify_all();
    open_cv_.wait(lk, [&] { return open_; });
    for (size_t p = 0; p < lines.size();) {
      size_t nl = lines.find('\n', p);
      lines_.emplace_back(lines.substr(p, nl - p));
      p = nl + 1;
    }
    return OkStatus();
  }
  void WaitEntered() {
    std::unique_lock lk(mu_);
    entered_.wait(lk, [&] { return writes_ > 0; });
  }
  void Open() {
    std::lock_guard lk(mu_);
    open_ = true;
    open_cv_.notify_all();
  }
  std::vector<std::string> lines() {
    std::lock_guard lk(mu_);
    return lines_;
  }

 private:
  std::mutex mu_;
  std::condition_variable entered_, open_cv_;
  int writes_ = 0;
  bool open_ = false;
  std::vector<std::string> lines_;
};

TEST(LoggerTest, FileSinksWithOwnLevelsAndFormats) {
  std::string dir = TempDir("multi_sink");
  auto json = FileSink::Create(dir + "/all.json");
  auto text = FileSink::Create(dir + "/warn.txt");
  ASSERT_TRUE(json && text);
  auto logger = Logger::Create({.name = "svc", .level = Level::kDebug, .level_from_env = false,
                                .sinks = {{.sink = *json, .format = Format::kJson},
                                          {.sink = *text, .format = Format::kLogfmt, .level = Level::kWarn}}});
  ASSERT_TRUE(logger);
  ESPER_LOG_DEBUG(logger, "debug {}", 1);
  ESPER_LOG_WARN(logger, "warn {}", 2, kv("k", "v w"));
  ASSERT_TRUE((*logger)->Flush());
  auto all = ReadLines(dir + "/all.json");
  ASSERT_EQ(all.size(), 2u);
  for (auto& l : all) ASSERT_TRUE(ParseFlatJson(l)) << l;
  EXPECT_EQ(ParseFlatJson(all[0])->values["msg"], "debug 1");
  auto warn = ReadLines(dir + "/warn.txt");
  ASSERT_EQ(warn.size(), 1u);
  auto kvs = testing::ParseLogfmt(warn[0]);
  ASSERT_TRUE(kvs);
  EXPECT_EQ(kvs->back(), (std::pair<std::string, std::string>{"k", "v w"}));
}

TEST(LoggerTest, NoLossInBlockingModeAcrossThreadsWithTinyQueues) {
  std::string dir = TempDir("no_loss");
  auto file = FileSink::Create(dir + "/out.log");
  ASSERT_TRUE(file);
  const int kThreads = 4, kPer = 50'000 / kScale;
  auto logger = Logger::Create({.level_from_env = false,
                                .sinks = {{.sink = *file, .format = Format::kLogfmt}},
                                .queue_bytes = 4096});
  ASSERT_TRUE(logger);
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < kPer; ++i) ESPER_LOG_INFO(logger, "m", kv("t", t), kv("i", i));
    });
  for (auto& th : ts) th.join();
  ASSERT_TRUE((*logger)->Flush());
  auto stats = (*logger)->get_stats();
  EXPECT_EQ(stats.processed, uint64_t(kThreads * kPer));
  EXPECT_EQ(stats.dropped, 0u);
  EXPECT_EQ(stats.queue_depth, 0u);
  EXPECT_GT(stats.high_water_bytes, 0u);
  EXPECT_GT(stats.avg_backend_ns, 0.0);
  // Every line present once, per-thread order kept (cross-thread order: see the causal test).
  std::vector<int> next(kThreads, 0);
  size_t n = 0;
  for (auto& l : ReadLines(dir + "/out.log")) {
    auto kvs = testing::ParseLogfmt(l);
    ASSERT_TRUE(kvs) << l;
    int t = std::stoi((*kvs)[4].second), i = std::stoi((*kvs)[5].second);
    ASSERT_EQ(i, next[t]) << "thread " << t;
    ++next[t];
    ++n;
  }
  EXPECT_EQ(n, size_t(kThreads * kPer));
}

TEST(LoggerTest, CausallyOrderedCallsAppearInOrderAcrossThreads) {
  auto mem = std::make_shared<MemorySink>();
  auto logger = Logger::Create({.level_from_env = false, .sinks = {{.sink = mem, .format = Format::kJson}},
                                .causal_timestamps = true});
  ASSERT_TRUE(logger);
  // Four threads pass a token; the holder logs the next sequence number. Each call
  // happens-before the next, so the output must be in sequence order with ordered timestamps.
  const int kThreads = 4, kTotal = 4000 / kScale;
  std::atomic<int> token{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      for (;;) {
        int v = token.load(std::memory_order_acquire);
        if (v >= kTotal) return;
        if (v % kThreads != t) { std::this_thread::yield(); continue; }
        ESPER_LOG_INFO(logger, "seq", kv("seq", v), kv("thread", t));
        token.store(v + 1, std::memory_order_release);
      }
    });
  for (auto& th : ts) th.join();
  ASSERT_TRUE((*logger)->Flush());
  auto lines = mem->lines();
  ASSERT_EQ(lines.size(), size_t(kTotal));
  std::string prev;
  for (int i = 0; i < kTotal; ++i) {
    auto o = ParseFlatJson(lines[i]);
    ASSERT_TRUE(o);
    ASSERT_EQ(o->values["seq"], std::to_string(i));
    ASSERT_LE(prev, o->values["ts"]);
    prev = o->values["ts"];
  }
}

// A record carries a pointer to its view's fields, so the fields must outlive the view until the
// backend has written every record that points to them (ASan checks the reads), and no longer.
TEST(LoggerTest, ContextFieldsOutliveTheirViewUntilWrittenThenAreFreed) {
  const size_t live_before = detail::LiveContextBlobs();
  auto gate = std::make_shared<GateSink>();
  auto logger = Logger::Create({.level_from_env = false, .sinks = {{.sink = gate, .format = Format::kLogfmt}},
                                .batch_bytes = 1});
  ASSERT_TRUE(logger);
  ESPER_LOG_INFO(*logger, "first");
  gate->WaitEntered();  // the backend is now stuck inside Write(): nothing else is read
  for (int i = 0; i < 1000; ++i) {
    auto view = (*logger)->With("request", fmt::format("r-{}", i)).With("attempt", i % 3);
    ESPER_LOG_INFO(view, "call {}", i);
  }  // every view gone while its record waits in the queue
  EXPECT_GE(detail::LiveContextBlobs(), live_before + 1000) << "freed while records still point to them";
  gate->Open();
  ASSERT_TRUE((*logger)->Flush());
  auto lines = gate->lines();
  ASSERT_EQ(lines.size(), 1001u);
  for (int i = 0; i < 1000; ++i) {
    auto kvs = testing::ParseLogfmt(lines[static_cast<size_t>(i) + 1]);
    ASSERT_TRUE(kvs) << lines[static_cast<size_t>(i) + 1];
    ASSERT_EQ(kvs->size(), 6u) << lines[static_cast<size_t>(i) + 1];
    EXPECT_EQ((*kvs)[4].second, fmt::format("r-{}", i));
    EXPECT_EQ((*kvs)[5].second, std::to_string(i % 3));
  }
  EXPECT_EQ(detail::LiveContextBlobs(), live_before) << "written, so freed (the flush ends a pass)";

  // A view may outlive its logger (not its calls): its fields are freed at once then.
  auto survivor = std::make_unique<ContextLogger>((*logger)->With("k", 1));
  ESPER_LOG_INFO(*survivor, "last");
  logger->reset();
  EXPECT_EQ(detail::LiveContextBlobs(), live_before + 1);
  survivor.reset();
  EXPECT_EQ(detail::LiveContextBlobs(), live_before);
  EXPECT_EQ(gate->lines().back().substr(gate->lines().back().find("msg=")), "msg=last k=1");
}

TEST(LoggerTest, DropModeCountsExactlyAndNeverDropsErrors) {
  auto gate = std::make_shared<GateSink>();
  auto logger = Logger::Create({.level_from_env = false, .sinks = {{.sink = gate}},
                                .policy = QueuePolicy::kDrop, .queue_bytes = 4096, .batch_bytes = 1});
  ASSERT_TRUE(logger);
  std::atomic<bool> at_error{false}, error_done{false};
  const int kSpam = 1000;
  std::thread producer([&] {
    ESPER_LOG_INFO(logger, "first");
    gate->WaitEntered();  // the backend is now stuck inside Write()
    for (int i = 0; i < kSpam; ++i) ESPER_LOG_INFO(logger, "spam {}", i);
    at_error = true;
    ESPER_LOG_ERROR(logger, "must not be dropped {}", 7);
    error_done = true;
  });
  ASSERT_TRUE(esper::testing::WaitUntil([&] { return at_error.load(); }));
  // Give an ERROR that did not wait time to finish (a pass cannot be caused by the pause: the
  // record can only get in once the gate opens).
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(error_done.load()) << "an ERROR record went through a full queue without waiting";
  // "first" took bytes [0, 16) (consumed, but the ring does not wrap over it until the end is
  // used); each "spam {}" record is 16 (header) + 4 (int) → 24 bytes: (4096 - 16) / 24 = 170 fit,
  // and the 171st would need to wrap onto the space still behind the read position.
  constexpr uint64_t kHeader = sizeof(esper::log::detail::RecordHeader);
  static_assert(kHeader == 16);
  const uint64_t kFit = (4096 - kHeader) / detail::Aligned8(kHeader + sizeof(int));
  EXPECT_EQ((*logger)->get_stats().dropped, kSpam - kFit);
  gate->Open();
  producer.join();
  ASSERT_TRUE((*logger)->Flush());
  auto lines = gate->lines();
  ASSERT_EQ(lines.size(), 1 + kFit + 1);
  EXPECT_NE(lines.back().find("ERROR - must not be dropped 7"), std::string::npos);
  for (uint64_t i = 0; i < kFit; ++i) EXPECT_NE(lines[1 + i].find(fmt::format("spam {}", i)), std::string::npos);
  auto st = (*logger)->get_stats();
  EXPECT_EQ(st.dropped, kSpam - kFit);
  EXPECT_EQ(st.processed, 1 + kFit + 1);
}

TEST(LoggerTest, UnboundedGrowsInsteadOfDroppingUpToItsCap) {
  auto gate = std::make_shared<GateSink>();
  auto logger = Logger::Create({.level_from_env = false, .sinks = {{.sink = gate}},
                                .policy = QueuePolicy::kUnbounded, .queue_bytes = 4096,
                                .unbounded_max_bytes = 1 << 20, .batch_bytes = 1});
  ASSERT_TRUE(logger);
  ESPER_LOG_INFO(logger, "first");
  gate->WaitEntered();
  for (int i = 0; i < 5000; ++i) ESPER_LOG_INFO(logger, "n {}", i);  // ~200 KB > 4096, < cap
  auto st = (*logger)->get_stats();
  EXPECT_EQ(st.dropped, 0u);
  gate->Open();
  ASSERT_TRUE((*logger)->Flush());
  st = (*logger)->get_stats();
  EXPECT_EQ(st.processed, 5001u);
  EXPECT_GT(st.high_water_bytes, 4096u);
  auto lines = gate->lines();
  ASSERT_EQ(lines.size(), 5001u);
  EXPECT_NE(lines.back().find("n 4999"), std::string::npos);
}

TEST(LoggerTest, FlushWritesEverythingLoggedBeforeIt) {
  std::string dir = TempDir("flush");
  auto file = FileSink::Create(dir + "/f.log");
  ASSERT_TRUE(file);
  auto logger = Logger::Create({.level_from_env = false, .sinks = {{.sink = *file}},
                                .idle_sleep = std::chrono::seconds(10)});  // only Flush wakes it
  ASSERT_TRUE(logger);
  for (int round = 1; round <= 5; ++round) {
    std::vector<std::thread> ts;
    for (int t = 0; t < 3; ++t)
      ts.emplace_back([&] { for (int i = 0; i < 100; ++i) ESPER_LOG_INFO(logger, "r{} {}", round, i); });
    for (auto& th : ts) th.join();
    ASSERT_TRUE((*logger)->Flush());
    EXPECT_EQ(ReadLines(dir + "/f.log").size(), size_t(300 * round));
  }
  (*logger)->Stop();
  auto st = (*logger)->Flush();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kFailedPrecondition);
}

TEST(LoggerTest, StopAndDestructorDrainEverything) {
  std::string dir = TempDir("stop");
  {
    auto file = FileSink::Create(dir + "/s.log");
    ASSERT_TRUE(file);
    auto logger = Logger::Create({.level_from_env = false, .sinks = {{.sink = *file}}, .queue_bytes = 8192});
    ASSERT_TRUE(logger);
    std::thread t([&] { for (int i = 0; i < 20'000 / kScale; ++i) ESPER_LOG_INFO(logger, "x {}", i); });
    t.join();  // the thread is gone before the logger: its queue is still drained
    for (int i = 0; i < 1000; ++i) ESPER_LOG_INFO(logger, "y {}", i);
  }  // destructor
  EXPECT_EQ(ReadLines(dir + "/s.log").size(), size_t(20'000 / kScale + 1000));
}

TEST(LoggerTest, BackendErrorsAreCountedAndReported) {
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  auto full = FileSink::Create("/dev/full");
  ASSERT_TRUE(full);
  std::mutex mu;
  std::vector<Error> seen;
  auto logger = Logger::Create({.level_from_env = false, .sinks = {{.sink = *full}},
                                .on_error = [&](const Error& e) { std::lock_guard lk(mu); seen.push_back(e); }});
  ASSERT_TRUE(logger);
  ESPER_LOG_INFO(logger, "lost to a full disk");
  // Let the backend write (and lose) the record before Flush() is called: Flush must still
  // report it (it reports errors since the previous Flush, not since the call began).
  EXPECT_TRUE(esper::testing::WaitUntil([&] { return (*logger)->get_stats().processed != 0; }));
  Status st = (*logger)->Flush();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kResourceExhausted);
  EXPECT_GE((*logger)->get_stats().backend_errors, 1u);
  EXPECT_TRUE((*logger)->Flush()) << "nothing new was lost: the error is reported once";
  std::lock_guard lk(mu);
  ASSERT_FALSE(seen.empty());
  EXPECT_NE(seen[0].message().find("/dev/full"), std::string::npos) << seen[0].ToString();
}

TEST(LoggerTest, SynchronousModeWritesOnTheCaller) {
  auto mem = std::make_shared<MemorySink>();
  auto logger = Logger::Create({.level_from_env = false, .sinks = {{.sink = mem}}, .async = false});
  ASSERT_TRUE(logger);
  ESPER_LOG_INFO(logger, "now {}", 1);
  EXPECT_EQ(mem->size(), 1u);  // no Flush needed
  EXPECT_TRUE((*logger)->Flush());
  EXPECT_EQ((*logger)->get_stats().processed, 1u);
}

TEST(LoggerTest, LongStringsAreCutAndCounted) {
  auto mem = std::make_shared<MemorySink>();
  auto logger = Logger::Create({.level_from_env = false, .sinks = {{.sink = mem, .format = Format::kJson}},
                                .queue_bytes = 4096, .max_string_bytes = 16});
  ASSERT_TRUE(logger);
  std::string s(100, 'a');
  ESPER_LOG_INFO(logger, "{}", s);
  ASSERT_TRUE((*logger)->Flush());
  EXPECT_EQ(ParseFlatJson(mem->lines().at(0))->values["msg"], std::string(16, 'a'));
  EXPECT_EQ((*logger)->get_stats().truncated, 1u);
}

TEST(LoggerTest, HugeRecordShrinksToFitASmallQueue) {
  auto mem = std::make_shared<MemorySink>();
  auto logger = Logger::Create({.level_from_env = false, .sinks = {{.sink = mem, .format = Format::kJson}},
                                .queue_bytes = 4096});
  ASSERT_TRUE(logger);
  std::string big(10'000, 'b');
  ESPER_LOG_INFO(logger, "{} {}", big, big, kv("also", big));
  ASSERT_TRUE((*logger)->Flush());
  ASSERT_EQ(mem->size(), 1u);
  auto o = ParseFlatJson(mem->lines()[0]);
  ASSERT_TRUE(o);
  EXPECT_GT(o->values["also"].size(), 100u);
  EXPECT_EQ((*logger)->get_stats().truncated, 1u);
}

// The header word keeps every field apart at its extremes: the largest size, every level, both
// flags, and a site address with high bits set (a stack object stands in for the static Site).
TEST(LoggerTest, RecordHeaderWordRoundTrips) {
  static constexpr detail::Site kSite{"f", "file.cpp", 1, false, nullptr, nullptr};
  detail::Site on_stack{"g", "file.cpp", 2, false, nullptr, nullptr};
  for (const detail::Site* site : {&kSite, static_cast<const detail::Site*>(&on_stack)}) {
    for (size_t size : {size_t{16}, size_t{24}, detail::kMaxRecordBytes}) {
      for (int l = 0; l <= static_cast<int>(Level::kOff); ++l) {
        for (uint32_t flags = 0; flags < 4; ++flags) {
          alignas(8) char rec[16];
          const uint64_t word = detail::PackRecordWord(size, static_cast<Level>(l), flags, site);
          const uint64_t ticks = ~uint64_t{0} - 5;
          std::memcpy(rec, &word, 8);
          std::memcpy(rec + 8, &ticks, 8);
          const detail::RecordInfo h = detail::ReadRecordHeader(rec);
          EXPECT_EQ(detail::RecordBytes(rec), size);
          EXPECT_EQ(h.level, static_cast<Level>(l));
          EXPECT_EQ(h.flags, flags);
          EXPECT_EQ(h.site, site);
          EXPECT_EQ(h.ticks, ticks);
          uint32_t first;
          std::memcpy(&first, rec, 4);
          EXPECT_NE(first, 0u);  // never taken for the ring's wrap marker
        }
      }
    }
  }
}

// A record's header holds its size in 14 bits of 8-byte units, so a big queue still takes at most
// detail::kMaxRecordBytes (128 KiB − 8) in one record: longer strings are cut to fit, counted.
TEST(LoggerTest, RecordsAreCutAtTheHeaderLimitWhateverTheQueue) {
  auto mem = std::make_shared<MemorySink>();
  auto logger = Logger::Create({.level_from_env = false, .sinks = {{.sink = mem, .format = Format::kJson}},
                                .queue_bytes = 4 << 20, .max_string_bytes = 1 << 20});
  ASSERT_TRUE(logger);
  std::string fits(100'000, 'f'), big(300'000, 'b');
  ESPER_LOG_INFO(logger, "{}", fits);
  ESPER_LOG_INFO(logger, "{}", big);
  ASSERT_TRUE((*logger)->Flush());
  ASSERT_EQ(mem->size(), 2u);
  EXPECT_EQ(ParseFlatJson(mem->lines()[0])->values["msg"], fits);
  const std::string cut = ParseFlatJson(mem->lines()[1])->values["msg"];
  EXPECT_GT(cut.size(), 60'000u);  // max_string halved until the record fits
  EXPECT_LE(cut.size(), detail::kMaxRecordBytes);
  EXPECT_EQ(cut, std::string(cut.size(), 'b'));
  EXPECT_EQ((*logger)->get_stats().truncated, 1u);
}

// Voluntary context switches of this process's logger backends (threads named "esper-log"):
// one per wake from the idle sleep.
uint64_t BackendWakeups() {
  uint64_t total = 0;
  for (const auto& task : esper::testing::TasksNamed("esper-log"))
    total += esper::testing::TaskStatus(task, "voluntary_ctxt_switches");
  return total;
}

TEST(LoggerTest, AnIdleBackendBacksOffAndATrickleStillArrives) {
  auto mem = std::make_shared<MemorySink>();
  auto logger = Logger::Create({.level_from_env = false, .sinks = {{.sink = mem}}});  // default sleeps
  ASSERT_TRUE(logger);
  ESPER_LOG_INFO(logger, "before");
  ASSERT_TRUE((*logger)->Flush());
  const uint64_t before = BackendWakeups();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  // At a fixed idle_sleep (500 µs) a second is ~2,000 wakes; doubling up to idle_sleep_max
  // (100 ms) makes it ~20.
  EXPECT_LT(BackendWakeups() - before, 200u);
  // A line logged into the long sleep is written without Flush() (within idle_sleep_max).
  ESPER_LOG_INFO(logger, "trickle");
  EXPECT_TRUE(esper::testing::WaitUntil([&] { return mem->size() >= 2; }, std::chrono::seconds(30)));
  ASSERT_EQ(mem->size(), 2u);
  EXPECT_NE(mem->lines()[1].find("trickle"), std::string::npos);
}

// A producer that passes half its queue while the backend is in a long idle sleep wakes it, so a
// queue that would fill before the sleep ends does not drop: 1,000 lines into a 4 KiB queue (170
// fit) while the backend would otherwise sleep for the next hour.
TEST(LoggerTest, AProducerPassingHalfItsQueueWakesALongSleepingBackend) {
  auto mem = std::make_shared<MemorySink>();
  auto logger = Logger::Create({.level_from_env = false, .sinks = {{.sink = mem}},
                                .policy = QueuePolicy::kDrop, .queue_bytes = 4096,
                                .idle_sleep = std::chrono::milliseconds(1),
                                .idle_sleep_max = std::chrono::hours(1)});
  ASSERT_TRUE(logger);
  ESPER_LOG_INFO(logger, "start");
  ASSERT_TRUE((*logger)->Flush());
  // After the Flush the backend sleeps 1 ms, 2, 4 ... 512 ms (ending about 1.02 s later), then
  // 1,024 ms: at 1.1 s it is inside that one, which would end ~0.9 s after the queue (~170 lines)
  // is full. Once woken it finds records and is back at 1 ms; at ~1,000 lines/s it keeps up as
  // long as it runs at least every ~150 ms (a loaded machine delays a thread by tens of ms: at
  // 5,000 lines/s this test dropped lines under a load average of 13 on 2 vCPUs).
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  for (int i = 0; i < 1000; ++i) {
    ESPER_LOG_INFO(logger, "line {}", i);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // ~1,000 lines/s at most
  }
  EXPECT_EQ((*logger)->get_stats().dropped, 0u);
  ASSERT_TRUE((*logger)->Flush());
  EXPECT_EQ(mem->size(), 1001u);
}

// The scheduling policy of this process's only logger backend (-1 if there is not exactly one).
int BackendPolicy() {
  const auto task = esper::testing::OnlyTaskNamed("esper-log");  // the previous block's may linger
  return task.empty() ? -1 : sched_getscheduler(std::stoi(task.filename().string()));
}

// By default the backend waits for a free CPU rather than preempting a running thread
// (SCHED_BATCH); a policy the application chose for its threads is inherited and kept.
TEST(LoggerTest, TheBackendRunsAsABatchThreadUnlessToldOrTheApplicationChoseAPolicy) {
  {
    auto logger = Logger::Create({.level_from_env = false, .sinks = {{.sink = std::make_shared<MemorySink>()}}});
    ASSERT_TRUE(logger);
    ASSERT_TRUE((*logger)->Flush());  // the backend has run its set-up
    EXPECT_EQ(BackendPolicy(), SCHED_BATCH);
  }
  {
    auto logger = Logger::Create({.level_from_env = false, .sinks = {{.sink = std::make_shared<MemorySink>()}},
                                  .backend_sched_batch = false});
    ASSERT_TRUE(logger);
    ASSERT_TRUE((*logger)->Flush());
    EXPECT_EQ(BackendPolicy(), SCHED_OTHER);
  }
  std::thread([] {
    const sched_param param{};
    ASSERT_EQ(pthread_setschedparam(pthread_self(), SCHED_IDLE, &param), 0);
    auto logger = Logger::Create({.level_from_env = false, .sinks = {{.sink = std::make_shared<MemorySink>()}}});
    ASSERT_TRUE(logger);
    ASSERT_TRUE((*logger)->Flush());
    EXPECT_EQ(BackendPolicy(), SCHED_IDLE);
  }).join();
}

// Record::thread_id is the logging thread's OS id, in both modes (a formatter of ours shows it).
TEST(LoggerTest, RecordsCarryTheLoggingThreadsId) {
  class IdFormatter final : public Formatter {
   public:
    void Format(const Record& rec, fmt::memory_buffer& out) const override {
      fmt::format_to(std::back_inserter(out), "{}\n", rec.thread_id);
    }
  };
  for (bool async : {true, false}) {
    auto mem = std::make_shared<MemorySink>();
    auto logger = Logger::Create({.level_from_env = false,
                                  .sinks = {{.sink = mem, .formatter = std::make_shared<IdFormatter>()}},
                                  .async = async});
    ASSERT_TRUE(logger);
    long worker_tid = 0;
    std::thread([&] {
      worker_tid = ::syscall(SYS_gettid);
      ESPER_LOG_INFO(logger, "from a worker");
    }).join();
    ESPER_LOG_INFO(logger, "from the test");
    ASSERT_TRUE((*logger)->Flush());
    ASSERT_EQ(mem->size(), 2u);
    EXPECT_EQ(mem->lines()[0], std::to_string(worker_tid)) << (async ? "async" : "synchronous");
    EXPECT_EQ(mem->lines()[1], std::to_string(::syscall(SYS_gettid))) << (async ? "async" : "synchronous");
  }
}

TEST(LoggerTest, EnvironmentLevelAndValidation) {
  setenv("ESPER_LOG_LEVEL", "error", 1);
  auto l = Logger::Create({});
  ASSERT_TRUE(l);
  EXPECT_EQ((*l)->level(), Level::kError);
  setenv("ESPER_LOG_LEVEL", "loud", 1);
  auto bad = Logger::Create({});
  unsetenv("ESPER_LOG_LEVEL");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.error().message().find("ESPER_LOG_LEVEL"), std::string::npos);
  EXPECT_FALSE(Logger::Create({.name = ""}));
  EXPECT_FALSE(Logger::Create({.queue_bytes = 100}));
  EXPECT_FALSE(Logger::Create({.sinks = {{.sink = nullptr}}}));
}

// kv() keys are kept by the call site (set by its first call), so a record whose keys are the
// site's carries only the values: a kv() field costs the queue what a positional argument does.
TEST(LoggerTest, KvKeysKeptByTheSiteCostNoQueueBytes) {
  auto gate = std::make_shared<GateSink>();
  auto logger = Logger::Create({.level_from_env = false, .sinks = {{.sink = gate, .format = Format::kJson}},
                                .queue_bytes = 1 << 16, .batch_bytes = 1});
  ASSERT_TRUE(logger);
  ESPER_LOG_INFO(logger, "first");
  gate->WaitEntered();  // the backend is held inside Write(): what follows stays queued
  const uint64_t before = (*logger)->get_stats().queue_bytes;
  for (int i = 0; i < 10; ++i) ESPER_LOG_INFO(logger, "p {} {}", i, 0.5);
  const uint64_t positional = (*logger)->get_stats().queue_bytes - before;
  for (int i = 0; i < 10; ++i) ESPER_LOG_INFO(logger, "k", kv("index", i), kv("half", 0.5));
  const uint64_t keyed = (*logger)->get_stats().queue_bytes - before - positional;
  EXPECT_EQ(keyed, positional);  // 24-byte header + int + double, no key addresses
  gate->Open();
  ASSERT_TRUE((*logger)->Flush());
  auto lines = gate->lines();
  ASSERT_EQ(lines.size(), 21u);
  EXPECT_NE(lines[11].find("\"msg\":\"k\",\"index\":0,\"half\":0.5"), std::string::npos) << lines[11];
  EXPECT_NE(lines[20].find("\"index\":9,\"half\":0.5"), std::string::npos) << lines[20];
}

// One thread, one site (one instantiation of a generic lambda), its keys changing between
// consecutive calls: each line carries its own call's keys, whatever the site kept.
TEST(LoggerTest, KvKeysChangingBetweenConsecutiveCallsAtOneSite) {
  Fixture f({}, Format::kLogfmt);
  static const char kOne[] = "one", kTwo[] = "two", kX[] = "x", kY[] = "y";
  // One instantiation (same array types), so one site for every call.
  auto log_with = [&](const auto& key, const auto& key2, int i) {
    ESPER_LOG_INFO(f.logger, "shared", kv(key, i), kv(key2, i));
  };
  struct Step {
    const char (*k1)[4];
    const char (*k2)[2];
  };
  const Step order[] = {{&kOne, &kX}, {&kOne, &kX}, {&kTwo, &kX}, {&kOne, &kX}, {&kOne, &kY},
                        {&kTwo, &kY}, {&kOne, &kX}, {&kOne, &kX}, {&kTwo, &kX}, {&kOne, &kX}};
  for (int i = 0; i < 10; ++i) log_with(*order[i].k1, *order[i].k2, i);
  ASSERT_TRUE(f.logger->Flush());
  const auto lines = f.mem->lines();
  ASSERT_EQ(lines.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_NE(lines[i].find(fmt::format(" {}={} {}={}", *order[i].k1, i, *order[i].k2, i)), std::string::npos)
        << lines[i];
  }
}

// A site whose key changes from call to call (a char array chosen at run time) still prints the
// key of each call: calls whose key is not the site's carry it in the record. And many threads
// reaching a new site at once agree on the one key it keeps.
TEST(LoggerTest, KvKeysThatDifferFromTheSitesAreCarriedByTheRecord) {
  Fixture f({}, Format::kLogfmt);
  static const char kAlpha[] = "alpha";
  static const char kBravo[] = "bravo";
  std::vector<std::thread> threads;
  std::atomic<int> ready{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < 4) std::this_thread::yield();
      for (int i = 0; i < 100; ++i) {
        ESPER_LOG_INFO(f.logger, "m", kv((i + t) % 2 ? kAlpha : kBravo, i), kv("t", t));
        ESPER_LOG_INFO(f.logger, "same", kv("n", i), kv("t", t));
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(f.logger->Flush());
  std::map<std::string, int> counts;
  for (const std::string& l : f.mem->lines()) {
    for (const char* key : {"alpha=", "bravo=", "n="}) {
      if (l.find(std::string(" ") + key) != std::string::npos) ++counts[key];
    }
    // Each line's key matches the parity its value was logged with.
    if (size_t p = l.find(" alpha="); p != std::string::npos) {
      const int i = std::stoi(l.substr(p + 7));
      const int t = std::stoi(l.substr(l.find(" t=") + 3));
      EXPECT_EQ((i + t) % 2, 1) << l;
    } else if (size_t q = l.find(" bravo="); q != std::string::npos) {
      const int i = std::stoi(l.substr(q + 7));
      const int t = std::stoi(l.substr(l.find(" t=") + 3));
      EXPECT_EQ((i + t) % 2, 0) << l;
    }
  }
  EXPECT_EQ(counts["alpha="], 200);
  EXPECT_EQ(counts["bravo="], 200);
  EXPECT_EQ(counts["n="], 400);
}

TEST(LoggerTest, SeveralLoggersOnOneThread) {
  auto m1 = std::make_shared<MemorySink>(), m2 = std::make_shared<MemorySink>();
  auto a = Logger::Create({.name = "a", .level_from_env = false, .sinks = {{.sink = m1}}});
  auto b = Logger::Create({.name = "b", .level_from_env = false, .sinks = {{.sink = m2}}});
  ASSERT_TRUE(a && b);
  for (int i = 0; i < 100; ++i) {
    ESPER_LOG_INFO(a, "a{}", i);
    ESPER_LOG_INFO(b, "b{}", i);
  }
  ASSERT_TRUE((*a)->Flush());
  ASSERT_TRUE((*b)->Flush());
  EXPECT_EQ(m1->size(), 100u);
  EXPECT_EQ(m2->size(), 100u);
  EXPECT_NE(m2->lines()[99].find(" - b - INFO - b99"), std::string::npos);
}

enum Shade { kLight = 1, kDark = 7 };

// The inlined call hands its out-of-line slow path (a thread's first call, a record that wraps or
// finds the queue full) copies of numbers, pointers and kv() numbers and references to the rest:
// every kind must arrive the same whichever path a call takes.
TEST(LoggerTest, EveryArgumentKindArrivesThroughTheSlowAndTheFastPath) {
  Fixture f({.queue_bytes = 4096}, Format::kLogfmt);
  std::thread t([&] {
    std::string s = "str";
    char buf[] = "chars";
    char* p = buf;
    const char* cp = "lit";
    for (int i = 0; i < 300; ++i) {  // the first call attaches the thread; 4 KiB wraps every ~30
      ESPER_LOG_INFO(f.logger, "{} {} {} {} {} {} {} {}", i, 2.5, true, 'c', p, cp, s, kDark,
                     kv("k", i), kv("d", 0.25), kv("b", false), kv("e", kLight), kv("s", s));
    }
  });
  t.join();
  ASSERT_TRUE(f.logger->Flush());
  auto lines = f.mem->lines();
  ASSERT_EQ(lines.size(), 300u);
  for (size_t i = 0; i < lines.size(); ++i) {
    auto kvs = testing::ParseLogfmt(lines[i]);
    ASSERT_TRUE(kvs) << lines[i];
    const std::vector<std::pair<std::string, std::string>> want = {
        {"msg", fmt::format("{} 2.5 true c chars lit str 7", i)},
        {"k", std::to_string(i)}, {"d", "0.25"}, {"b", "false"}, {"e", "1"}, {"s", "str"}};
    ASSERT_EQ(std::vector(kvs->begin() + 3, kvs->end()), want) << lines[i];
  }
}
}  // namespace
}  // namespace esper::log
