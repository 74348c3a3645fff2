// esper bench s3 — S3Store's small operations against s3rver 4.0.4 on loopback.
//
//  * PUT, GET and HEAD of 4 KiB objects through the ObjectStore interface, 1 in flight (blocking
//    calls) and 16 and 64 in flight (the *Async forms on the store's one event loop): operations
//    per second and client CPU per operation (getrusage RUSAGE_SELF of this process: the store's
//    event loop and the caller, user + system; the keys are formatted before the clock starts, so
//    what the loop itself adds is a counter and a mutex per operation). The server is a child
//    process and not counted. Every request is SigV4-signed, PUTs carry Content-MD5 and their
//    ETag is checked, GETs are checked against the MD5 ETag.
//  * The server runs as a child process (node); its CPU is read from /proc and reported in the
//    note, as a share of one core: s3rver serves every request on one node thread, so at 16 in
//    flight it is the ceiling, and the client's CPU per operation is what stays ours to judge.
//  * The target is issue 20's bar for the library (client CPU <= 50 us per small operation).
//    LocalStore's row beside these is the storage suite's, measured in the same `esper bench all`.
//  * Then the transfer cases beside awscli and rclone (s3_transfers.cpp), and the reliability of
//    the stress workload through faults (s3_reliability.cpp).
// Method: interleaved rounds, the median of each; one round with --quick. 256 keys in turn.
#include <fmt/format.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "esper/s3/s3_store.h"
#include "frame.h"
#include "loops.h"
#include "s3_transfers.h"
#include "testing/proc.h"
#include "testing/s3_store_options.h"
#include "testing/s3_test_server.h"

namespace esper::bench {
namespace {

using namespace std::chrono_literals;
using storage::PutBody;

constexpr size_t kObjectBytes = 4096;
constexpr int kKeys = 256;

// The keys, formatted once: the loops measure the store, not fmt.
const std::string& Key(uint64_t i) {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    for (int n = 0; n < kKeys; ++n) k.push_back(fmt::format("k/{}", n));
    return k;
  }();
  return keys[i % kKeys];
}

// One operation as both loops run it.
enum class Op { kPut, kGet, kHead };

// A measurement and what the server spent meanwhile (seconds of CPU per second: cores).
struct Measured {
  Throughput ours;
  double server_cores = 0;
};

Result<Measured> Measure(s3::S3Store& store, const std::string& bucket, pid_t server, Op op, int in_flight,
                         const std::shared_ptr<const std::string>& data, std::chrono::milliseconds slice) {
  const double server_before = testing::ProcessTreeCpuSeconds(server);
  const auto t0 = std::chrono::steady_clock::now();
  Result<Throughput> m = Throughput{};
  if (in_flight == 1) {
    m = Loop(slice, 1, [&](int, uint64_t i) -> Status {
      switch (op) {
        case Op::kPut: return store.Put(bucket, Key(i), PutBody::FromShared(data)).map([](auto&&) {});
        case Op::kGet: {
          auto got = store.Get(bucket, Key(i));
          if (!got) return got.error();
          return got->body.size() == kObjectBytes ? OkStatus() : Status(Error::DataLoss("short GET"));
        }
        case Op::kHead: return store.Stat(bucket, Key(i)).map([](auto&&) {});
      }
      return OkStatus();
    });
  } else {
    m = Pipelined(in_flight, slice, [&](uint64_t i, std::function<void(Status)> done) -> Status {
      auto finish = [cb = std::move(done)](auto r) { cb(r ? OkStatus() : Status(r.error())); };
      switch (op) {
        case Op::kPut: return store.PutAsync(bucket, Key(i), PutBody::FromShared(data), {}, std::move(finish));
        case Op::kGet: return store.GetAsync(bucket, Key(i), {}, std::move(finish));
        case Op::kHead: return store.StatAsync(bucket, Key(i), std::move(finish));
      }
      return OkStatus();
    });
  }
  if (!m) return m.error();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return Measured{.ours = *m, .server_cores = (testing::ProcessTreeCpuSeconds(server) - server_before) / seconds};
}

}  // namespace

Status RunS3Suite(Context& ctx) {
  ctx.Progress("s3: starting s3rver 4.0.4 on 127.0.0.1");
  auto started = testing::S3TestServer::Start({.kind = testing::S3ServerKind::kS3rver4, .buckets = {"bench"}});
  if (!started) {
    // Say so in the table (the rest of `esper bench all` still runs); scripts/setup installs it.
    ctx.Add(Row{.part = "s3", .metric = "not measured", .case_name = "S3Store against s3rver 4.0.4", .unit = "",
                .note = "not measured: " + started.error().ToString()});
    return OkStatus();
  }
  std::unique_ptr<testing::S3TestServer> server = std::move(*started);
  ESPER_ASSIGN_OR_RETURN(auto store, s3::S3Store::Create(testing::StoreOptionsFor(*server)));
  const std::string bucket = "bench";
  const auto data = std::make_shared<const std::string>(kObjectBytes, 'x');
  ctx.Progress("s3: writing 256 objects of 4 KiB");
  for (int i = 0; i < kKeys; ++i) ESPER_RETURN_IF_ERROR(store->Put(bucket, Key(static_cast<uint64_t>(i)), PutBody::FromShared(data)));

  const int rounds = ctx.quick() ? 1 : 3;
  const auto slice = ctx.quick() ? 500ms : 1500ms;
  struct Case {
    Op op;
    int in_flight;
    const char* name;
    Samples samples;
    std::vector<double> server_cores;
  };
  std::vector<Case> cases = {{Op::kPut, 1, "PUT 4 KiB, 1 in flight", {}, {}},
                             {Op::kGet, 1, "GET 4 KiB, 1 in flight", {}, {}},
                             {Op::kHead, 1, "HEAD 4 KiB, 1 in flight", {}, {}},
                             {Op::kPut, 16, "PUT 4 KiB, 16 in flight", {}, {}},
                             {Op::kGet, 16, "GET 4 KiB, 16 in flight", {}, {}},
                             {Op::kHead, 16, "HEAD 4 KiB, 16 in flight", {}, {}},
                             {Op::kPut, 64, "PUT 4 KiB, 64 in flight", {}, {}},
                             {Op::kGet, 64, "GET 4 KiB, 64 in flight", {}, {}},
                             {Op::kHead, 64, "HEAD 4 KiB, 64 in flight", {}, {}}};
  for (int r = 0; r < rounds; ++r) {
    ctx.Progress(fmt::format("s3: round {} of {}: PUT, GET, HEAD 4 KiB at 1, 16 and 64 in flight", r + 1, rounds));
    for (Case& c : cases) {
      ESPER_ASSIGN_OR_RETURN(Measured m, Measure(*store, bucket, server->pid(), c.op, c.in_flight, data, slice));
      c.samples.Add(m.ours);
      c.server_cores.push_back(m.server_cores);
    }
  }
  for (const Case& c : cases) {
    const Throughput ours = c.samples.Median();
    const double cores = Median(c.server_cores);
    const std::string note = fmt::format(
        "S3Store on s3rver 4.0.4, loopback, SigV4 on every request; s3rver serves on one node thread and "
        "used {:.0f}% of a core here ({:.0f} us of its CPU per operation){}; median of {} interleaved {} ms "
        "rounds; LocalStore's row: the storage suite",
        cores * 100, ours.per_second > 0 ? cores * 1e6 / ours.per_second : 0,
        cores > 0.85 ? ": the server is the ceiling" : "", rounds, slice.count());
    ctx.Add(Row{.part = "s3",
                .metric = "operations/s",
                .case_name = std::string("S3Store ") + c.name,
                .unit = "ops/s",
                .value = ours.per_second,
                .lower_is_better = false,
                .note = note});
    ctx.Add(Row{.part = "s3",
                .metric = "client CPU per operation",
                .case_name = std::string("S3Store ") + c.name,
                .unit = "us",
                .value = ours.cpu_us_per_op,
                .lower_is_better = true,
                .target = "<= 50 us (issue 20)",
                .pass = ours.cpu_us_per_op <= 50,
                .note = "user+system CPU of the whole client process (event loop and caller) per operation, "
                        "getrusage RUSAGE_SELF; the server (a child process) is not counted"});
  }
  ESPER_RETURN_IF_ERROR(RunS3Transfers(ctx, *server));
  store.reset();
  server.reset();  // the stress starts servers of its own
  return RunS3Reliability(ctx);
}

}  // namespace esper::bench
