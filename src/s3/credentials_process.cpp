// credential_process: run the profile's command, read the JSON it prints.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "esper/s3/credentials.h"
#include "esper/s3/xml.h"
#include "s3/credentials_internal.h"

extern char** environ;

namespace esper::s3 {
namespace detail {

Result<Credentials> ParseCredentialsJson(std::string_view text, std::string_view source) {
  const nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  const std::string what(source);
  if (j.is_discarded() || !j.is_object()) return Error::InvalidArgument(what + ": the answer is not a JSON object");
  auto str = [&](const char* k) -> std::optional<std::string> {
    auto it = j.find(k);
    if (it == j.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  if (auto code = str("Code"); code && *code != "Success")
    return Error::Unavailable(what + ": the answer says Code " + *code);
  auto id = str("AccessKeyId");
  auto secret = str("SecretAccessKey");
  if (!id || id->empty()) return Error::InvalidArgument(what + ": the answer has no AccessKeyId");
  if (!secret || secret->empty()) return Error::InvalidArgument(what + ": the answer has no SecretAccessKey");
  Credentials c{.access_key_id = *id,
                .secret_access_key = Secret(std::move(*secret)),
                .session_token = Secret(str("Token").value_or(str("SessionToken").value_or(""))),
                .source = what};
  if (auto exp = str("Expiration")) {
    c.expiration = ParseIso8601(*exp);
    if (!c.expiration) return Error::InvalidArgument(what + ": Expiration '" + *exp + "' is not an ISO 8601 time");
  }
  return c;
}

}  // namespace detail

namespace {

constexpr size_t kMaxOutput = 64 * 1024;

class ProcessProvider final : public CredentialsProvider {
 public:
  explicit ProcessProvider(ProviderOptions o) : o_(std::move(o)) {}
  std::string name() const override { return "credential_process"; }

  Result<Credentials> Fetch() override {
    ESPER_ASSIGN_OR_RETURN(Profile p, LoadProfile(o_.profile, detail::EnvOf(o_)));
    const std::string where = "credential_process (profile " + p.name + ")";
    auto command = p.Get("credential_process");
    if (!command) return detail::NotConfigured(where + ": not set");
    ESPER_ASSIGN_OR_RETURN(std::string out, Run(*command, where));
    ESPER_ASSIGN_OR_RETURN(Credentials c, detail::ParseCredentialsJson(out, where));
    return c;
  }

 private:
  // Runs `command` with /bin/sh -c, stdout captured (bounded), stderr inherited, within the
  // timeout. The command line itself is not repeated in errors (it may carry a secret argument).
  Result<std::string> Run(const std::string& command, const std::string& where) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return Error::FromErrno(errno, where + ": pipe");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    // Its own process group, so a timeout kills the command's children too (a shell that runs
    // `sleep` would otherwise leave it holding our caller's stdout).
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // With no signal blocked: a caller that blocks SIGINT/SIGTERM in its threads (the CLI does,
    // tools/esper/interrupt.h) must not hand that mask to the command, which could not be stopped.
    sigset_t no_signals;
    sigemptyset(&no_signals);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setsigmask(&attr, &no_signals);
    const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, "/bin/sh", &fa, &attr, const_cast<char* const*>(argv), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(fds[1]);
    if (rc != 0) {
      close(fds[0]);
      return Error::FromErrno(rc, where + ": start /bin/sh");
    }
    std::string out;
    bool too_big = false, timed_out = false;
    const auto deadline = std::chrono::steady_clock::now() + o_.timeout;
    char buf[4096];
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        timed_out = true;
        break;
      }
      pollfd pfd{fds[0], POLLIN, 0};
      const int n = poll(&pfd, 1, static_cast<int>(left.count()));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        timed_out = n == 0;
        break;
      }
      const ssize_t r = read(fds[0], buf, sizeof buf);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      if (out.size() + static_cast<size_t>(r) > kMaxOutput) {
        too_big = true;
        break;
      }
      out.append(buf, static_cast<size_t>(r));
    }
    close(fds[0]);
    if (timed_out || too_big) kill(-pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (timed_out)
      return Error::DeadlineExceeded(where + ": no answer within " + std::to_string(o_.timeout.count()) + " ms");
    if (too_big) return Error::InvalidArgument(where + ": printed more than 64 KiB");
    if (WIFSIGNALED(status)) return Error::Unavailable(where + ": killed by signal " + std::to_string(WTERMSIG(status)));
    if (WEXITSTATUS(status) != 0)
      return Error::Unavailable(where + ": exited with status " + std::to_string(WEXITSTATUS(status)))
          .WithRetryable(false);
    return out;
  }

  ProviderOptions o_;
};

}  // namespace

ProviderPtr ProcessCredentials(ProviderOptions options) { return std::make_unique<ProcessProvider>(std::move(options)); }

}  // namespace esper::s3
