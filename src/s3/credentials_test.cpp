// The providers that need no network (environment, profile, credential_process, the chain) and
// the cache's refresh rules, with an injected wall clock. The HTTP providers are tested against
// real loopback servers in tests/integration/s3/credentials_http_test.cpp.
#include "esper/s3/credentials.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "testing/wait.h"

namespace esper::s3 {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using std::chrono::system_clock;

constexpr const char* kSecret = "wJalrXUtnFEMI-K7MDENG-SECRET";
constexpr const char* kToken = "FwoGZXIvYXdzEJr-TOKEN";

class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / fmt::format("esper_s3_creds_{}_{}", ::getpid(),
                                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_ / ".aws");
    vars_ = {{"HOME", dir_.string()}, {"AWS_EC2_METADATA_DISABLED", "true"}};
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& rel, const std::string& text) { std::ofstream(dir_ / rel) << text; }
  ProviderOptions Opts() { return {.env = MapEnvironment(vars_)}; }
  static void ExpectNoSecret(const Error& e) {
    EXPECT_THAT(e.ToString(), Not(HasSubstr(kSecret)));
    EXPECT_THAT(e.ToString(), Not(HasSubstr(kToken)));
  }
  fs::path dir_;
  std::map<std::string, std::string, std::less<>> vars_;
};

TEST_F(CredentialsTest, Environment) {
  EXPECT_EQ(EnvironmentCredentials(Opts())->Fetch().error().code(), ErrorCode::kNotFound);
  vars_["AWS_ACCESS_KEY_ID"] = "AKIDENV";
  auto half = EnvironmentCredentials(Opts())->Fetch();
  ASSERT_FALSE(half);
  EXPECT_EQ(half.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(half.error().message(), HasSubstr("AWS_SECRET_ACCESS_KEY is not"));
  vars_["AWS_SECRET_ACCESS_KEY"] = kSecret;
  vars_["AWS_SESSION_TOKEN"] = kToken;
  auto c = EnvironmentCredentials(Opts())->Fetch();
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->access_key_id, "AKIDENV");
  EXPECT_EQ(c->secret_access_key.reveal(), kSecret);
  EXPECT_EQ(c->session_token.reveal(), kToken);
  EXPECT_EQ(c->source, "environment");
  EXPECT_EQ(fmt::format("{}", c->secret_access_key), "***");
}

TEST_F(CredentialsTest, ProfileFromFilesAndAwsProfile) {
  Write(".aws/credentials", fmt::format("[default]\naws_access_key_id = AKIDDEF\naws_secret_access_key = {}\n"
                                        "[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = {}\n"
                                        "aws_session_token = {}\n[broken]\naws_access_key_id = AKIDONLY\n",
                                        kSecret, kSecret, kToken));
  auto d = ProfileCredentials(Opts())->Fetch();
  ASSERT_TRUE(d) << d.error();
  EXPECT_EQ(d->access_key_id, "AKIDDEF");
  EXPECT_EQ(d->source, "profile default");
  vars_["AWS_PROFILE"] = "dev";
  auto v = ProfileCredentials(Opts())->Fetch();
  ASSERT_TRUE(v) << v.error();
  EXPECT_EQ(v->access_key_id, "AKIDDEV");
  EXPECT_EQ(v->session_token.reveal(), kToken);
  auto b = ProfileCredentials({.env = MapEnvironment(vars_), .profile = "broken"})->Fetch();
  ASSERT_FALSE(b);
  EXPECT_THAT(b.error().message(), HasSubstr("profile broken"));
  EXPECT_THAT(b.error().message(), HasSubstr("not aws_secret_access_key"));
}

TEST_F(CredentialsTest, CredentialProcess) {
  Write("helper.sh", fmt::format("#!/bin/sh\necho '{{\"Version\": 1, \"AccessKeyId\": \"AKIDPROC\", "
                                 "\"SecretAccessKey\": \"{}\", \"SessionToken\": \"{}\", "
                                 "\"Expiration\": \"2030-01-02T03:04:05Z\"}}'\n",
                                 kSecret, kToken));
  fs::permissions(dir_ / "helper.sh", fs::perms::owner_all);
  Write(".aws/config", fmt::format("[profile proc]\ncredential_process = {} --flag\n"
                                   "[profile fails]\ncredential_process = sh -c 'echo {} >&2; exit 3'\n"
                                   "[profile garbage]\ncredential_process = echo not json {}\n"
                                   "[profile slow]\ncredential_process = sleep 30\n",
                                   (dir_ / "helper.sh").string(), kSecret, kSecret));
  auto c = ProcessCredentials({.env = MapEnvironment(vars_), .profile = "proc"})->Fetch();
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->access_key_id, "AKIDPROC");
  EXPECT_EQ(c->secret_access_key.reveal(), kSecret);
  EXPECT_EQ(c->session_token.reveal(), kToken);
  ASSERT_TRUE(c->expiration);
  EXPECT_EQ(system_clock::to_time_t(*c->expiration), 1893553445);

  auto f = ProcessCredentials({.env = MapEnvironment(vars_), .profile = "fails"})->Fetch();
  ASSERT_FALSE(f);
  EXPECT_THAT(f.error().message(), HasSubstr("credential_process (profile fails): exited with status 3"));
  ExpectNoSecret(f.error());
  auto g = ProcessCredentials({.env = MapEnvironment(vars_), .profile = "garbage"})->Fetch();
  ASSERT_FALSE(g);
  EXPECT_THAT(g.error().message(), HasSubstr("not a JSON object"));
  ExpectNoSecret(g.error());
  auto s = ProcessCredentials({.env = MapEnvironment(vars_), .profile = "slow", .timeout = std::chrono::milliseconds(200)})
               ->Fetch();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(ProcessCredentials(Opts())->Fetch().error().code(), ErrorCode::kNotFound);
}

// The CLI blocks SIGINT and SIGTERM in its threads (tools/esper/interrupt.h); the command must not
// inherit that mask, or neither Ctrl-C nor the timeout's kill of its group could stop what it runs.
TEST_F(CredentialsTest, CredentialProcessRunsWithNoSignalBlocked) {
  Write("mask.sh", R"(#!/bin/sh
blk=$(grep SigBlk /proc/$$/status | cut -f2)
echo "{\"Version\": 1, \"AccessKeyId\": \"$blk\", \"SecretAccessKey\": \"s\"}"
)");
  fs::permissions(dir_ / "mask.sh", fs::perms::owner_all);
  Write(".aws/config", fmt::format("[profile mask]\ncredential_process = {}\n", (dir_ / "mask.sh").string()));
  Result<Credentials> c = Error::Internal("not run");
  std::thread([&] {  // a thread of its own, so the test's own mask stays as it was
    sigset_t blocked;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGINT);
    sigaddset(&blocked, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &blocked, nullptr);
    c = ProcessCredentials({.env = MapEnvironment(vars_), .profile = "mask"})->Fetch();
  }).join();
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->access_key_id, "0000000000000000");
}

TEST_F(CredentialsTest, ChainOrderAndWhoFailed) {
  Write(".aws/credentials", fmt::format("[default]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = {}\n", kSecret));
  // Profile before anything later in the chain.
  auto p = DefaultChain(Opts())->Fetch();
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->access_key_id, "AKIDPROFILE");
  // Environment before the profile.
  vars_["AWS_ACCESS_KEY_ID"] = "AKIDENV";
  vars_["AWS_SECRET_ACCESS_KEY"] = kSecret;
  EXPECT_EQ(DefaultChain(Opts())->Fetch()->access_key_id, "AKIDENV");
  // Explicit before everything.
  EXPECT_EQ(DefaultChain(Opts(), Credentials{.access_key_id = "AKIDX", .secret_access_key = Secret(kSecret)})
                ->Fetch()
                ->access_key_id,
            "AKIDX");
  // Nothing configured: one error listing every source, none of them a secret.
  vars_ = {{"HOME", dir_.string()}, {"AWS_EC2_METADATA_DISABLED", "true"}};
  fs::remove(dir_ / ".aws/credentials");
  auto none = DefaultChain(Opts())->Fetch();
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), ErrorCode::kUnauthenticated);
  for (const char* source : {"environment", "profile default", "credential_process", "web identity", "container", "IMDS"})
    EXPECT_THAT(none.error().message(), HasSubstr(source));
  // A configured source that fails stops the chain, even if a later one would work.
  Write(".aws/config", "[default]\ncredential_process = false\n");
  vars_["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://127.0.0.1:9/creds";
  auto stop = DefaultChain(Opts())->Fetch();
  ASSERT_FALSE(stop);
  EXPECT_THAT(stop.error().message(), HasSubstr("credential_process (profile default): exited with status 1"));
}

TEST(CredentialsJson, FieldsAndErrors) {
  auto c = detail::ParseCredentialsJson(
      R"({"Code":"Success","AccessKeyId":"AKID","SecretAccessKey":"S","Token":"T","Expiration":"2030-01-01T00:00:00Z"})",
      "IMDS");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->session_token.reveal(), "T");
  EXPECT_FALSE(detail::ParseCredentialsJson(R"({"AccessKeyId":"AKID"})", "x"));
  EXPECT_FALSE(detail::ParseCredentialsJson(R"({"Code":"Failure","AccessKeyId":"A","SecretAccessKey":"S"})", "x"));
  auto bad_time = detail::ParseCredentialsJson(R"({"AccessKeyId":"A","SecretAccessKey":"hidden","Expiration":"soon"})", "x");
  ASSERT_FALSE(bad_time);
  EXPECT_THAT(bad_time.error().message(), Not(HasSubstr("hidden")));
  EXPECT_FALSE(detail::ParseCredentialsJson("[1,2]", "x"));
  EXPECT_FALSE(detail::ParseCredentialsJson("", "x"));
}

// A provider below the cache whose answers the test sets; it is what the cache sits on, not the
// thing under test. Fetch blocks until the test releases it, so "while a refresh runs" is exact.
class GatedProvider final : public CredentialsProvider {
 public:
  std::string name() const override { return "gated"; }
  Result<Credentials> Fetch() override {
    std::unique_lock lock(mu);
    ++started;
    cv.notify_all();
    cv.wait(lock, [&] { return released > 0; });
    --released;
    return next;
  }
  void Release(Result<Credentials> r) {
    std::lock_guard lock(mu);
    next = std::move(r);
    ++released;
    cv.notify_all();
  }
  void WaitStarted(int n) {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return started >= n; });
  }
  std::mutex mu;
  std::condition_variable cv;
  int started = 0, released = 0;
  Result<Credentials> next = Error::Internal("unset");
};

struct FakeWall {
  std::atomic<int64_t> secs{1700000000};
  WallClock Fn() {
    return [this] { return system_clock::time_point(std::chrono::seconds(secs.load())); };
  }
  system_clock::time_point At(int64_t offset) const { return system_clock::time_point(std::chrono::seconds(secs.load() + offset)); }
};

Credentials Creds(std::string id, std::optional<system_clock::time_point> exp) {
  return {.access_key_id = std::move(id), .secret_access_key = Secret(kSecret), .expiration = exp, .source = "gated"};
}

TEST(CredentialsCache, RefreshesAheadOfExpiryWithoutStallingAndOnlyTheInvalidWait) {
  FakeWall wall;
  auto owned = std::make_unique<GatedProvider>();
  GatedProvider* p = owned.get();
  auto cache = *CredentialsCache::Create(std::move(owned), {.now = wall.Fn()});
  // Nothing cached: TryGet says so at once and starts the first fetch; a waiter waits for it.
  EXPECT_FALSE(cache->TryGet());
  std::promise<Result<Credentials>> first;
  cache->GetAsync([&](Result<Credentials> r) { first.set_value(std::move(r)); });
  p->WaitStarted(1);
  p->Release(Creds("AKID1", wall.At(3600)));
  auto f = first.get_future().get();
  ASSERT_TRUE(f) << f.error();
  EXPECT_EQ(f->access_key_id, "AKID1");
  EXPECT_EQ(cache->fetches(), 1);

  // Far from expiry: served from the cache, no fetch.
  for (int i = 0; i < 100; ++i) EXPECT_EQ(cache->TryGet()->access_key_id, "AKID1");
  EXPECT_EQ(cache->fetches(), 1);

  // Inside the 5-minute window: the old credentials keep coming while the refresh is held.
  wall.secs += 3600 - 299;
  EXPECT_EQ(cache->TryGet()->access_key_id, "AKID1");
  p->WaitStarted(2);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(cache->TryGet()->access_key_id, "AKID1");
  std::promise<Result<Credentials>> during;
  cache->GetAsync([&](Result<Credentials> r) { during.set_value(std::move(r)); });
  EXPECT_EQ(during.get_future().get()->access_key_id, "AKID1");  // answered at once, refresh still held
  EXPECT_EQ(cache->fetches(), 1);
  p->Release(Creds("AKID2", wall.At(3600)));
  ASSERT_TRUE(esper::testing::WaitUntil([&] { return cache->fetches() >= 2; }));
  EXPECT_EQ(cache->TryGet()->access_key_id, "AKID2");
  EXPECT_EQ(p->started, 2);  // one refresh, however many callers
}

TEST(CredentialsCache, FailedRefreshKeepsValidCredentialsAndExpiredOnesWait) {
  FakeWall wall;
  auto owned = std::make_unique<GatedProvider>();
  GatedProvider* p = owned.get();
  auto cache = *CredentialsCache::Create(std::move(owned), {.retry_interval = std::chrono::seconds(10), .now = wall.Fn()});
  std::thread releaser([&] {
    p->WaitStarted(1);
    p->Release(Creds("AKID1", wall.At(600)));
  });
  ASSERT_TRUE(cache->Get());
  releaser.join();
  wall.secs += 400;  // inside the window
  EXPECT_EQ(cache->TryGet()->access_key_id, "AKID1");
  p->WaitStarted(2);
  p->Release(Error::Unavailable("STS is down"));
  ASSERT_TRUE(esper::testing::WaitUntil([&] { return cache->fetches() >= 2; }));
  // Still valid: still served; no new attempt before retry_interval.
  EXPECT_EQ(cache->TryGet()->access_key_id, "AKID1");
  wall.secs += 5;
  EXPECT_EQ(cache->TryGet()->access_key_id, "AKID1");
  EXPECT_EQ(p->started, 2);
  // Expired: the caller waits for the refresh and gets its error, then its success.
  wall.secs += 600;
  EXPECT_FALSE(cache->TryGet());
  p->WaitStarted(3);
  std::promise<Result<Credentials>> waited;
  cache->GetAsync([&](Result<Credentials> r) { waited.set_value(std::move(r)); });
  auto fut = waited.get_future();
  EXPECT_EQ(fut.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  p->Release(Error::Unavailable("STS is still down"));
  auto r = fut.get();
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("still down"));
  std::thread last([&] {
    p->WaitStarted(4);
    p->Release(Creds("AKID3", wall.At(3600)));
  });
  auto ok = cache->Get();
  last.join();
  ASSERT_TRUE(ok) << ok.error();
  EXPECT_EQ(ok->access_key_id, "AKID3");
}

TEST(CredentialsCache, StaticCredentialsAreFetchedOnce) {
  auto cache = *CredentialsCache::Create(StaticCredentials(Creds("AKIDS", std::nullopt)));
  ASSERT_TRUE(cache->Get());
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(cache->TryGet());
  EXPECT_EQ(cache->fetches(), 1);
}

TEST(CredentialsCache, DestroyingCancelsWaiters) {
  auto owned = std::make_unique<GatedProvider>();
  GatedProvider* p = owned.get();
  std::promise<Result<Credentials>> waited;
  {
    auto cache = *CredentialsCache::Create(std::move(owned));
    cache->GetAsync([&](Result<Credentials> r) { waited.set_value(std::move(r)); });
    p->WaitStarted(1);
    std::thread release([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      p->Release(Error::Unavailable("late"));
    });
    cache.reset();  // joins the refresh thread (the release above lets its fetch finish)
    release.join();
  }
  auto r = waited.get_future().get();
  ASSERT_FALSE(r);
}

}  // namespace
}  // namespace esper::s3
