// esper/metrics/registry.h — a registry of metric families: what a scrape reads.
//
// Two ways in:
//   * Families the registry owns (AddCounter / AddGauge / AddHistogram): a service's own
//     metrics, updated on its hot path without a lock (counter.h, gauge.h, histogram.h).
//   * Collectors (AddCollector): a callback that, at each scrape, writes the current values of
//     numbers kept elsewhere — how esper's own parts publish, so the statistics a part already
//     keeps (Logger::get_stats(), Client::get_stats(), …) and the metrics are the same numbers.
//     A collector declares its families when it is added; at a scrape it adds samples to them.
//     Several collectors may declare the same family (two http::Clients both publish
//     esper_http_requests_total): their samples are merged, and samples with equal label values
//     are added up (counters, gauges and histograms alike).
//
// Every process has a default registry (DefaultRegistry()), where esper's parts publish and
// where a service usually adds its own; a registry of one's own (a test, a component that wants
// its own page) is an ordinary object.
//
//   auto& reg = metrics::DefaultRegistry();
//   auto jobs = reg.AddCounter({.name = "tezzeret_jobs_total", .help = "Jobs finished.",
//                               .labels = {"outcome"}});
//   if (!jobs) return jobs.error();
//   (*jobs)->With({"ok"}).Increment();
//   std::string page = metrics::prometheus_text(reg);       // exposition.h
//
// Names (checked by Add*, an InvalidArgument error otherwise), after Prometheus's rules and its
// linter (`promtool check metrics`):
//   * metric names [a-z_][a-z0-9_]* (lower snake_case; no colon — those are for recording
//     rules); label names the same, not starting with "__", no duplicates; a histogram has no
//     "le" label;
//   * a counter's name ends in "_total", nothing else's does; a histogram's name does not end in
//     "_bucket", "_sum" or "_count";
//   * base units: names do not say milliseconds, microseconds, nanoseconds, minutes, hours,
//     kilo/mega/gigabytes (seconds and bytes instead);
//   * help is one non-empty line;
//   * histogram buckets are finite, strictly increasing, at least one;
//   * one name is one family: adding a family whose name is taken returns the existing family if
//     the description is the same (type, help, labels, buckets), else AlreadyExists; names a
//     histogram derives (`x_bucket`, `x_sum`, `x_count`) count as taken too.
//
// Thread safety: every method from any thread at once. A collector runs on the scraping thread
// (Gather's caller), under the registry's collector lock: it must not add or remove collectors
// of the same registry, and should be quick (it holds up the scrape, not the service).
// Ownership: the registry owns its families (references stay valid while it lives); a Collector
// handle removes its callback when destroyed, waiting for a scrape in progress to finish with it,
// so the callback may read an object the handle's owner destroys right after.
// Blocking: Add* and With() take short locks; Gather runs every collector.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "esper/core/result.h"
#include "esper/metrics/family.h"

namespace esper::metrics {

class Registry;

/// What a collector writes into during a scrape. Samples name a family the collector declared;
/// one whose name was not declared, or with the wrong number of label values, is dropped and
/// counted (Registry::dropped_samples()).
class Collection {
 public:
  /// A counter or gauge sample.
  void Add(std::string_view family, const std::vector<std::string>& label_values, double value);
  void Add(std::string_view family, std::initializer_list<std::string_view> label_values, double value);
  /// A histogram sample: per-bucket counts (not cumulative; one per bound of the family's buckets,
  /// then +Inf) and the sum.
  void AddHistogram(std::string_view family, const std::vector<std::string>& label_values,
                    std::span<const uint64_t> bucket_counts, double sum);

 private:
  friend class Registry;
  struct Impl;
  explicit Collection(Impl* impl) : impl_(impl) {}
  Impl* impl_;
};

using CollectFn = std::function<void(Collection&)>;

/// Keeps a collector registered; destroying (or Reset) removes it. Movable.
class Collector {
 public:
  Collector() = default;
  Collector(Collector&& o) noexcept;
  Collector& operator=(Collector&& o) noexcept;
  ~Collector() { Reset(); }
  void Reset();
  explicit operator bool() const { return registry_ != nullptr; }

 private:
  friend class Registry;
  Collector(Registry* r, uint64_t id) : registry_(r), id_(id) {}
  Registry* registry_ = nullptr;
  uint64_t id_ = 0;
};

class Registry {
 public:
  struct Options {
    size_t max_series_per_family = 1000;  // the cardinality cap of a family (family.h), >= 2
  };
  Registry() : Registry(Options{}) {}
  explicit Registry(Options options);
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Result<CounterFamily*> AddCounter(MetricDesc desc);
  Result<GaugeFamily*> AddGauge(MetricDesc desc);
  Result<HistogramFamily*> AddHistogram(MetricDesc desc);

  /// Registers `collect`, which writes samples of `families` (their `type` fields say what each
  /// is) at every scrape. The descriptions are checked as Add* checks them.
  Result<Collector> AddCollector(std::vector<MetricDesc> families, CollectFn collect);

  /// Every family with at least one series: sorted by name, series sorted by label values.
  std::vector<FamilySnapshot> Gather() const;

  /// Samples collectors wrote that matched no declared family (or had the wrong label count).
  uint64_t dropped_samples() const noexcept;

 private:
  friend class Collector;
  struct Impl;
  void RemoveCollector(uint64_t id);
  std::unique_ptr<Impl> impl_;
};

/// The process's registry: where esper's parts publish and the /metrics endpoint reads by
/// default. Never destroyed (usable from static destructors and other threads at exit).
Registry& DefaultRegistry();

/// Checks a description against the rules above (what Add* and AddCollector check).
Status ValidateDesc(const MetricDesc& desc);

}  // namespace esper::metrics
