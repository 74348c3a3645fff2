#include "s3/session.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cmath>

#include "cli.h"
#include "esper/core/ascii.h"
#include "esper/core/redact.h"
#include "esper/log/logger.h"
#include "esper/log/sink.h"
#include "esper/s3/credentials.h"
#include "esper/s3/s3_store.h"
#include "esper/s3/settings.h"
#include "esper/storage/local_store.h"
#include "output.h"

namespace esper::cli::s3cmd {
namespace {

using namespace std::chrono_literals;

// The S3Store's log lines (a retry at warn, a failure at error) on stderr, through the CLI's writer.
class StderrSink final : public log::Sink {
 public:
  Status Write(std::string_view lines, std::chrono::system_clock::time_point) override {
    if (!WriteErr(lines)) return Error::ResourceExhausted("write to stderr failed");
    return OkStatus();
  }
};

// "GET /b/k HTTP/1.1": a request line, not a header ("Host: h").
bool IsRequestLine(std::string_view line) {
  const size_t sp = line.find(' ');
  if (sp == 0 || sp == std::string_view::npos || sp + 1 >= line.size() || line[sp + 1] != '/') return false;
  for (char c : line.substr(0, sp)) {
    if (c < 'A' || c > 'Z') return false;
  }
  return true;
}

// -v: each attempt's request line and the status it got; -vv: every header (as the http client
// redacts them: Authorization, X-Amz-Security-Token, … are ***) and libcurl's connection lines.
std::function<void(std::string_view)> RequestLog(int verbose) {
  return [verbose](std::string_view line) {
    const bool show = verbose >= 2 || (line.starts_with("> ") && IsRequestLine(line.substr(2))) ||
                      line.starts_with("< HTTP/");
    if (show) PrintErr("{}\n", TerminalSafe(line));
  };
}

// The directory of a file:// endpoint: "file:///srv/objects" or "file://localhost/srv/objects".
Result<std::string> FileEndpointRoot(std::string_view url) {
  std::string_view rest = url.substr(5);  // after "file:"
  if (!rest.starts_with("//")) {
    return UsageError(fmt::format("--endpoint-url '{}': write a directory as file:///ABSOLUTE/PATH", RedactUrl(url)));
  }
  rest.remove_prefix(2);
  if (rest.starts_with("localhost/")) rest.remove_prefix(9);
  if (!rest.starts_with("/")) {
    return UsageError(fmt::format("--endpoint-url '{}': a file:// endpoint names a local directory, "
                                  "file:///ABSOLUTE/PATH (no host)", RedactUrl(url)));
  }
  std::string path;
  for (size_t i = 0; i < rest.size(); ++i) {
    const int hi = i + 2 < rest.size() && rest[i] == '%' ? HexDigitValue(rest[i + 1]) : -1;
    const int lo = hi >= 0 ? HexDigitValue(rest[i + 2]) : -1;
    if (lo >= 0) {
      path.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      path.push_back(rest[i]);
    }
  }
  return path;
}

std::chrono::milliseconds Millis(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(std::ceil(seconds * 1000)));
}

}  // namespace

// The default credential chain, remembering the access key id and source of what it handed out
// last, so an error about refused credentials can say which ones (never the secret).
class Session::Credentials final : public s3::CredentialsProvider {
 public:
  explicit Credentials(s3::ProviderPtr chain) : chain_(std::move(chain)) {}
  std::string name() const override { return chain_->name(); }
  Result<s3::Credentials> Fetch() override {
    Result<s3::Credentials> c = chain_->Fetch();
    if (c) {
      std::lock_guard lock(mu_);
      last_ = fmt::format("access key id {} from {}", c->access_key_id, c->source);
    }
    return c;
  }
  std::string last() const {
    std::lock_guard lock(mu_);
    return last_;
  }

 private:
  s3::ProviderPtr chain_;
  mutable std::mutex mu_;
  std::string last_;
};

void AddCommonFlags(CLI::App& cmd, CommonFlags& f) {
  cmd.add_option("--endpoint-url", f.endpoint_url,
                 "S3 endpoint (http://127.0.0.1:9000), or file:///DIR for a local store whose "
                 "subdirectories are the buckets; default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, "
                 "S3_ENDPOINT_URL, the profile, AWS");
  cmd.add_option("--region", f.region, "Region; default: AWS_REGION, AWS_DEFAULT_REGION, the profile, us-east-1");
  cmd.add_option("--profile", f.profile, "Profile of ~/.aws/config and ~/.aws/credentials; default: AWS_PROFILE, default");
  cmd.add_option("--connect-timeout", f.connect_timeout_s, "Seconds to connect (each attempt)")
      ->check(CLI::Range(0.001, 86400.0))
      ->default_str("10");
  cmd.add_option("--read-timeout", f.read_timeout_s,
                 "Seconds to wait for an answer, or for the next bytes of a transfer (each attempt)")
      ->check(CLI::Range(0.001, 86400.0))
      ->default_str("30");
  cmd.add_flag("-v,--verbose", f.verbose,
               "Requests, statuses, retries and progress on stderr; -vv adds headers (credentials as ***)");
}

void AddUriFlags(CLI::App& cmd, UriFlags& f, std::string help, bool required) {
  CLI::Option* uri = cmd.add_option("uri", f.uri, std::move(help));
  if (required) uri->required();
  AddCommonFlags(cmd, f.common);
}

Result<std::unique_ptr<Session>> Session::Open(const CommonFlags& flags) {
  std::unique_ptr<Session> s(new Session());
  const s3::Environment env = s3::ProcessEnvironment();
  auto endpoint = s3::ResolveEndpoint(flags.endpoint_url, flags.profile, env);
  if (!endpoint) return UsageError(endpoint.error().message());

  if (StartsWithIgnoreCase(*endpoint, "file:")) {
    ESPER_ASSIGN_OR_RETURN(std::string root, FileEndpointRoot(*endpoint));
    auto local = storage::LocalStore::Create({.root = root});
    if (!local) return std::move(local.error()).Wrap(fmt::format("local store {}", RedactUrl(*endpoint)));
    s->endpoint_ = RedactUrl(*endpoint);
    s->store_ = std::move(*local);
  } else {
    s3::S3StoreOptions o;
    o.endpoint_url = *endpoint;
    o.region = flags.region;
    o.profile = flags.profile;
    o.env = env;
    auto region = s3::ResolveRegion(flags.region, flags.profile, env);
    if (!region) return UsageError(region.error().message());
    s->credentials_ = std::make_shared<Credentials>(
        s3::DefaultChain({.env = env, .profile = flags.profile, .region = *region}));
    o.credentials_provider = s->credentials_;
    o.request_timeout = Millis(flags.read_timeout_s);
    // As aws s3 cp and rclone: a download is atomic (renamed into place) but not fsync'd; the
    // flushes cost one disk round trip per file, on the store's one loop thread.
    o.fsync_downloads = false;
    o.verify_download_md5 = !flags.ignore_checksum;
    o.http.connect_timeout = Millis(flags.connect_timeout_s);
    o.http.request_timeout = o.request_timeout;
    // A transfer may take long; one that stops moving for the read timeout fails (and is retried).
    o.http.stall_time = std::chrono::seconds(static_cast<int64_t>(std::ceil(flags.read_timeout_s)));
    if (flags.verbose > 0) {
      o.http.debug_log = RequestLog(flags.verbose);
      auto logger = log::Logger::Create({.name = "esper-s3",
                                         .level = log::Level::kWarn,
                                         .level_from_env = false,
                                         .sinks = {{.sink = std::make_shared<StderrSink>(),
                                                    .format = log::Format::kText,
                                                    .level = log::Level::kWarn}},
                                         .async = false});
      if (!logger) return logger.error();
      s->logger_ = std::move(*logger);
      o.logger = s->logger_;
    }
    auto store = s3::S3Store::Create(std::move(o));
    if (!store) {
      // A bad endpoint, region or AWS_MAX_ATTEMPTS: the command line (or environment) is wrong.
      if (store.error().code() == ErrorCode::kInvalidArgument) return UsageError(store.error().message());
      return store.error();
    }
    s->s3_ = store->get();
    s->endpoint_ = s->s3_->endpoint_url().empty() ? fmt::format("AWS S3 ({})", s->s3_->region())
                                                  : RedactUrl(s->s3_->endpoint_url());
    s->store_ = std::move(*store);
  }
  Session* self = s.get();
  s->on_interrupt_ = std::make_unique<std::stop_callback<std::function<void()>>>(
      InterruptToken(), std::function<void()>([self] {
        std::lock_guard lock(self->mu_);
        self->interrupted_ = true;
        self->cv_.notify_all();
      }));
  return s;
}

Session::~Session() {
  on_interrupt_.reset();
  store_.reset();
}

bool Session::interrupted() const {
  std::lock_guard lock(mu_);
  return interrupted_;
}

bool Session::WaitFor(std::unique_lock<std::mutex>& lock, const std::function<bool()>& ready) {
  cv_.wait(lock, [&] { return interrupted_ || ready(); });
  return !interrupted_;
}

void Session::Abort() {
  InterruptCleanup cleanup;  // the watcher waits while the store removes what it was writing
  store_.reset();
  s3_ = nullptr;
}

Result<std::optional<storage::ListPage>> Session::NextPage(storage::Lister& lister) {
  if (lister.done()) return std::optional<storage::ListPage>();
  ESPER_ASSIGN_OR_RETURN(storage::ListPage page,
                         Await<storage::ListPage>([&](storage::Callback<storage::ListPage> done) {
                           return lister.NextPageAsync(std::move(done));
                         }));
  return std::optional<storage::ListPage>(std::move(page));
}

Status Session::RunJobs(const JobSource& next, RunOptions options) {
  // Under mu_. While only one job has started, its failure is held back (Main says it, as for
  // any command); once there are more, each failure is said here as it happens.
  struct Tally {
    int in_flight = 0;
    int started = 0;
    int failed = 0;
    bool exhausted = false;
    std::optional<Error> held;
    std::optional<Error> source_error;
  } t;
  auto say = [](const Error& e) { PrintErr("esper: error: {}\n", TerminalSafe(e.ToString())); };
  auto fail = [&](Error e) {
    e = Explain(std::move(e));
    ++t.failed;
    if (interrupted_) return;  // cancelled by the interrupt: "esper: interrupted" says it all
    if (t.started > 1) {
      say(e);
    } else {
      t.held = std::move(e);
    }
  };
  std::unique_lock lock(mu_);
  for (;;) {
    if (!WaitFor(lock, [&] {
          return (!t.exhausted && t.in_flight < options.concurrency) || (t.exhausted && t.in_flight == 0);
        })) {
      lock.unlock();
      Abort();
      return Error::Cancelled("interrupted");
    }
    if (t.exhausted) break;
    lock.unlock();
    Result<std::optional<Job>> job = next();
    lock.lock();
    if (!job || !*job) {
      t.exhausted = true;
      if (!job && !interrupted_) t.source_error = job.error();
      continue;
    }
    if (t.started == 1 && t.held) say(*t.held);  // a second job: the first one's failure is said now
    ++t.in_flight;
    ++t.started;
    lock.unlock();
    Status st = (**job)([this, &t, &fail](Status done) {
      std::lock_guard l(mu_);
      --t.in_flight;
      if (!done) fail(done.error());
      cv_.notify_all();
    });
    lock.lock();
    if (!st) {
      --t.in_flight;
      fail(st.error());
    }
  }
  lock.unlock();
  if (t.source_error) {
    if (t.held && t.started == 1) say(*t.held);
    const Error& e = *t.source_error;  // a listing page's: Await explained it
    if (t.failed == 0) return e;
    return Error(e.code(), fmt::format("{} (and {} of {} {} failed)", e.message(), t.failed, t.started, options.what));
  }
  if (t.failed == 0) return OkStatus();
  if (t.started == 1) return *t.held;
  return Error(ErrorCode::kUnknown, fmt::format("{} of {} {} failed", t.failed, t.started, options.what));
}

Error Session::Explain(Error e) const {
  static constexpr std::string_view kRefused[] = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied",
                                                  "ExpiredToken", "InvalidToken", "TokenRefreshRequired"};
  // A HEAD's 403 has no body to say which code: the status alone.
  const bool refused = std::find(std::begin(kRefused), std::end(kRefused), e.service_code()) != std::end(kRefused) ||
                       (e.http_status() == 403 && e.service_code().empty());
  if (!credentials_ || !refused) return e;
  const std::string used = credentials_->last();
  if (used.empty()) return e;
  return Error(e.code(), fmt::format("{} (credentials: {})", e.message(), used))
      .WithRetryable(e.retryable())
      .WithHttpStatus(e.http_status())
      .WithServiceCode(e.service_code())
      .WithRequestId(e.request_id());
}

}  // namespace esper::cli::s3cmd
