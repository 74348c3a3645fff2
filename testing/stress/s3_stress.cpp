// The S3 stress workload (s3_stress.h).
#include "testing/stress/s3_stress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "esper/proxy/fault_proxy.h"
#include "esper/s3/s3_store.h"
#include "testing/http_server.h"
#include "testing/proc.h"
#include "testing/request_log.h"
#include "testing/s3_store_options.h"

namespace esper::testing {
namespace {

using namespace std::chrono_literals;
using s3::S3Store;
using s3::S3StoreOptions;
using storage::PutBody;

constexpr uint64_t kBigBytes = uint64_t{12} << 20;
constexpr int kLists = 15;  // LIST requests per round, one per prefix of 100 keys
constexpr size_t kMaxObject = 16 << 10;
constexpr const char* kBucket = "stress";

std::string Key(int i) { return fmt::format("k{:05}", i); }
// Object i's bytes in round r: 0 .. 16 KiB, some empty.
std::string Content(int i, int r) {
  size_t size = (static_cast<uint64_t>(i) * 2654435761u + static_cast<uint64_t>(r) * 40503u) % (kMaxObject + 1);
  if (i % 97 == 0) size = 0;
  return PatternBytes(size, static_cast<uint32_t>(i * 31 + r));
}
std::string BigContent(int b) { return PatternBytes(kBigBytes, 1000u + static_cast<uint32_t>(b)); }

// What the workload knows of each key.
struct KeyState {
  enum Kind { kAbsent, kWritten, kDeleted, kUnknown } kind = kAbsent;
  int round = 0;  // kWritten: the round whose bytes it holds
};

struct Tally {
  std::mutex mu;
  uint64_t ok = 0, failed = 0;
  uint64_t wrong_bytes = 0;      // a GET success whose bytes differ from what is there
  uint64_t wrong_size = 0;       // a HEAD success with the wrong size
  uint64_t resurrected = 0;      // a HEAD success on a key whose delete succeeded
  uint64_t unclear_errors = 0;   // a failure without a code or without the key in its message
  uint64_t listing_unknown = 0;  // a listed key that was never written
  uint64_t listing_missing = 0;  // a written key a listing left out
  uint64_t bad_listings = 0;     // listings with either
  std::map<std::string, uint64_t> failures_by;  // "op code"
  std::vector<std::string> examples;
  void Fail(const char* op, const Error& e, std::string_view key) {
    std::lock_guard lock(mu);
    ++failed;
    failures_by[fmt::format("{} {}", op, ErrorCodeName(e.code()))]++;
    const bool clear = e.code() != ErrorCode::kOk && e.code() != ErrorCode::kUnknown &&
                       e.message().find(fmt::format("{}/{}", kBucket, key)) != std::string::npos;
    if (!clear) ++unclear_errors;
    if (examples.size() < 8) examples.push_back(e.ToString());
  }
  void Ok() {
    std::lock_guard lock(mu);
    ++ok;
  }
};

// Launches operations and waits for all of them; tracks how many were in flight at once. An
// operation the store refused to start counts as failed, with its error.
class Wave {
 public:
  explicit Wave(Tally& tally) : tally_(tally) {}
  // `start(done)` starts one asynchronous operation whose callback calls done().
  void Launch(const char* op, std::string_view key, const std::function<Status(std::function<void()> done)>& start) {
    {
      std::lock_guard lock(mu_);
      ++pending_;
      peak_ = std::max(peak_, pending_);
    }
    auto done = [this] {
      std::lock_guard lock(mu_);
      if (--pending_ == 0) cv_.notify_all();
    };
    if (Status st = start(done); !st) {
      tally_.Fail(op, st.error(), key);
      done();
    }
  }
  void Wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return pending_ == 0; });
  }
  int peak() const { return peak_; }

 private:
  Tally& tally_;
  std::mutex mu_;
  std::condition_variable cv_;
  int pending_ = 0;
  int peak_ = 0;
};

}  // namespace

Result<S3StressReport> RunS3Stress(const S3StressOptions& opt) {
  const int keys = opt.keys;
  auto server = S3TestServer::Start({.kind = opt.kind, .buckets = {kBucket}});
  if (!server) return server.error();
  const std::string dir = opt.dir;
  std::filesystem::create_directories(dir);
  struct RemoveDir {  // whatever way the run ends
    std::string path;
    ~RemoveDir() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  } remove_dir{dir};
  const std::string log_path = dir + "/requests.log";
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
  if (!proxy) return proxy.error();
  ESPER_RETURN_IF_ERROR((*proxy)->Start());

  // The client as shipped (AWS standard retries: 3 attempts, the retry budget, a breaker per
  // host), with the http client's stall detection ending a stalled request (no byte moving) in
  // seconds instead of the default 30 s. The attempt limit stays long: it includes the wait for
  // one of the 100 pooled connections behind 3,000 others, which on a loaded machine (make test
  // runs tests two at a time beside other builds) took more than 8 s and failed 1,249 PUTs.
  S3StoreOptions o = StoreOptionsFor(fmt::format("http://{}", (*proxy)->address()));
  o.request_timeout = 120s;
  o.transfer_timeout = 120s;
  o.http.stall_time = opt.stall_limit;
  o.multipart_threshold = uint64_t{8} << 20;
  o.part_size = uint64_t{5} << 20;
  auto created = S3Store::Create(std::move(o));
  if (!created) return created.error();
  S3Store& store = **created;

  S3StressReport rep;
  rep.server = S3ServerName(opt.kind);
  rep.big_files = opt.big_files;
  rep.rss_start = RssBytes();
  RssSampler rss({.interval = 50ms});

  std::vector<KeyState> state(static_cast<size_t>(keys));
  Tally tally;
  auto t0 = std::chrono::steady_clock::now();

  auto get = [&](Wave& w, int i) {
    w.Launch("GET", Key(i), [&, i](auto done) {
      return store.GetAsync(kBucket, Key(i), {}, [&, i, done](Result<storage::GetResult> r) {
        if (!r) {
          tally.Fail("GET", r.error(), Key(i));
        } else {
          tally.Ok();
          const KeyState& s = state[static_cast<size_t>(i)];
          if (s.kind == KeyState::kWritten && r->body != Content(i, s.round)) {
            std::lock_guard lock(tally.mu);
            ++tally.wrong_bytes;
          }
        }
        done();
      });
    });
  };

  for (int round = 0; round < opt.rounds; ++round) {
    // PUT every key at once.
    std::vector<KeyState> next = state;
    {
      Wave w(tally);
      for (int i = 0; i < keys; ++i) {
        w.Launch("PUT", Key(i), [&, i](auto done) {
          return store.PutAsync(kBucket, Key(i), PutBody::FromString(Content(i, round)), {},
                                [&, i, done](Result<storage::ObjectInfo> r) {
                                  if (r) {
                                    tally.Ok();
                                    next[static_cast<size_t>(i)] = {KeyState::kWritten, round};
                                  } else {
                                    tally.Fail("PUT", r.error(), Key(i));
                                    next[static_cast<size_t>(i)] = {KeyState::kUnknown, round};
                                  }
                                  done();
                                });
        });
      }
      w.Wait();
      rep.peak_in_flight = std::max(rep.peak_in_flight, w.peak());
    }
    state = next;

    // GET and HEAD every key, and LIST, all at once.
    {
      Wave w(tally);
      for (int i = 0; i < keys; ++i) {
        get(w, i);
        w.Launch("HEAD", Key(i), [&, i](auto done) {
          return store.StatAsync(kBucket, Key(i), [&, i, done](Result<storage::ObjectInfo> r) {
            if (!r) {
              tally.Fail("HEAD", r.error(), Key(i));
            } else {
              tally.Ok();
              const KeyState& s = state[static_cast<size_t>(i)];
              if (s.kind == KeyState::kWritten && r->size != Content(i, s.round).size()) {
                std::lock_guard lock(tally.mu);
                ++tally.wrong_size;
              }
            }
            done();
          });
        });
      }
      for (int l = 0; l < kLists && l * 100 < keys; ++l) {
        const std::string prefix = fmt::format("k{:03}", l);
        w.Launch("LIST", "", [&, prefix](auto done) {
          return store.ListAsync(kBucket, {.prefix = prefix}, [&, prefix, done](Result<storage::ListPage> r) {
            if (!r) {
              tally.Fail("LIST", r.error(), "");
            } else {
              tally.Ok();
              std::set<std::string> listed;
              for (const auto& obj : r->objects) listed.insert(obj.key);
              std::lock_guard lock(tally.mu);
              const uint64_t anomalies = tally.listing_unknown + tally.listing_missing;
              for (const auto& key : listed) {
                const int i = key.size() == 6 && key[0] == 'k' ? std::atoi(key.c_str() + 1) : -1;
                if (i < 0 || i >= keys || state[static_cast<size_t>(i)].kind == KeyState::kAbsent) ++tally.listing_unknown;
              }
              std::string missing;
              for (int i = 0; i < keys; ++i) {
                if (Key(i).rfind(prefix, 0) == 0 && state[static_cast<size_t>(i)].kind == KeyState::kWritten &&
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
      rep.peak_in_flight = std::max(rep.peak_in_flight, w.peak());
    }

    // DELETE every odd key while the even ones are read again.
    next = state;
    {
      Wave w(tally);
      for (int i = 0; i < keys; ++i) {
        if (i % 2 == 0) {
          get(w, i);
          continue;
        }
        w.Launch("DELETE", Key(i), [&, i](auto done) {
          return store.DeleteAsync(kBucket, Key(i), [&, i, done](Status st) {
            if (st) {
              tally.Ok();
              next[static_cast<size_t>(i)] = {KeyState::kDeleted, round};
            } else {
              tally.Fail("DELETE", st.error(), Key(i));
              next[static_cast<size_t>(i)] = {KeyState::kUnknown, round};
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
      Wave w(tally);
      for (int i = 1; i < keys; i += 2) {
        w.Launch("HEAD", Key(i), [&, i](auto done) {
          return store.StatAsync(kBucket, Key(i), [&, i, done](Result<storage::ObjectInfo> r) {
            if (!r && r.error().code() == ErrorCode::kNotFound) {
              tally.Ok();
            } else if (!r) {
              tally.Fail("HEAD", r.error(), Key(i));
            } else {
              tally.Ok();
              if (state[static_cast<size_t>(i)].kind == KeyState::kDeleted) {
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
  std::vector<int> big_state(static_cast<size_t>(opt.big_files), 0);  // 1: uploaded, -1: failed
  for (int b = 0; b < opt.big_files; ++b) {
    big_paths.push_back(fmt::format("{}/big{}", dir, b));
    std::ofstream(big_paths.back(), std::ios::binary) << BigContent(b);
  }
  {
    Wave w(tally);
    for (int b = 0; b < opt.big_files; ++b) {
      const std::string key = fmt::format("big/{}", b);
      w.Launch("MULTIPART PUT", key, [&, b, key](auto done) {
        return store.PutAsync(kBucket, key, PutBody::FromFile(big_paths[static_cast<size_t>(b)]), {},
                              [&, b, key, done](Result<storage::ObjectInfo> r) {
                                if (r) {
                                  tally.Ok();
                                } else {
                                  tally.Fail("MULTIPART PUT", r.error(), key);
                                }
                                big_state[static_cast<size_t>(b)] = r ? 1 : -1;
                                done();
                              });
      });
    }
    w.Wait();
  }
  {
    Wave w(tally);
    for (int b = 0; b < opt.big_files; ++b) {
      if (big_state[static_cast<size_t>(b)] != 1) continue;
      const std::string key = fmt::format("big/{}", b);
      w.Launch("RANGED GET", key, [&, b, key](auto done) {
        return store.GetAsync(kBucket, key, {.target = storage::GetTarget::ToFile(big_paths[static_cast<size_t>(b)] + ".down")},
                              [&, key, done](Result<storage::GetResult> r) {
                                if (!r) {
                                  tally.Fail("RANGED GET", r.error(), key);
                                } else {
                                  tally.Ok();
                                }
                                done();
                              });
      });
    }
    w.Wait();
  }
  for (int b = 0; b < opt.big_files; ++b) {  // this thread compares, not the loop thread
    std::ifstream in(big_paths[static_cast<size_t>(b)] + ".down", std::ios::binary);
    if (!in) continue;
    const std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    (got == BigContent(b) ? rep.big_down_ok : rep.big_down_wrong)++;
  }
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto perf = store.get_performance_stats();
  rep.retries = perf.retries;
  rep.possibly_orphaned = perf.possibly_orphaned_uploads;
  created->reset();  // every operation has completed; the store goes before the proxy
  (*proxy)->Stop();
  rep.rss_peak = std::max(rep.rss_start, rss.Stop());

  // The server's own account, without the proxy: every key read back.
  auto direct = S3Store::Create(StoreOptionsFor((*server)->endpoint()));
  if (!direct) return direct.error();
  for (int i = 0; i < keys; ++i) {
    const KeyState& s = state[static_cast<size_t>(i)];
    if (s.kind == KeyState::kWritten) {
      auto g = (*direct)->Get(kBucket, Key(i));
      ++rep.checked;
      if (!g) {
        ++rep.lost;
        rep.problems.push_back(fmt::format("{}: written, but {}", Key(i), g.error().ToString()));
      } else if (g->body != Content(i, s.round)) {
        ++rep.corrupted;
        rep.problems.push_back(fmt::format("{}: the server holds other bytes than the successful PUT sent", Key(i)));
      }
    } else if (s.kind == KeyState::kDeleted) {
      auto e = (*direct)->Exists(kBucket, Key(i));
      ++rep.checked;
      if (!e) return Error(e.error()).Wrap(fmt::format("reading back {}", Key(i)));
      if (*e) {
        ++rep.not_deleted;
        rep.problems.push_back(fmt::format("{}: deleted, but the server still has it", Key(i)));
      }
    } else {
      ++rep.indeterminate;
    }
  }
  for (int b = 0; b < opt.big_files; ++b) {
    if (big_state[static_cast<size_t>(b)] != 1) continue;
    auto g = (*direct)->Get(kBucket, fmt::format("big/{}", b));
    ++rep.big_checked;
    if (!g) return Error(g.error()).Wrap(fmt::format("reading back big/{}", b));
    if (g->body != BigContent(b)) {
      ++rep.corrupted;
      rep.problems.push_back(fmt::format("big/{}: the server holds other bytes than the successful multipart upload sent", b));
    }
  }

  // The proxy's request log: one line per decision, and the faults it says it injected.
  auto lines = ReadRequestLog(log_path);
  const auto pstats = (*proxy)->statistics();
  rep.requests = pstats.requests;
  rep.log_lines = lines.size();
  rep.faulted = pstats.resets + pstats.stalls + pstats.errors + pstats.truncations + pstats.corruptions;
  rep.corruptions = pstats.corruptions;
  std::map<std::string, uint64_t> by_fault;
  std::map<std::string, std::string> uploads;       // upload id -> how it ended
  std::set<std::string> create_unseen;              // upload ids whose create answer the client never got
  std::map<std::string, std::string> create_fault;  // upload id -> the create's fault
  std::map<std::string, std::string> create_key;    // upload id -> the create's target path
  for (auto& l : lines) {
    by_fault[l["fault"]]++;
    if (l["fault"] == "corrupt" && l["corrupted"] != "-") {
      if (l["method"] == "PUT") ++rep.corrupted_puts;
      if (l["method"] == "GET" && l["target"].find("list-type=2") != std::string::npos) {
        ++rep.corrupted_lists;
      } else if (l["method"] == "GET") {
        ++rep.corrupted_gets;
      }
    }
    if (l["method"] == "POST" && l["target"].find("?uploads") != std::string::npos && l.count("upload_id") &&
        l["upstream"] == "200") {
      uploads.emplace(l["upload_id"], "open");
      create_fault[l["upload_id"]] = l["fault"];
      create_key[l["upload_id"]] = l["target"].substr(0, l["target"].find('?'));
      // The client never got the id whole: no answer, or an answer cut or changed on the way.
      if (l["status"] != "200" || l["fault"] == "truncate" || l["fault"] == "corrupt") create_unseen.insert(l["upload_id"]);
    }
  }
  for (auto& l : lines) {  // CompleteMultipartUpload (POST) or AbortMultipartUpload (DELETE)
    const size_t at = l["target"].find("uploadId=");
    if (at == std::string::npos || (l["method"] != "POST" && l["method"] != "DELETE")) continue;
    std::string id = l["target"].substr(at + 9);
    id = id.substr(0, id.find('&'));
    const std::string up = l["upstream"];
    if (!uploads.count(id) || uploads[id] == "completed" || uploads[id] == "aborted") continue;
    if (up == "200" || up == "204") {
      uploads[id] = l["method"] == "POST" ? "completed" : "aborted";
    } else if (l["method"] == "DELETE" && up != "-") {
      uploads[id] = "abort refused " + up;  // s3rver 4.0.4: 405
    }
  }
  // Orphaned: created, and neither completed nor aborted nor even attempted. A create whose answer
  // the client never received whole leaves an upload only the server's ListMultipartUploads could
  // find: the store's sweep looks for it, and where the server cannot list (both here) the store
  // reports the key instead — so each such key must be one the store counted.
  std::set<std::string> unseen_keys;
  for (auto& [id, how] : uploads) {
    if (how == "open") {
      (create_unseen.count(id) ? rep.orphaned_unseen : rep.orphaned)++;
      if (create_unseen.count(id)) unseen_keys.insert(create_key[id]);
      rep.open_uploads.push_back(fmt::format("{}: its create's fault: {}", id, create_fault[id]));
    }
    rep.abort_refused += how.starts_with("abort refused");
    rep.completed += how == "completed";
    rep.aborted += how == "aborted";
  }
  rep.uploads_created = uploads.size();
  rep.unseen_keys = unseen_keys.size();

  rep.operations = tally.ok + tally.failed;
  rep.failed = tally.failed;
  rep.success_pct = rep.operations ? 100.0 * static_cast<double>(tally.ok) / static_cast<double>(rep.operations) : 0;
  for (auto& [k, n] : by_fault) rep.faults += fmt::format(" {}={}", k, n);
  for (auto& [k, n] : tally.failures_by) rep.failures_by.push_back(fmt::format("[{}]={}", k, n));
  rep.examples = tally.examples;
  rep.wrong_bytes = tally.wrong_bytes;
  rep.wrong_size = tally.wrong_size;
  rep.resurrected = tally.resurrected;
  rep.unclear_errors = tally.unclear_errors;
  rep.listing_unknown = tally.listing_unknown;
  rep.listing_missing = tally.listing_missing;
  rep.bad_listings = tally.bad_listings;
  return rep;
}

std::string S3StressReport::Summary() const {
  std::string failures;
  for (const auto& f : failures_by) failures += " " + f;
  std::string out = fmt::format(
      "s3 stress on {}: {} operations in {:.1f} s (peak {} in flight), success {:.3f} % ({} failed:{}), retries {}\n"
      "  proxy: {} requests,{}; corrupted on the way: {} PUT bodies, {} GET bodies, {} listings\n"
      "  read back from the server: {} checked, {} indeterminate (last write or delete failed), "
      "{} corrupted, {} lost, {} not deleted; GET through the proxy with wrong bytes: {}; "
      "listing anomalies: {} unknown, {} missing, in {} listings\n"
      "  multipart: {} files of {} MiB, {} uploaded and read back from the server, {} downloaded in ranges "
      "through the proxy ({} wrong); uploads the proxy saw created {}: completed {}, aborted {}, abort refused "
      "by the server {}, orphaned {} (+{} whose create answer the client never got, on {} keys; the store "
      "reported {} it could not sweep)\n"
      "  RSS {:.1f} MiB at start, peak {:.1f} MiB\n",
      server, operations, seconds, peak_in_flight, success_pct, failed, failures, retries, requests, faults,
      corrupted_puts, corrupted_gets, corrupted_lists, checked, indeterminate, corrupted, lost, not_deleted, wrong_bytes,
      listing_unknown, listing_missing, bad_listings, big_files, kBigBytes >> 20, big_checked, big_down_ok,
      big_down_wrong, uploads_created, completed, aborted, abort_refused, orphaned, orphaned_unseen, unseen_keys,
      possibly_orphaned, static_cast<double>(rss_start) / (1 << 20), static_cast<double>(rss_peak) / (1 << 20));
  for (const auto& u : open_uploads) out += fmt::format("  open upload {}\n", u);
  for (const auto& e : examples) out += fmt::format("  failure: {}\n", e);
  for (const auto& p : problems) out += fmt::format("  problem: {}\n", p);
  return out;
}

}  // namespace esper::testing
