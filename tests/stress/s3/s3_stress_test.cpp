// Issue 20's stress: thousands of concurrent operations on one S3Store — PUT, GET, HEAD, LIST,
// DELETE of small objects, then multipart uploads and ranged downloads of 12 MiB files — through the fault proxy at 5.5 % faults per request (resets before
// and after the server acted, stalls, 503 SlowDown with Retry-After, truncated and corrupted
// bodies), against fauxqs 1.9.2 and s3rver 4.0.4 on 127.0.0.1.
//
// What it proves, each by a witness that is not the client's own word:
//   * every operation that reported success happened: after the run every key is read back
//     straight from the server (no proxy) — a key whose last write succeeded holds exactly those
//     bytes, a key whose delete succeeded is gone. Keys whose last write or delete failed are
//     indeterminate (the server may or may not have acted) and are counted, not checked.
//   * no corrupted byte is ever returned as data: every successful GET through the proxy equals
//     what was written; listings name only keys that were written (a listing body corrupted on
//     the way is the one thing plain HTTP cannot catch: each such key must be explained by a
//     corrupted LIST response in the proxy's request log).
//   * every failure is a clear error after its retry budget: a code, and a message naming the
//     operation and s3://bucket/key.
//   * the proxy's request log has one line per request it decided on, and every multipart upload
//     it saw created is completed or aborted (or its abort refused, by s3rver, which answers 405).
//     An upload whose create answer never reached the client whole is one the store sweeps
//     (ListMultipartUploads, then AbortMultipartUpload: s3_store.h, "A lost CreateMultipartUpload
//     answer"); neither server lists uploads, so here the store must report each such key
//     instead (PerformanceStats::possibly_orphaned_uploads): every key with such an open upload
//     must be one the store reported, none silent.
//   * memory stays bounded: RSS sampled every 50 ms.
// The success rate (the seed's target: 99.9 %) is printed and asserted.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <mutex>
#include <string>
#include <vector>

#include "esper/proxy/fault_proxy.h"
#include "esper/s3/s3_store.h"
#include "testing/http_server.h"
#include "testing/proc.h"
#include "testing/request_log.h"
#include "testing/s3_store_options.h"
#include "testing/s3_test_server.h"

namespace esper::s3 {
namespace {

using namespace std::chrono_literals;
using storage::PutBody;
using testing::S3ServerKind;
using testing::S3TestServer;

// Under a sanitizer everything runs 5-10x slower: fewer keys, a longer stall limit, and a success
// bar that one slow-machine timeout cannot break. The release run holds the seed's 99.9 %.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int kKeys = 300;  // concurrent operations per wave
constexpr int kRounds = 1;
constexpr auto kStallLimit = std::chrono::seconds(10);
constexpr double kSuccessBar = 99.5;
constexpr uint64_t kRssBound = uint64_t{1} << 30;
#elif !defined(NDEBUG)
constexpr int kKeys = 1000;
constexpr int kRounds = 1;
constexpr auto kStallLimit = std::chrono::seconds(5);
constexpr double kSuccessBar = 99.9;
constexpr uint64_t kRssBound = uint64_t{256} << 20;
#else
constexpr int kKeys = 1500;
constexpr int kRounds = 2;
constexpr auto kStallLimit = std::chrono::seconds(3);
constexpr double kSuccessBar = 99.9;
constexpr uint64_t kRssBound = uint64_t{256} << 20;
#endif
// Multipart: files of 12 MiB in parts of 5 MiB (fauxqs refuses a non-last part under 5 MiB and a
// body over 11 MiB), all uploaded at once beside nothing else, then downloaded through the proxy
// in ranges; memory at most part_size x part_concurrency per transfer.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int kBigFiles = 3;
#else
constexpr int kBigFiles = 6;
#endif
constexpr uint64_t kBigBytes = uint64_t{12} << 20;
constexpr int kLists = 15;          // LIST requests per round, one per prefix of 100 keys
constexpr size_t kMaxObject = 16 << 10;
constexpr const char* kBucket = "stress";

std::string Key(int i) { return fmt::format("k{:05}", i); }
// Object i's bytes in round r: 0 .. 16 KiB, some empty.
std::string Content(int i, int r) {
  size_t size = (static_cast<uint64_t>(i) * 2654435761u + static_cast<uint64_t>(r) * 40503u) % (kMaxObject + 1);
  if (i % 97 == 0) size = 0;
  return testing::PatternBytes(size, static_cast<uint32_t>(i * 31 + r));
}

// What the test knows of each key.
struct KeyState {
  enum Kind { kAbsent, kWritten, kDeleted, kUnknown } kind = kAbsent;
  int round = 0;  // kWritten: the round whose bytes it holds
};

struct Tally {
  std::mutex mu;
  uint64_t ok = 0, failed = 0;
  uint64_t wrong_bytes = 0;          // a GET success whose bytes differ from what is there
  uint64_t wrong_size = 0;           // a HEAD success with the wrong size
  uint64_t resurrected = 0;          // a HEAD success on a key whose delete succeeded
  uint64_t unclear_errors = 0;       // a failure without a code or without the key in its message
  uint64_t listing_unknown = 0;      // a listed key that was never written
  uint64_t listing_missing = 0;      // a written key a listing left out
  uint64_t bad_listings = 0;         // listings with either
  std::map<std::string, uint64_t> failures_by;  // "op code"
  std::vector<std::string> examples;  // the first failures and listing anomalies
  void Fail(const char* op, const Error& e, std::string_view key) {
    std::lock_guard lock(mu);
    ++failed;
    failures_by[fmt::format("{} {}", op, ErrorCodeName(e.code()))]++;
    bool clear = e.code() != ErrorCode::kOk && e.code() != ErrorCode::kUnknown &&
                 e.message().find(fmt::format("{}/{}", kBucket, key)) != std::string::npos;
    if (!clear) ++unclear_errors;
    if (examples.size() < 8) examples.push_back(e.ToString());
  }
  void Ok() {
    std::lock_guard lock(mu);
    ++ok;
  }
};

// Launches operations and waits for all of them; tracks how many were in flight at once.
class Wave {
 public:
  // `start(done)` starts one asynchronous operation whose callback calls done().
  void Launch(const std::function<Status(std::function<void()> done)>& start) {
    {
      std::lock_guard lock(mu_);
      ++pending_;
      peak_ = std::max(peak_, pending_);
    }
    Status st = start([this] {
      std::lock_guard lock(mu_);
      if (--pending_ == 0) cv_.notify_all();
    });
    ASSERT_TRUE(st) << st.error();
  }
  void Wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return pending_ == 0; });
  }
  int peak() const { return peak_; }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int pending_ = 0;
  int peak_ = 0;
};

S3StoreOptions StoreOptions(std::string endpoint) { return testing::StoreOptionsFor(std::move(endpoint)); }

void RunStress(S3ServerKind kind) {
  auto server = S3TestServer::Start({.kind = kind, .buckets = {kBucket}});
  ASSERT_TRUE(server) << server.error();  // never skipped: a missing server fails
  std::string dir = fmt::format("{}/test-tmp/s3-stress-{}", ESPER_BINARY_DIR, ::getpid());
  std::filesystem::create_directories(dir);
  std::string log_path = dir + "/requests.log";
  auto proxy = proxy::FaultProxy::Create({.upstream = fmt::format("127.0.0.1:{}", (*server)->port()),
                                          .reset_rate = 0.01,
                                          .stall_rate = 0.005,
                                          .error_rate = 0.02,
                                          .error_status = proxy::ErrorStatus::kSlowDown,
                                          .retry_after = 1s,
                                          .truncate_rate = 0.01,
                                          .corrupt_rate = 0.01,
                                          .seed = 20,
                                          .max_connections = 4096,
                                          .request_log = log_path,
                                          .metrics = nullptr});
  ASSERT_TRUE(proxy) << proxy.error();
  ASSERT_TRUE((*proxy)->Start());

  // The client as shipped (AWS standard retries: 3 attempts, the retry budget, a breaker per
  // host), with the http client's stall detection ending a stalled request (no byte moving) in
  // seconds instead of the default 30 s. The attempt limit stays long: it includes the wait for
  // one of the 100 pooled connections behind 3,000 others, which on a loaded machine (make test
  // runs tests two at a time beside other builds) took more than 8 s and failed 1,249 PUTs.
  S3StoreOptions o = StoreOptions(fmt::format("http://{}", (*proxy)->address()));
  o.request_timeout = 120s;
  o.transfer_timeout = 120s;
  o.http.stall_time = kStallLimit;
  o.multipart_threshold = uint64_t{8} << 20;
  o.part_size = uint64_t{5} << 20;
  auto created = S3Store::Create(std::move(o));
  ASSERT_TRUE(created) << created.error();
  S3Store& store = **created;

  const uint64_t rss_start = testing::RssBytes();
  testing::RssSampler rss({.interval = 50ms});

  std::vector<KeyState> state(kKeys);
  Tally tally;
  int peak_in_flight = 0;
  auto t0 = std::chrono::steady_clock::now();

  auto get = [&](Wave& w, int i) {
    w.Launch([&, i](auto done) {
      return store.GetAsync(kBucket, Key(i), {}, [&, i, done](Result<storage::GetResult> r) {
        if (!r) {
          tally.Fail("GET", r.error(), Key(i));
        } else {
          tally.Ok();
          const KeyState& s = state[i];
          if (s.kind == KeyState::kWritten && r->body != Content(i, s.round)) {
            std::lock_guard lock(tally.mu);
            ++tally.wrong_bytes;
          }
        }
        done();
      });
    });
  };

  for (int round = 0; round < kRounds; ++round) {
    // PUT every key at once.
    std::vector<KeyState> next = state;
    {
      Wave w;
      for (int i = 0; i < kKeys; ++i) {
        w.Launch([&, i](auto done) {
          return store.PutAsync(kBucket, Key(i), PutBody::FromString(Content(i, round)), {},
                                [&, i, done](Result<storage::ObjectInfo> r) {
                                  if (r) {
                                    tally.Ok();
                                    next[i] = {KeyState::kWritten, round};
                                  } else {
                                    tally.Fail("PUT", r.error(), Key(i));
                                    next[i] = {KeyState::kUnknown, round};
                                  }
                                  done();
                                });
        });
      }
      w.Wait();
      peak_in_flight = std::max(peak_in_flight, w.peak());
    }
    state = next;

    // GET and HEAD every key, and LIST, all at once.
    {
      Wave w;
      for (int i = 0; i < kKeys; ++i) {
        get(w, i);
        w.Launch([&, i](auto done) {
          return store.StatAsync(kBucket, Key(i), [&, i, done](Result<storage::ObjectInfo> r) {
            if (!r) {
              tally.Fail("HEAD", r.error(), Key(i));
            } else {
              tally.Ok();
              const KeyState& s = state[i];
              if (s.kind == KeyState::kWritten && r->size != Content(i, s.round).size()) {
                std::lock_guard lock(tally.mu);
                ++tally.wrong_size;
              }
            }
            done();
          });
        });
      }
      for (int l = 0; l < kLists && l * 100 < kKeys; ++l) {
        std::string prefix = fmt::format("k{:03}", l);
        w.Launch([&, prefix](auto done) {
          return store.ListAsync(kBucket, {.prefix = prefix}, [&, prefix, done](Result<storage::ListPage> r) {
            if (!r) {
              tally.Fail("LIST", r.error(), "");
            } else {
              tally.Ok();
              std::map<std::string, bool> listed;
              for (const auto& obj : r->objects) listed[obj.key] = true;
              std::lock_guard lock(tally.mu);
              const uint64_t anomalies = tally.listing_unknown + tally.listing_missing;
              for (const auto& [key, yes] : listed) {
                int i = key.size() == 6 && key[0] == 'k' ? std::atoi(key.c_str() + 1) : -1;
                if (i < 0 || i >= kKeys || state[i].kind == KeyState::kAbsent) ++tally.listing_unknown;
              }
              std::string missing;
              for (int i = 0; i < kKeys; ++i) {
                if (Key(i).rfind(prefix, 0) == 0 && state[i].kind == KeyState::kWritten &&
                    !listed.count(Key(i))) {
                  ++tally.listing_missing;
                  missing += fmt::format(" {}", Key(i));
                }
              }
              if (tally.listing_unknown + tally.listing_missing > anomalies) ++tally.bad_listings;
              if (!missing.empty() && tally.examples.size() < 16) {
                tally.examples.push_back(fmt::format("listing {}: {} listed, truncated {}, missing{}", prefix,
                                                     r->objects.size(), r->truncated(), missing));
              }
            }
            done();
          });
        });
      }
      w.Wait();
      peak_in_flight = std::max(peak_in_flight, w.peak());
    }

    // DELETE every odd key while the even ones are read again.
    next = state;
    {
      Wave w;
      for (int i = 0; i < kKeys; ++i) {
        if (i % 2 == 0) {
          get(w, i);
          continue;
        }
        w.Launch([&, i](auto done) {
          return store.DeleteAsync(kBucket, Key(i), [&, i, done](Status st) {
            if (st) {
              tally.Ok();
              next[i] = {KeyState::kDeleted, round};
            } else {
              tally.Fail("DELETE", st.error(), Key(i));
              next[i] = {KeyState::kUnknown, round};
            }
            done();
          });
        });
      }
      w.Wait();
    }
    state = next;

    // HEAD the deleted keys: gone (NotFound is this operation's success).
    {
      Wave w;
      for (int i = 1; i < kKeys; i += 2) {
        w.Launch([&, i](auto done) {
          return store.StatAsync(kBucket, Key(i), [&, i, done](Result<storage::ObjectInfo> r) {
            if (!r && r.error().code() == ErrorCode::kNotFound) {
              tally.Ok();
            } else if (!r) {
              tally.Fail("HEAD", r.error(), Key(i));
            } else {
              tally.Ok();
              if (state[i].kind == KeyState::kDeleted) {
                std::lock_guard lock(tally.mu);
                ++tally.resurrected;
              }
            }
            done();
          });
        });
      }
      w.Wait();
    }
  }
  // Multipart: every big file up at once, then every one that went up back down in ranges.
  std::vector<std::string> big_paths;
  std::vector<int> big_state(kBigFiles, 0);  // 1: uploaded, -1: failed
  int big_down_ok = 0, big_down_wrong = 0;
  for (int b = 0; b < kBigFiles; ++b) {
    big_paths.push_back(fmt::format("{}/big{}", dir, b));
    std::ofstream(big_paths.back(), std::ios::binary) << testing::PatternBytes(kBigBytes, 1000u + static_cast<uint32_t>(b));
  }
  {
    Wave w;
    for (int b = 0; b < kBigFiles; ++b) {
      w.Launch([&, b](auto done) {
        return store.PutAsync(kBucket, fmt::format("big/{}", b), PutBody::FromFile(big_paths[b]), {},
                              [&, b, done](Result<storage::ObjectInfo> r) {
                                if (r) {
                                  tally.Ok();
                                } else {
                                  tally.Fail("MULTIPART PUT", r.error(), fmt::format("big/{}", b));
                                }
                                big_state[b] = r ? 1 : -1;
                                done();
                              });
      });
    }
    w.Wait();
  }
  {
    Wave w;
    for (int b = 0; b < kBigFiles; ++b) {
      if (big_state[b] != 1) continue;
      w.Launch([&, b](auto done) {
        return store.GetAsync(kBucket, fmt::format("big/{}", b),
                              {.target = storage::GetTarget::ToFile(big_paths[b] + ".down")},
                              [&, b, done](Result<storage::GetResult> r) {
                                if (!r) {
                                  tally.Fail("RANGED GET", r.error(), fmt::format("big/{}", b));
                                } else {
                                  tally.Ok();
                                }
                                done();
                              });
      });
    }
    w.Wait();
  }
  for (int b = 0; b < kBigFiles; ++b) {  // the test thread compares, not the loop thread
    std::ifstream in(big_paths[b] + ".down", std::ios::binary);
    if (!in) continue;
    std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    (got == testing::PatternBytes(kBigBytes, 1000u + static_cast<uint32_t>(b)) ? big_down_ok : big_down_wrong)++;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto perf = store.get_performance_stats();
  created->reset();  // every operation has completed; the store goes before the proxy
  (*proxy)->Stop();
  const uint64_t rss_peak = std::max(rss_start, rss.Stop());

  // The server's own account, without the proxy: every key read back.
  auto direct = S3Store::Create(StoreOptions((*server)->endpoint()));
  ASSERT_TRUE(direct) << direct.error();
  uint64_t checked = 0, indeterminate = 0, corrupted = 0, lost = 0, not_deleted = 0;
  for (int i = 0; i < kKeys; ++i) {
    const KeyState& s = state[i];
    if (s.kind == KeyState::kWritten) {
      auto g = (*direct)->Get(kBucket, Key(i));
      ++checked;
      if (!g) {
        ++lost;
        ADD_FAILURE() << Key(i) << ": written, but " << g.error();
      } else if (g->body != Content(i, s.round)) {
        ++corrupted;
        ADD_FAILURE() << Key(i) << ": the server holds other bytes than the successful PUT sent";
      }
    } else if (s.kind == KeyState::kDeleted) {
      auto e = (*direct)->Exists(kBucket, Key(i));
      ++checked;
      ASSERT_TRUE(e) << e.error();
      if (*e) ++not_deleted;
    } else {
      ++indeterminate;
    }
  }
  uint64_t big_checked = 0;
  for (int b = 0; b < kBigFiles; ++b) {
    if (big_state[b] != 1) continue;
    auto g = (*direct)->Get(kBucket, fmt::format("big/{}", b));
    ++big_checked;
    ASSERT_TRUE(g) << g.error();
    if (g->body != testing::PatternBytes(kBigBytes, 1000u + static_cast<uint32_t>(b))) {
      ++corrupted;
      ADD_FAILURE() << "big/" << b << ": the server holds other bytes than the successful multipart upload sent";
    }
  }

  // The proxy's request log: one line per decision, and the faults it says it injected.
  auto lines = testing::ReadRequestLog(log_path);
  auto pstats = (*proxy)->statistics();
  EXPECT_EQ(lines.size(), pstats.requests) << "one line per request the proxy decided on";
  std::map<std::string, uint64_t> by_fault;
  uint64_t corrupted_lists = 0, corrupted_puts = 0, corrupted_gets = 0;
  std::map<std::string, std::string> uploads;  // upload id -> how it ended
  std::map<std::string, bool> create_unseen;   // upload id -> the client never got the answer
  std::map<std::string, std::string> create_fault;  // upload id -> the create's fault
  std::map<std::string, std::string> create_key;    // upload id -> the create's target path
  for (auto& l : lines) {
    by_fault[l["fault"]]++;
    if (l["fault"] == "corrupt" && l["corrupted"] != "-") {
      if (l["method"] == "PUT") ++corrupted_puts;
      if (l["method"] == "GET" && l["target"].find("list-type=2") != std::string::npos) ++corrupted_lists;
      else if (l["method"] == "GET") ++corrupted_gets;
    }
    if (l["method"] == "POST" && l["target"].find("?uploads") != std::string::npos &&
        l.count("upload_id") && l["upstream"] == "200") {
      uploads.emplace(l["upload_id"], "open");
      create_fault[l["upload_id"]] = l["fault"];
      create_key[l["upload_id"]] = l["target"].substr(0, l["target"].find('?'));
      // The client never got the id whole: no answer, or an answer cut or changed on the way.
      if (l["status"] != "200" || l["fault"] == "truncate" || l["fault"] == "corrupt") {
        create_unseen[l["upload_id"]] = true;
      }
    }
  }
  for (auto& l : lines) {  // CompleteMultipartUpload (POST) or AbortMultipartUpload (DELETE)
    size_t at = l["target"].find("uploadId=");
    if (at == std::string::npos || (l["method"] != "POST" && l["method"] != "DELETE")) continue;
    std::string id = l["target"].substr(at + 9);
    id = id.substr(0, id.find('&'));
    std::string up = l["upstream"];
    if (!uploads.count(id) || uploads[id] == "completed" || uploads[id] == "aborted") continue;
    if (up == "200" || up == "204") {
      uploads[id] = l["method"] == "POST" ? "completed" : "aborted";
    } else if (l["method"] == "DELETE" && up != "-") {
      uploads[id] = "abort refused " + up;  // s3rver 4.0.4: 405
    }
  }
  // Orphaned: created, and neither completed nor aborted nor even attempted. A create whose answer
  // the client never received whole (reset, cut, or corrupted after the server acted) leaves an
  // upload only the server's ListMultipartUploads could find: the store's sweep looks for it, and
  // where the server cannot list (both here) the store reports the key instead. So each such key
  // must be one the store counted in possibly_orphaned_uploads.
  uint64_t orphaned = 0, orphaned_unseen = 0, abort_refused = 0, completed = 0, aborted = 0;
  std::set<std::string> unseen_keys;  // keys with an open upload whose create answer was lost
  for (auto& [id, how] : uploads) {
    if (how == "open") {
      (create_unseen.count(id) ? orphaned_unseen : orphaned)++;
      if (create_unseen.count(id)) unseen_keys.insert(create_key[id]);
      fmt::print("  open upload {}: its create's fault: {}\n", id, create_fault[id]);
    }
    abort_refused += how.starts_with("abort refused");
    completed += how == "completed";
    aborted += how == "aborted";
  }

  const uint64_t total = tally.ok + tally.failed;
  const double success = total ? 100.0 * static_cast<double>(tally.ok) / static_cast<double>(total) : 0;
  std::string faults;
  for (auto& [k, n] : by_fault) faults += fmt::format(" {}={}", k, n);
  std::string failures;
  for (auto& [k, n] : tally.failures_by) failures += fmt::format(" [{}]={}", k, n);
  fmt::print(
      "s3 stress on {}: {} operations in {:.1f} s ({} keys x {} rounds, peak {} in flight), "
      "success {:.3f} % ({} failed:{}), retries {}\n"
      "  proxy: {} requests,{}; corrupted on the way: {} PUT bodies, {} GET bodies, {} listings\n"
      "  read back from the server: {} checked, {} indeterminate (last write or delete failed), "
      "{} corrupted, {} lost, {} not deleted; GET through the proxy with wrong bytes: {}; "
      "listing anomalies: {} unknown, {} missing, in {} listings\n"
      "  multipart: {} files of {} MiB, {} uploaded and read back from the server, {} downloaded in ranges "
      "through the proxy ({} wrong); uploads the proxy saw created {}: completed {}, aborted {}, abort refused "
      "by the server {}, orphaned {} (+{} whose create answer the client never got, on {} keys; the store "
      "reported {} it could not sweep)\n"
      "  RSS {:.1f} MiB at start, peak {:.1f} MiB\n",
      testing::S3ServerName(kind), total, seconds, kKeys, kRounds, peak_in_flight, success,
      tally.failed, failures, perf.retries, pstats.requests, faults, corrupted_puts, corrupted_gets,
      corrupted_lists, checked, indeterminate, corrupted, lost, not_deleted, tally.wrong_bytes,
      tally.listing_unknown, tally.listing_missing, tally.bad_listings, kBigFiles, kBigBytes >> 20, big_checked,
      big_down_ok, big_down_wrong, uploads.size(), completed, aborted, abort_refused, orphaned, orphaned_unseen, unseen_keys.size(),
      perf.possibly_orphaned_uploads,
      static_cast<double>(rss_start) / (1 << 20), static_cast<double>(rss_peak) / (1 << 20));
  for (const auto& e : tally.examples) fmt::print("  failure: {}\n", e);

  EXPECT_GE(peak_in_flight, kKeys) << "the waves did not have every operation in flight at once";
  EXPECT_GT(pstats.resets + pstats.stalls + pstats.errors + pstats.truncations + pstats.corruptions,
            pstats.requests / 25)
      << "fewer than 4 % of the requests were faulted";
  EXPECT_GT(pstats.corruptions, 0u);
  EXPECT_EQ(corrupted, 0u);
  EXPECT_EQ(lost, 0u);
  EXPECT_EQ(not_deleted, 0u);
  EXPECT_EQ(tally.wrong_bytes, 0u) << "a corrupted or stale body was returned as data";
  EXPECT_EQ(tally.wrong_size, 0u);
  EXPECT_EQ(tally.resurrected, 0u);
  EXPECT_EQ(tally.unclear_errors, 0u);
  // A listing that names a key never written, or leaves out a written one, is wrong data returned
  // as a result: only a LIST body corrupted on the way (which nothing in plain-HTTP S3 can
  // detect) may explain it. Seen: a flipped byte inside <Contents> and the page parses as empty
  // (0 listed, not truncated) — the store's XML reader skips an element it does not know.
  EXPECT_LE(tally.bad_listings, corrupted_lists)
      << "a wrong listing that no corrupted LIST response in the proxy's log explains";
  EXPECT_EQ(orphaned, 0u) << "a multipart upload the client knew of was neither completed nor aborted";
  EXPECT_LE(unseen_keys.size(), perf.possibly_orphaned_uploads)
      << "an upload a lost create answer left behind that the store neither swept nor reported";
  EXPECT_EQ(big_down_wrong, 0);
  EXPECT_GE(uploads.size(), static_cast<size_t>(kBigFiles)) << "the proxy saw fewer uploads created than files";
  EXPECT_GE(success, kSuccessBar) << "the seed's target is 99.9 %";
  EXPECT_LT(indeterminate, static_cast<uint64_t>(kKeys) / 100 + 1);
  // Memory: small objects of at most 16 KiB, 3,000 in flight; then 6 multipart transfers at once,
  // each holding at most part_size x part_concurrency = 5 MiB x 4 (120 MiB in all, by design).
  // 256 MiB above the start is a leak or an unbounded queue, not the workload. (Under a sanitizer
  // the shadow memory multiplies whatever is allocated: the bound there is 1 GiB.)
  EXPECT_LT(rss_peak - rss_start, kRssBound);
  std::filesystem::remove_all(dir);
}

TEST(S3Stress, ThousandsOfOperationsThroughFaultsOnFauxqs) { RunStress(S3ServerKind::kFauxqs); }
TEST(S3Stress, ThousandsOfOperationsThroughFaultsOnS3rver4) { RunStress(S3ServerKind::kS3rver4); }

}  // namespace
}  // namespace esper::s3
