// The registry: owned families, collectors, and Gather, which merges both into one snapshot.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <set>

#include "esper/metrics/registry.h"

namespace esper::metrics {
namespace {

bool SameDesc(const MetricDesc& a, const MetricDesc& b) {
  return a.type == b.type && a.help == b.help && a.labels == b.labels && a.buckets == b.buckets;
}

std::string_view BaseOfDerived(std::string_view name) {
  for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
    if (name.size() > suffix.size() && name.substr(name.size() - suffix.size()) == suffix) {
      return name.substr(0, name.size() - suffix.size());
    }
  }
  return {};
}

// One family while a scrape is assembled: series keyed by label values, merged by addition.
struct Acc {
  const MetricDesc* desc = nullptr;
  size_t cap = 0;
  std::map<std::vector<std::string>, SeriesSnapshot> series;

  SeriesSnapshot& Slot(std::vector<std::string> labels) {
    auto it = series.find(labels);
    if (it != series.end()) return it->second;
    if (series.size() + 1 >= cap) labels.assign(desc->labels.size(), std::string(kOverflowLabel));
    SeriesSnapshot& s = series[labels];
    if (s.label_values.empty() && !labels.empty()) s.label_values = labels;
    if (desc->type == MetricType::kHistogram && s.bucket_counts.empty()) {
      s.bucket_counts.assign(desc->buckets.size() + 1, 0);
    }
    return s;
  }
  void Merge(SeriesSnapshot in) {
    SeriesSnapshot& s = Slot(std::move(in.label_values));
    s.value += in.value;
    s.sum += in.sum;
    for (size_t i = 0; i < s.bucket_counts.size() && i < in.bucket_counts.size(); ++i) {
      s.bucket_counts[i] += in.bucket_counts[i];
    }
  }
};

using Assembly = std::map<std::string, Acc, std::less<>>;

}  // namespace

struct Registry::Impl {
  Options options;

  mutable std::mutex mu;  // guards families and names
  std::map<std::string, std::unique_ptr<detail::FamilyBase>, std::less<>> families;
  struct Name {
    MetricDesc desc;
    size_t refs = 0;  // owned families hold one for good; each collector declaring it one
  };
  std::map<std::string, Name, std::less<>> names;

  struct Entry {
    uint64_t id;
    std::vector<MetricDesc> families;
    CollectFn collect;
  };
  mutable std::shared_mutex collectors_mu;  // Gather reads; Add/RemoveCollector write
  std::vector<Entry> collectors;
  uint64_t next_id = 1;
  mutable std::atomic<uint64_t> dropped{0};

  // Takes `d.name` (mu held): fine when free or declared the same way.
  Status Claim(const MetricDesc& d) {
    if (auto it = names.find(d.name); it != names.end()) {
      if (!SameDesc(it->second.desc, d)) {
        return Error::AlreadyExists(fmt::format(
            "metric '{}' is already registered with another type, help, labels or buckets", d.name));
      }
      ++it->second.refs;
      return OkStatus();
    }
    // A histogram's series names: x_bucket, x_sum, x_count.
    if (std::string_view base = BaseOfDerived(d.name); !base.empty()) {
      if (auto it = names.find(base); it != names.end() && it->second.desc.type == MetricType::kHistogram) {
        return Error::AlreadyExists(fmt::format("metric '{}' is a series of histogram '{}'", d.name, base));
      }
    }
    if (d.type == MetricType::kHistogram) {
      for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
        if (names.count(d.name + std::string(suffix))) {
          return Error::AlreadyExists(fmt::format("histogram '{}' would shadow metric '{}{}'", d.name, d.name, suffix));
        }
      }
    }
    names.emplace(d.name, Name{d, 1});
    return OkStatus();
  }

  template <class Series>
  Result<Family<Series>*> Add(MetricDesc d, MetricType type) {
    d.type = type;
    if (d.max_series == 0) d.max_series = options.max_series_per_family;
    ESPER_RETURN_IF_ERROR(ValidateDesc(d));
    std::lock_guard lock(mu);
    if (auto it = families.find(d.name); it != families.end()) {
      if (!SameDesc(it->second->desc(), d)) {
        return Error::AlreadyExists(fmt::format(
            "metric '{}' is already registered with another type, help, labels or buckets", d.name));
      }
      return static_cast<Family<Series>*>(it->second.get());
    }
    ESPER_RETURN_IF_ERROR(Claim(d));
    auto family = std::make_unique<Family<Series>>(d);
    auto* raw = family.get();
    families.emplace(d.name, std::move(family));
    return raw;
  }
};

struct Collection::Impl {
  const std::vector<MetricDesc>* declared;
  Assembly* out;
  std::atomic<uint64_t>* dropped;

  Acc* Find(std::string_view family, size_t labels) {
    for (const MetricDesc& d : *declared) {
      if (d.name != family) continue;
      if (d.labels.size() != labels) break;
      auto it = out->find(family);
      if (it == out->end()) it = out->emplace(d.name, Acc{&d, d.max_series, {}}).first;
      if (it->second.desc->type != d.type) break;
      return &it->second;
    }
    dropped->fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
};

void Collection::Add(std::string_view family, const std::vector<std::string>& labels, double value) {
  Acc* acc = impl_->Find(family, labels.size());
  if (!acc || acc->desc->type == MetricType::kHistogram) return;
  acc->Slot(labels).value += value;
}

void Collection::Add(std::string_view family, std::initializer_list<std::string_view> labels, double value) {
  Add(family, std::vector<std::string>(labels.begin(), labels.end()), value);
}

void Collection::AddHistogram(std::string_view family, const std::vector<std::string>& labels,
                              std::span<const uint64_t> counts, double sum) {
  Acc* acc = impl_->Find(family, labels.size());
  if (!acc) return;
  if (acc->desc->type != MetricType::kHistogram || counts.size() != acc->desc->buckets.size() + 1) {
    impl_->dropped->fetch_add(1, std::memory_order_relaxed);
    return;
  }
  SeriesSnapshot& s = acc->Slot(labels);
  for (size_t i = 0; i < counts.size(); ++i) s.bucket_counts[i] += counts[i];
  s.sum += sum;
}

Collector::Collector(Collector&& o) noexcept : registry_(o.registry_), id_(o.id_) { o.registry_ = nullptr; }

Collector& Collector::operator=(Collector&& o) noexcept {
  if (this != &o) {
    Reset();
    registry_ = o.registry_;
    id_ = o.id_;
    o.registry_ = nullptr;
  }
  return *this;
}

void Collector::Reset() {
  if (registry_) registry_->RemoveCollector(id_);
  registry_ = nullptr;
}

Registry::Registry(Options options) : impl_(std::make_unique<Impl>()) {
  if (options.max_series_per_family < 2) options.max_series_per_family = 2;
  impl_->options = options;
}

Registry::~Registry() = default;

Result<CounterFamily*> Registry::AddCounter(MetricDesc desc) {
  return impl_->Add<Counter>(std::move(desc), MetricType::kCounter);
}
Result<GaugeFamily*> Registry::AddGauge(MetricDesc desc) {
  return impl_->Add<Gauge>(std::move(desc), MetricType::kGauge);
}
Result<HistogramFamily*> Registry::AddHistogram(MetricDesc desc) {
  return impl_->Add<Histogram>(std::move(desc), MetricType::kHistogram);
}

Result<Collector> Registry::AddCollector(std::vector<MetricDesc> families, CollectFn collect) {
  for (MetricDesc& d : families) {
    if (d.max_series == 0) d.max_series = impl_->options.max_series_per_family;
    ESPER_RETURN_IF_ERROR(ValidateDesc(d));
  }
  {
    std::lock_guard lock(impl_->mu);
    for (size_t i = 0; i < families.size(); ++i) {
      if (Status s = impl_->Claim(families[i]); !s) {
        for (size_t j = 0; j < i; ++j) {  // give back what this call took
          auto it = impl_->names.find(families[j].name);
          if (--it->second.refs == 0) impl_->names.erase(it);
        }
        return s.error();
      }
    }
  }
  std::unique_lock lock(impl_->collectors_mu);
  const uint64_t id = impl_->next_id++;
  impl_->collectors.push_back({id, std::move(families), std::move(collect)});
  return Collector(this, id);
}

void Registry::RemoveCollector(uint64_t id) {
  std::vector<MetricDesc> released;
  {
    std::unique_lock lock(impl_->collectors_mu);  // waits for a scrape using it
    auto& cs = impl_->collectors;
    auto it = std::find_if(cs.begin(), cs.end(), [&](const Impl::Entry& e) { return e.id == id; });
    if (it == cs.end()) return;
    released = std::move(it->families);
    cs.erase(it);
  }
  std::lock_guard lock(impl_->mu);
  for (const MetricDesc& d : released) {
    auto it = impl_->names.find(d.name);
    if (it != impl_->names.end() && --it->second.refs == 0) impl_->names.erase(it);
  }
}

std::vector<FamilySnapshot> Registry::Gather() const {
  Assembly assembly;
  {
    std::lock_guard lock(impl_->mu);
    for (const auto& [name, family] : impl_->families) {
      std::vector<SeriesSnapshot> series;
      family->Collect(series);
      Acc& acc = assembly.emplace(name, Acc{&family->desc(), family->desc().max_series + 1, {}}).first->second;
      for (SeriesSnapshot& s : series) acc.Merge(std::move(s));
    }
  }
  std::shared_lock lock(impl_->collectors_mu);
  for (const Impl::Entry& e : impl_->collectors) {
    Collection::Impl ci{&e.families, &assembly, &impl_->dropped};
    Collection c(&ci);
    e.collect(c);
  }
  std::vector<FamilySnapshot> out;
  for (auto& [name, acc] : assembly) {
    if (acc.series.empty()) continue;
    FamilySnapshot f;
    f.desc = *acc.desc;
    for (auto& [labels, s] : acc.series) {
      s.label_values = labels;
      f.series.push_back(std::move(s));
    }
    out.push_back(std::move(f));
  }
  return out;
}

uint64_t Registry::dropped_samples() const noexcept { return impl_->dropped.load(std::memory_order_relaxed); }

Registry& DefaultRegistry() {
  static Registry* registry = new Registry();  // never destroyed: see registry.h
  return *registry;
}

}  // namespace esper::metrics
