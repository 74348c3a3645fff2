#include "esper/config/config.h"

namespace esper::config {
namespace {

// get_stats() as metrics, read at each scrape.
Result<metrics::Collector> PublishConfigStats(const Config& config, metrics::Registry& registry) {
  using metrics::MetricType;
  return registry.AddCollector(
      {{.name = "esper_config_reloads_total", .help = "Configuration reloads, by result (a failed one keeps the old snapshot).",
        .labels = {"result"}, .type = MetricType::kCounter},
       {.name = "esper_config_last_good_load_timestamp_seconds",
        .help = "When the configuration in use was loaded, in seconds since the Unix epoch.", .type = MetricType::kGauge}},
      [&config](metrics::Collection& out) {
        const ConfigStats s = config.get_stats();
        out.Add("esper_config_reloads_total", {"ok"}, static_cast<double>(s.reloads));
        out.Add("esper_config_reloads_total", {"failed"}, static_cast<double>(s.failed_reloads));
        out.Add("esper_config_last_good_load_timestamp_seconds", {},
                std::chrono::duration<double>(s.last_good_load.time_since_epoch()).count());
      });
}

}  // namespace

Result<std::unique_ptr<Config>> Config::Create(LoadOptions options, metrics::Registry* metrics) {
  ESPER_ASSIGN_OR_RETURN(Snap first, Load(options));
  std::unique_ptr<Config> config(new Config(std::move(options), std::move(first)));
  if (metrics) {
    ESPER_ASSIGN_OR_RETURN(config->metrics_, PublishConfigStats(*config, *metrics));
  }
  return config;
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
  {
    std::lock_guard<std::mutex> lock(snap_mu_);
    s.generation = generation_;
    s.last_good_load = loaded_at_;
  }
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
    loaded_at_ = std::chrono::system_clock::now();
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
