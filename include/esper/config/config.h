// esper/config/config.h — the live configuration of a process: a snapshot, reloadable.
//
// A Config owns the LoadOptions (files, environment, overrides) and the current Snapshot.
// `snapshot()` hands out a shared_ptr<const Snapshot>: readers keep theirs as long as they like
// and never see a half-loaded configuration. `Reload()` re-reads every source, validates, and —
// only if the new configuration is valid — swaps it in atomically and calls the change
// callbacks; on failure the old snapshot stays and the error (every problem) is returned.
//
// Thread safety: every method may be called from any thread. Reloads are serialised; change
// callbacks run on the reloading thread, in order, after the swap, outside the lock readers
// take, and must not call Reload() themselves (it would deadlock).
// Blocking: snapshot() takes a short mutex (a shared_ptr copy); Reload() reads files.
// Ownership: a Config must outlive the callbacks' captures; snapshots may outlive the Config.
//
// Example:
//   auto cfg = esper::config::Config::Create({.files = {"service.yaml"}});
//   if (!cfg) { fmt::print(stderr, "{}\n", cfg.error().message()); return 1; }
//   (*cfg)->Subscribe([](const auto& old, const auto& now) {
//     if (old->logging().level != now->logging().level) SetLevel(now->logging().level);
//   });
//   auto snap = (*cfg)->snapshot();
//   Connect(snap->database().host, snap->database().port, snap->database().password.reveal());
//   ... on SIGHUP: if (auto st = (*cfg)->Reload(); !st) LogError(st.error());
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "esper/config/loader.h"
#include "esper/config/snapshot.h"
#include "esper/core/result.h"
#include "esper/metrics/registry.h"

namespace esper::config {

/// Counters of a Config since Create (Config::get_stats()).
struct ConfigStats {
  std::uint64_t generation = 1;      // snapshots installed (1 after Create)
  std::uint64_t reloads = 0;         // successful Reload() calls
  std::uint64_t failed_reloads = 0;  // Reload() calls that kept the old snapshot
  std::size_t subscribers = 0;       // change callbacks registered now
  std::chrono::system_clock::time_point last_good_load{};  // when the current snapshot was loaded
};

class Config {
 public:
  using Snap = std::shared_ptr<const Snapshot>;
  /// Called after a successful reload with the snapshot replaced and its replacement.
  using ChangeCallback = std::function<void(const Snap& old_snapshot, const Snap& new_snapshot)>;

  /// Loads once; InvalidArgument listing every problem when the configuration is invalid.
  /// get_stats() is published into `metrics` (docs/config.md, Metrics); nullptr: nowhere. The
  /// registry must outlive the Config.
  static Result<std::unique_ptr<Config>> Create(LoadOptions options,
                                                metrics::Registry* metrics = &metrics::DefaultRegistry());

  Config(const Config&) = delete;
  Config& operator=(const Config&) = delete;

  /// The current snapshot (never null).
  Snap snapshot() const;

  /// Re-reads the sources. On success swaps the snapshot and calls the callbacks; on failure
  /// keeps the current snapshot and returns the error. `diagnostics` gets errors and warnings.
  Status Reload(std::vector<Diagnostic>* diagnostics = nullptr);

  /// Registers a change callback; returns an id for Unsubscribe.
  std::uint64_t Subscribe(ChangeCallback cb);
  void Unsubscribe(std::uint64_t id);

  /// How many snapshots have been installed (1 after Create).
  std::uint64_t generation() const;

  /// Reload counters and subscribers (the seed's get_stats()).
  ConfigStats get_stats() const;

 private:
  Config(LoadOptions options, Snap first);

  const LoadOptions options_;
  mutable std::mutex snap_mu_;  // guards snap_ and generation_ (held only to copy/swap)
  Snap snap_;
  std::uint64_t generation_ = 1;
  std::chrono::system_clock::time_point loaded_at_ = std::chrono::system_clock::now();  // snap_mu_
  mutable std::mutex reload_mu_;  // serialises Reload; guards callbacks_ and the reload counters
  std::uint64_t failed_reloads_ = 0;
  std::vector<std::pair<std::uint64_t, ChangeCallback>> callbacks_;
  std::uint64_t next_id_ = 1;
  metrics::Collector metrics_;  // declared last: removed before what it reads goes
};

/// The process-wide configuration (the seed's get_config()): loaded on first call from
/// ESPER_CONFIG and the process environment; the same Config afterwards. Errors are returned
/// on every call until a load succeeds.
Result<Config*> get_config();

}  // namespace esper::config
