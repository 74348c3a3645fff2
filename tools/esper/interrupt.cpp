#include "interrupt.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "esper/core/thread.h"

namespace esper::cli {
namespace {

std::stop_source g_stop;
std::atomic<int> g_cleanups{0};
// Whoever sets it first ends the process: Main returning, or the watcher after the grace period.
std::atomic<bool> g_ending{false};
int g_write_fd = -1;  // the pipe the handler writes to; read by the watcher
struct sigaction g_old_int {}, g_old_term {};
sigset_t g_old_mask;  // the installing thread's mask before the watcher blocked the two signals

sigset_t InterruptSignals() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGINT);
  sigaddset(&s, SIGTERM);
  return s;
}

extern "C" void OnSignal(int sig) {
  const int saved = errno;
  const unsigned char b = static_cast<unsigned char>(sig);
  ssize_t w = write(g_write_fd, &b, 1);  // async-signal-safe; a full pipe already holds a signal
  (void)w;
  errno = saved;
}

// The watcher ends an interrupted process that has not ended itself.
void EndProcess() {
  if (g_ending.exchange(true)) return;  // Main is returning on its own
  static constexpr char kMessage[] = "esper: interrupted\n";
  ssize_t w = write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
  (void)w;
  _exit(130);
}

}  // namespace

std::stop_token InterruptToken() { return g_stop.get_token(); }
bool Interrupted() { return g_stop.stop_requested(); }

InterruptCleanup::InterruptCleanup() { g_cleanups.fetch_add(1); }
InterruptCleanup::~InterruptCleanup() { g_cleanups.fetch_sub(1); }

InterruptWatcher::InterruptWatcher() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return;  // no watcher: signals keep their default
  read_fd_ = fds[0];
  g_write_fd = fds[1];
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // nothing else sees EINTR; the token and the grace period do the work
  sigaction(SIGINT, &sa, &g_old_int);
  sigaction(SIGTERM, &sa, &g_old_term);
  // The two signals are blocked in this thread and so in every thread it starts from here on; only
  // the watcher's thread takes them, while it waits in poll(). The handler therefore never runs on
  // a thread the command blocks (a ThreadSanitizer build defers a handler until its thread reaches
  // an intercepted call, and open() of a FIFO or a futex wait never return to one), and no syscall
  // of the command sees EINTR. A signal that arrives before the watcher unblocks stays pending.
  const sigset_t signals = InterruptSignals();
  pthread_sigmask(SIG_BLOCK, &signals, &g_old_mask);
  thread_ = std::thread([this, signals] {
    NameThisThread("esper-interrupt");
    pthread_sigmask(SIG_UNBLOCK, &signals, nullptr);
    Run();
  });
}

InterruptWatcher::~InterruptWatcher() {
  if (read_fd_ < 0) return;
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
  // When the watcher has begun to end the process, this join waits for that.
  g_ending.store(true);
  const unsigned char quit = 0;
  ssize_t w = write(g_write_fd, &quit, 1);
  (void)w;
  thread_.join();
  close(read_fd_);
  close(g_write_fd);
  g_write_fd = -1;
  pthread_sigmask(SIG_SETMASK, &g_old_mask, nullptr);
}

void InterruptWatcher::CommandReturned() {
  if (!g_ending.exchange(true)) return;
  for (;;) pause();  // the watcher is in _exit
}

void InterruptWatcher::Run() {
  using Clock = std::chrono::steady_clock;
  bool interrupted = false;
  Clock::time_point end_at{};
  for (;;) {
    int timeout_ms = -1;
    if (interrupted) {
      if (g_cleanups.load() > 0) {
        end_at = Clock::now() + kGrace;  // the grace starts again once the cleanup is over
        timeout_ms = 10;
      } else {
        auto left = std::chrono::ceil<std::chrono::milliseconds>(end_at - Clock::now()).count();
        if (left <= 0) EndProcess();
        timeout_ms = left <= 0 ? 10 : static_cast<int>(left);
      }
    }
    pollfd p{read_fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) continue;
    unsigned char buf[16];
    ssize_t n = read(read_fd_, buf, sizeof buf);
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] == 0) return;  // the destructor: the command is over
      if (interrupted) EndProcess();  // a second signal: at once
      interrupted = true;
      end_at = Clock::now() + kGrace;
      g_stop.request_stop();  // runs the registered stop callbacks, here
    }
  }
}

}  // namespace esper::cli
