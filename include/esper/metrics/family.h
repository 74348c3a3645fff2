// esper/metrics/family.h — a metric family: one name, help text, type and label names, and its
// series (one per set of label values). Also what a scrape reads (FamilySnapshot).
//
// A family is made by a Registry (registry.h), which owns it; `With(label values)` finds or makes
// the series for those values and returns a reference that stays valid as long as the registry.
// With() takes the family's lock: call it once per label set and keep the reference; the
// series' own updates (Counter::Increment, Histogram::Observe, …) take no lock.
//
//   auto requests = metrics::DefaultRegistry().AddCounter({
//       .name = "myservice_requests_total", .help = "Requests served.",
//       .labels = {"method", "code"}});
//   if (!requests) return requests.error();
//   metrics::Counter& get_ok = (*requests)->With({"GET", "2xx"});
//
// Cardinality is bounded: a family holds at most MetricDesc::max_series series (the registry's
// default when 0). Once full, With() for a new label set returns the family's overflow series,
// whose every label value is kOverflowLabel, so a label fed with something unbounded (a key, a
// path) by mistake shows up as one `__overflow__` series instead of growing memory without end.
// Never label with keys, URLs, paths, request ids or user ids.
//
// Thread safety: With() and the series' methods from any thread at once. Blocking: With() may
// wait for the family's lock (held for a map lookup or insert). Errors: a wrong number of label
// values is a programmer error (asserted; in release the overflow series is returned).
#pragma once

#include <cassert>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "esper/metrics/counter.h"
#include "esper/metrics/gauge.h"
#include "esper/metrics/histogram.h"

namespace esper::metrics {

enum class MetricType { kCounter, kGauge, kHistogram };
/// "counter", "gauge", "histogram" (as in the text format's TYPE line).
std::string_view TypeName(MetricType type) noexcept;

/// The label value every label of a family's overflow series has.
inline constexpr std::string_view kOverflowLabel = "__overflow__";

/// What a family is. Names follow Prometheus's rules and conventions (registry.h checks them).
struct MetricDesc {
  std::string name;                 // snake_case; counters end in _total; base units (_seconds, _bytes)
  std::string help;                 // one line, required
  std::vector<std::string> labels;  // label names, snake_case; none starts with "__"
  std::vector<double> buckets;      // histograms: strictly increasing upper bounds (+Inf implied)
  size_t max_series = 0;            // series cap; 0: the registry's Options::max_series_per_family
  MetricType type = MetricType::kCounter;  // set by Registry::Add*, read from a collector's desc
};

/// One series as a scrape sees it.
struct SeriesSnapshot {
  std::vector<std::string> label_values;  // in the order of MetricDesc::labels
  double value = 0;                       // counter or gauge
  std::vector<uint64_t> bucket_counts;    // histogram: per bucket, not cumulative; last is +Inf
  double sum = 0;                         // histogram
};

/// One family as a scrape sees it: its series sorted by label values.
struct FamilySnapshot {
  MetricDesc desc;
  std::vector<SeriesSnapshot> series;
};

namespace detail {

/// What the registry needs of a family, whatever its type.
class FamilyBase {
 public:
  explicit FamilyBase(MetricDesc desc) : desc_(std::move(desc)) {}
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;
  const MetricDesc& desc() const noexcept { return desc_; }
  /// Appends a snapshot of every series to `out` (unsorted).
  virtual void Collect(std::vector<SeriesSnapshot>& out) const = 0;

 protected:
  MetricDesc desc_;
};

void ReadSeries(const Counter& c, SeriesSnapshot& out);
void ReadSeries(const Gauge& g, SeriesSnapshot& out);
void ReadSeries(const Histogram& h, SeriesSnapshot& out);

}  // namespace detail

template <class Series>
class Family final : public detail::FamilyBase {
 public:
  /// Made by the Registry after checking `desc`.
  explicit Family(MetricDesc desc) : FamilyBase(std::move(desc)) {
    if (desc_.labels.empty()) With({});  // an unlabelled family has its one series from the start
  }

  Series& With(std::initializer_list<std::string_view> values) {
    return With(std::span<const std::string_view>(values.begin(), values.size()));
  }
  Series& With(std::span<const std::string_view> values) {
    std::vector<std::string> key(values.begin(), values.end());
    return Find(std::move(key));
  }
  Series& With(const std::vector<std::string>& values) { return Find(values); }

  /// How many series the family holds (the overflow series included).
  size_t size() const {
    std::lock_guard lock(mu_);
    return series_.size();
  }

  void Collect(std::vector<SeriesSnapshot>& out) const override {
    std::lock_guard lock(mu_);
    for (const auto& [labels, s] : series_) {
      SeriesSnapshot snap;
      snap.label_values = labels;
      detail::ReadSeries(*s, snap);
      out.push_back(std::move(snap));
    }
  }

 private:
  Series& Find(std::vector<std::string> key) {
    assert(key.size() == desc_.labels.size() && "With(): one value per label name");
    std::lock_guard lock(mu_);
    if (key.size() != desc_.labels.size()) key.assign(desc_.labels.size(), std::string(kOverflowLabel));
    auto it = series_.find(key);
    if (it != series_.end()) return *it->second;
    if (series_.size() + 1 >= desc_.max_series) {  // the last slot is kept for the overflow series
      key.assign(desc_.labels.size(), std::string(kOverflowLabel));
      it = series_.find(key);
      if (it != series_.end()) return *it->second;
    }
    auto made = Make();
    Series& ref = *made;
    series_.emplace(std::move(key), std::move(made));
    return ref;
  }
  std::unique_ptr<Series> Make() const {
    if constexpr (std::is_same_v<Series, Histogram>) return std::make_unique<Histogram>(desc_.buckets);
    else return std::make_unique<Series>();
  }

  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Series>> series_;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

}  // namespace esper::metrics
