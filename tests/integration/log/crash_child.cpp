// Helper for crash_test: logs lines, then dies by a signal. The backend is parked (long idle
// sleep, after one Flush) so the lines are still in the queues when the signal arrives: only
// the crash handler can get them to the file. The child waits for the backend to be asleep before
// logging (exit code 7 if it never is) and checks before dying that it wrote none of the lines
// (exit code 6 otherwise: the test would then prove nothing).
//   log_crash_child <file> <lines per thread> <threads> <segv|abort|fpe|fault|thread-segv|term|int>
//                   [nohandler]
// term and int raise SIGTERM / SIGINT; the logger drains on them unless nohandler.
// Every line carries the secret in $CRASH_CHILD_SECRET as an esper::Secret field: what the crash
// handler writes must show it as *** like the backend does (issue 18's secrets matrix).
#include <signal.h>

#include <sys/syscall.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "testing/threads.h"
#include "testing/wait.h"
#include "esper/core/secret.h"
#include "esper/log/logger.h"

using esper::log::kv;

// True once the logger's backend thread ("esper-log") is blocked in ppoll(2), its idle sleep:
// after a Flush it may make one more pass, which could write lines logged meanwhile.
bool BackendParked() {
  for (const auto& task : esper::testing::TasksNamed("esper-log")) {
    std::ifstream sc(task / "syscall");  // "<number> <args>..." while blocked in a call
    long nr = -1;
    return (sc >> nr) && nr == SYS_ppoll;
  }
  return false;
}

int main(int argc, char** argv) {
  if (argc < 5) return 2;
  std::string path = argv[1];
  int per = std::atoi(argv[2]);
  int threads = std::atoi(argv[3]);
  std::string mode = argv[4];
  bool handler = !(argc > 5 && std::strcmp(argv[5], "nohandler") == 0);
  auto file = esper::log::FileSink::Create(path);
  if (!file) return 3;
  auto logger = esper::log::Logger::Create({.name = "child",
                                            .level_from_env = false,
                                            .sinks = {{.sink = *file, .format = esper::log::Format::kJson}},
                                            .idle_sleep = std::chrono::seconds(30),
                                            .crash_handler = handler,
                                            .drain_on_terminate = handler});
  if (!logger) return 4;
  ESPER_LOG_INFO(logger, "start");
  if (!(*logger)->Flush()) return 5;
  if (!esper::testing::WaitUntil([] { return BackendParked(); })) return 7;
  auto still_queued = [&] {  // only "start" written: every line is still in the queues
    if ((*logger)->get_stats().processed != 1) std::_Exit(6);
  };
  const char* planted = std::getenv("CRASH_CHILD_SECRET");
  const esper::Secret token(std::string(planted != nullptr ? planted : ""));
  std::vector<std::thread> ts;
  std::atomic<int> finished{0};
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < per; ++i) ESPER_LOG_INFO(logger, "line", kv("t", t), kv("i", i), kv("token", token));
      finished.fetch_add(1);
      if (mode == "thread-segv" && t == 0) {
        while (finished.load() < threads) std::this_thread::yield();  // every line is logged
        still_queued();
        raise(SIGSEGV);  // a worker thread crashes while the others wait to be joined
      }
    });
  for (auto& th : ts) th.join();
  still_queued();
  if (mode == "segv") raise(SIGSEGV);
  if (mode == "abort") std::abort();
  if (mode == "fpe") raise(SIGFPE);
  if (mode == "term") raise(SIGTERM);
  if (mode == "int") raise(SIGINT);
  if (mode == "fault") {
    volatile int* p = nullptr;
    *p = 42;  // a real invalid access
  }
  return 0;
}
