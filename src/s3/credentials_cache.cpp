// CredentialsCache: the current credentials behind a mutex, one refresh thread, waiters only for
// callers with no valid credentials.
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "esper/core/thread.h"
#include "esper/s3/credentials.h"

namespace esper::s3 {

class CredentialsCache::Impl {
 public:
  using TimePoint = std::chrono::system_clock::time_point;

  Impl(ProviderPtr provider, Options options) : provider_(std::move(provider)), options_(std::move(options)) {
    if (!options_.now) options_.now = [] { return std::chrono::system_clock::now(); };
  }

  ~Impl() {
    std::vector<Callback> waiters;
    {
      std::lock_guard lock(mu_);
      stop_ = true;
      waiters.swap(waiters_);
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    for (auto& w : waiters) w(Error::Cancelled("credentials cache destroyed before the refresh ended"));
  }

  std::optional<Credentials> TryGet() {
    std::lock_guard lock(mu_);
    const TimePoint now = options_.now();
    if (NeedsRefresh(now) && now >= next_attempt_) StartRefreshLocked();
    if (!Valid(now)) return std::nullopt;
    return current_;
  }

  void GetAsync(Callback done) {
    std::optional<Credentials> have;
    {
      std::lock_guard lock(mu_);
      const TimePoint now = options_.now();
      if (Valid(now)) {
        if (NeedsRefresh(now) && now >= next_attempt_) StartRefreshLocked();
        have = current_;
      } else if (stop_) {
        have = std::nullopt;
      } else {
        waiters_.push_back(std::move(done));
        StartRefreshLocked();  // no valid credentials: try now, whatever the retry interval says
        return;
      }
    }
    if (have) {
      done(std::move(*have));
    } else {
      done(Error::Cancelled("credentials cache is shutting down"));
    }
  }

  int fetches() const {
    std::lock_guard lock(mu_);
    return fetches_;
  }

 private:
  bool Valid(TimePoint now) const { return current_ && (!current_->expiration || now < *current_->expiration); }
  bool NeedsRefresh(TimePoint now) const {
    return !current_ || (current_->expiration && now + options_.refresh_before >= *current_->expiration);
  }

  void StartRefreshLocked() {
    if (refreshing_ || stop_) return;
    refreshing_ = true;
    if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
    cv_.notify_all();
  }

  void Loop() {
    NameThisThread("esper-s3-creds");
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return refreshing_ || stop_; });
      if (stop_) return;
      lock.unlock();
      Result<Credentials> r = provider_->Fetch();
      lock.lock();
      ++fetches_;
      const TimePoint now = options_.now();
      if (r && r->expiration && now >= *r->expiration)
        r = Error::Unavailable("credentials from " + r->source + " had already expired when they arrived");
      if (r) current_ = *r;
      // Whatever happened, the next background attempt waits retry_interval (a provider handing
      // out short-lived credentials must not be asked in a loop); a caller without valid
      // credentials still starts one at once.
      next_attempt_ = now + options_.retry_interval;
      refreshing_ = false;
      std::vector<Callback> waiters;
      waiters.swap(waiters_);
      lock.unlock();
      for (auto& w : waiters) w(r);
      lock.lock();
    }
  }

  ProviderPtr provider_;
  Options options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Credentials> current_;
  TimePoint next_attempt_{};
  bool refreshing_ = false;
  bool stop_ = false;
  int fetches_ = 0;
  std::vector<Callback> waiters_;
  std::thread thread_;
};

Result<std::unique_ptr<CredentialsCache>> CredentialsCache::Create(ProviderPtr provider, Options options) {
  if (!provider) return Error::InvalidArgument("CredentialsCache: no provider");
  if (options.refresh_before.count() < 0) return Error::InvalidArgument("CredentialsCache: refresh_before must be >= 0");
  if (options.retry_interval.count() <= 0) return Error::InvalidArgument("CredentialsCache: retry_interval must be > 0");
  return std::unique_ptr<CredentialsCache>(
      new CredentialsCache(std::make_unique<Impl>(std::move(provider), std::move(options))));
}

CredentialsCache::CredentialsCache(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CredentialsCache::~CredentialsCache() = default;
std::optional<Credentials> CredentialsCache::TryGet() { return impl_->TryGet(); }
void CredentialsCache::GetAsync(Callback done) { impl_->GetAsync(std::move(done)); }
int CredentialsCache::fetches() const { return impl_->fetches(); }

Result<Credentials> CredentialsCache::Get() {
  auto p = std::make_shared<std::promise<Result<Credentials>>>();
  auto f = p->get_future();
  GetAsync([p](Result<Credentials> r) { p->set_value(std::move(r)); });
  return f.get();
}

}  // namespace esper::s3
