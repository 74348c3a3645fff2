// The fault proxy's public class: Create (validation), SetFaults, the accessors, and the parsers
// of its option values. The proxy itself runs in the files named in proxy/impl.h.
#include "esper/proxy/fault_proxy.h"

#include <fmt/format.h>

#include <charconv>
#include <string>

#include "esper/core/ascii.h"
#include "proxy/impl.h"
#include "proxy/metrics.h"

namespace esper::proxy {

std::string_view FaultKindName(FaultKind kind) noexcept {
  switch (kind) {
    case FaultKind::kNone: return "none";
    case FaultKind::kReset: return "reset";
    case FaultKind::kResetAfterUpstream: return "reset-after-upstream";
    case FaultKind::kStall: return "stall";
    case FaultKind::kError: return "error";
    case FaultKind::kTruncate: return "truncate";
    case FaultKind::kCorrupt: return "corrupt";
  }
  return "unknown";
}

Result<ErrorStatus> ParseErrorStatus(std::string_view text) {
  if (text == "500") return ErrorStatus::k500;
  if (text == "503") return ErrorStatus::k503;
  if (EqualsIgnoreCase(text, "SlowDown")) return ErrorStatus::kSlowDown;
  return Error::InvalidArgument(
      fmt::format("error status '{}' is not one of 500, 503, SlowDown", text));
}

Result<Mode> ParseMode(std::string_view text) {
  if (EqualsIgnoreCase(text, "http")) return Mode::kHttp;
  if (EqualsIgnoreCase(text, "tcp")) return Mode::kTcp;
  return Error::InvalidArgument(fmt::format("mode '{}' is not one of http, tcp", text));
}

Result<Endpoint> ParseEndpoint(std::string_view text) {
  Endpoint e;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Error::InvalidArgument(fmt::format("'{}' is not [IPv6]:PORT", text));
    }
    e.host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return Error::InvalidArgument(fmt::format("'{}' is not HOST:PORT", text));
    }
    e.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
  }
  if (e.host.empty()) return Error::InvalidArgument(fmt::format("'{}' has no host", text));
  unsigned value = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || p != port.data() + port.size() || value > 65535) {
    return Error::InvalidArgument(fmt::format("'{}': port '{}' is not a number in [0, 65535]", text, port));
  }
  e.port = static_cast<uint16_t>(value);
  return e;
}

FaultProxy::FaultProxy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FaultProxy::~FaultProxy() { Stop(); }

namespace {

// Everything Create() checks except the endpoints.
Status ValidateFaults(const Options& options) {
  struct Rate {
    const char* name;
    double value;
  };
  double sum = 0;
  for (Rate r : {Rate{"reset_rate", options.reset_rate}, Rate{"stall_rate", options.stall_rate},
                 Rate{"error_rate", options.error_rate},
                 Rate{"truncate_rate", options.truncate_rate},
                 Rate{"corrupt_rate", options.corrupt_rate}}) {
    if (!(r.value >= 0.0 && r.value <= 1.0)) {  // also rejects NaN
      return Error::InvalidArgument(fmt::format("{} = {} is not in [0, 1]", r.name, r.value));
    }
    sum += r.value;
  }
  if (sum > 1.0 + 1e-9) {
    return Error::InvalidArgument(fmt::format(
        "the fault rates add up to {} > 1 (each request gets at most one fault)", sum));
  }
  if (options.mode == Mode::kTcp && options.error_rate > 0) {
    return Error::InvalidArgument("error_rate needs mode http (tcp mode cannot answer HTTP errors)");
  }
  if (options.mode == Mode::kTcp && options.corrupt_rate > 0) {
    return Error::InvalidArgument("corrupt_rate needs mode http (tcp mode does not know where a body is)");
  }
  if (options.latency.count() < 0 || options.latency > std::chrono::hours(1)) {
    return Error::InvalidArgument(
        fmt::format("latency {} ms is not in [0, 3600000]", options.latency.count()));
  }
  if (options.retry_after && (options.retry_after->count() < 0 ||
                              options.retry_after->count() > 86400)) {
    return Error::InvalidArgument(
        fmt::format("retry_after {} s is not in [0, 86400]", options.retry_after->count()));
  }
  return OkStatus();
}

}  // namespace

Result<std::unique_ptr<FaultProxy>> FaultProxy::Create(Options options) {
  ESPER_ASSIGN_OR_RETURN(Endpoint listen_ep, ParseEndpoint(options.listen).map_error([](Error e) {
    return e.Wrap("listen");
  }));
  if (options.upstream.empty()) {
    return Error::InvalidArgument("upstream is required (\"host:port\")");
  }
  ESPER_ASSIGN_OR_RETURN(Endpoint upstream_ep, ParseEndpoint(options.upstream).map_error([](Error e) {
    return e.Wrap("upstream");
  }));
  if (upstream_ep.port == 0) return Error::InvalidArgument("upstream port must not be 0");
  ESPER_RETURN_IF_ERROR(ValidateFaults(options));
  if (options.mode == Mode::kTcp && !options.request_log.empty()) {
    return Error::InvalidArgument("request_log needs mode http (tcp mode has no requests)");
  }
  if (options.max_connections < 1 || options.max_connections > 100000) {
    return Error::InvalidArgument(
        fmt::format("max_connections {} is not in [1, 100000]", options.max_connections));
  }
  auto impl = std::make_unique<Impl>(std::move(options));
  impl->listen_ep = std::move(listen_ep);
  impl->upstream_ep = std::move(upstream_ep);
  metrics::Registry* registry = impl->opts.metrics;
  std::unique_ptr<FaultProxy> proxy(new FaultProxy(std::move(impl)));
  if (registry) {
    ESPER_ASSIGN_OR_RETURN(proxy->metrics_,
                           detail::PublishProxyStats([p = proxy.get()] { return p->get_stats(); }, *registry));
  }
  return proxy;
}

Status FaultProxy::SetFaults(const Options& faults) {
  Options next;
  {
    std::lock_guard lock(impl_->faults_mu);
    next = impl_->published;
  }
  Impl::CopyFaults(faults, next);
  ESPER_RETURN_IF_ERROR(ValidateFaults(next));
  {
    std::lock_guard lock(impl_->faults_mu);
    Impl::CopyFaults(next, impl_->published);
  }
  impl_->faults_dirty.store(true, std::memory_order_release);
  return OkStatus();
}

Status FaultProxy::Start() { return impl_->Start(); }
void FaultProxy::Stop() { impl_->Stop(); }
uint16_t FaultProxy::port() const noexcept { return impl_->bound_port.load(std::memory_order_acquire); }

std::string FaultProxy::address() const {
  const std::string& h = impl_->listen_ep.host;
  if (h.find(':') != std::string::npos) return fmt::format("[{}]:{}", h, port());
  return fmt::format("{}:{}", h, port());
}

Statistics FaultProxy::statistics() const {
  const auto& s = impl_->stats;
  auto get = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  Statistics r;
  r.connections = get(s.connections);
  r.active_connections = get(s.active);
  r.rejected_connections = get(s.rejected);
  r.requests = get(s.requests);
  r.passed = get(s.passed);
  r.resets = get(s.resets);
  r.stalls = get(s.stalls);
  r.errors = get(s.errors);
  r.truncations = get(s.truncations);
  r.corruptions = get(s.corruptions);
  r.delayed = get(s.delayed);
  r.upstream_failures = get(s.upstream_failures);
  r.protocol_errors = get(s.protocol_errors);
  r.bytes_to_upstream = get(s.bytes_to_upstream);
  r.bytes_to_client = get(s.bytes_to_client);
  return r;
}

std::vector<FaultRecord> FaultProxy::FaultLog() const {
  std::lock_guard lock(impl_->log_mu);
  return impl_->log;
}

Options FaultProxy::options() const {
  std::lock_guard lock(impl_->faults_mu);
  return impl_->published;
}

}  // namespace esper::proxy
