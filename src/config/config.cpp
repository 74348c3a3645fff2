#include "esper/config/config.h"

namespace esper::config {

Result<std::unique_ptr<Config>> Config::Create(LoadOptions options) {
  ESPER_ASSIGN_OR_RETURN(Snap first, Load(options));
  return std::unique_ptr<Config>(new Config(std::move(options), std::move(first)));
}

Config::Config(LoadOptions options, Snap first) : options_(std::move(options)), snap_(std::move(first)) {}

Config::Snap Config::snapshot() const {
  std::lock_guard<std::mutex> lock(snap_mu_);
  return snap_;
}

std::uint64_t Config::generation() const {
  std::lock_guard<std::mutex> lock(snap_mu_);
  return generation_;
}

ConfigStats Config::get_stats() const {
  ConfigStats s;
  {
    std::lock_guard<std::mutex> reload(reload_mu_);
    s.failed_reloads = failed_reloads_;
    s.subscribers = callbacks_.size();
  }
  s.generation = generation();
  s.reloads = s.generation - 1;
  return s;
}

Status Config::Reload(std::vector<Diagnostic>* diagnostics) {
  std::lock_guard<std::mutex> reload(reload_mu_);
  auto loaded = Load(options_, diagnostics);
  if (!loaded) {
    ++failed_reloads_;
    return loaded.error();
  }
  Snap fresh = *std::move(loaded);
  Snap old;
  {
    std::lock_guard<std::mutex> lock(snap_mu_);
    old = std::move(snap_);
    snap_ = fresh;
    ++generation_;
  }
  for (const auto& [id, cb] : callbacks_) cb(old, fresh);
  return OkStatus();
}

std::uint64_t Config::Subscribe(ChangeCallback cb) {
  std::lock_guard<std::mutex> reload(reload_mu_);
  std::uint64_t id = next_id_++;
  callbacks_.emplace_back(id, std::move(cb));
  return id;
}

void Config::Unsubscribe(std::uint64_t id) {
  std::lock_guard<std::mutex> reload(reload_mu_);
  std::erase_if(callbacks_, [id](const auto& p) { return p.first == id; });
}

Result<Config*> get_config() {
  static std::mutex mu;
  static std::unique_ptr<Config> global;
  std::lock_guard<std::mutex> lock(mu);
  if (!global) {
    ESPER_ASSIGN_OR_RETURN(auto c, Config::Create(LoadOptions{}));
    global = std::move(c);
  }
  return global.get();
}

}  // namespace esper::config
