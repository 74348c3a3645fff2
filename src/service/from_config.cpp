// log::FromConfig and http::FromConfig: the `logging` and `http` sections as the parts' options.
#include "esper/service/from_config.h"

#include <fmt/format.h>

#include "esper/log/sink.h"

namespace esper {
namespace {

// "logging.file (set at a.yaml:4:9)": where a value the part refused came from.
std::string Where(const config::Snapshot& c, std::string_view key) {
  auto p = c.Provenance(key);
  if (!p || p->empty()) return std::string(key);
  return fmt::format("{} (set at {})", key, p->back().ToString());
}

Error About(const config::Snapshot& c, std::string_view key, Error e) {
  return std::move(e).Wrap(Where(c, key));
}

}  // namespace

namespace log {

Result<Options> FromConfig(const config::Snapshot& c) {
  const config::LoggingSettings& s = c.logging();
  Options o;
  o.name = c.service().name;
  auto level = ParseLevel(s.level);
  if (!level) return About(c, "logging.level", level.error());
  o.level = *level;
  o.level_from_env = false;  // the loader has layered ESPER_LOG_LEVEL over the files already
  auto format = ParseFormat(s.format);
  if (!format) return About(c, "logging.format", format.error());
  if (s.file.empty()) {
    o.sinks.push_back({.sink = std::make_shared<StreamSink>(StreamSink::Stream::kStderr), .format = *format});
  } else {
    auto file = FileSink::Create(s.file);
    if (!file) return About(c, "logging.file", file.error());
    o.sinks.push_back({.sink = std::move(*file), .format = *format});
  }
  o.policy = s.queue_policy == "drop" ? QueuePolicy::kDrop : QueuePolicy::kBlock;
  o.queue_bytes = static_cast<size_t>(s.queue_bytes);
  o.async = s.async;
  return o;
}

Result<std::unique_ptr<Logger>> setup_service_logging(const config::Snapshot& c) {
  ESPER_ASSIGN_OR_RETURN(Options o, FromConfig(c));
  return Logger::Create(std::move(o));
}

}  // namespace log

namespace http {

Result<ClientOptions> FromConfig(const config::Snapshot& c) {
  const config::HttpSettings& h = c.http();
  ClientOptions o;
  o.connect_timeout = h.connect_timeout;
  o.request_timeout = h.request_timeout;
  o.overall_timeout = h.overall_timeout;
  o.max_connections = h.max_connections;
  o.retry.max_attempts = h.max_attempts;
  o.user_agent = h.user_agent;
  o.verify_tls = c.tls().verify;
  o.ca_bundle = c.tls().ca_file;
  // What the client refuses is told about the key it came from. Of Validate's checks only these
  // two can fail here: the schema's ranges already refuse what the others would (a timeout of 0,
  // max_attempts out of [1, 100], …). Matched on the "http::ClientOptions.<field>" Validate begins with.
  if (Status v = Client::Validate(o); !v) {
    static constexpr std::pair<std::string_view, std::string_view> kKeys[] = {{"ca_bundle", "tls.ca_file"},
                                                                              {"user_agent", "http.user_agent"}};
    for (const auto& [field, key] : kKeys) {
      if (v.error().message().starts_with(fmt::format("http::ClientOptions.{}", field))) return About(c, key, v.error());
    }
    return v.error();
  }
  return o;
}

}  // namespace http
}  // namespace esper
