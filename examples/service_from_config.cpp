// One configuration drives every part: a logger, an http client and an S3 store from one YAML
// file (plus ESPER_* / AWS_* variables), each part taking its section through FromConfig, and
// `explain` saying where each value came from.
//
//   example_service_from_config                          # examples/service.yaml's text, built in
//   example_service_from_config examples/service.yaml    # your file
//   ESPER_HTTP__MAX_ATTEMPTS=1 example_service_from_config examples/service.yaml
//
// Nothing here touches the network: the client and the store connect at their first request.
#include <fmt/format.h>

#include "esper/config/loader.h"
#include "esper/s3/s3_store.h"
#include "esper/service/from_config.h"

int main(int argc, char** argv) {
  esper::config::LoadOptions opts;
  if (argc > 1) {
    opts.files.emplace_back(argv[1]);
  } else {
    opts.texts.push_back({"service.yaml",
                          "service: {name: tamiyo}\n"
                          "logging: {level: info, format: json, queue_bytes: 262144}\n"
                          "http: {request_timeout: 10s, overall_timeout: 30s, max_attempts: 3, user_agent: tamiyo/1.4}\n"
                          "s3: {endpoint_url: \"http://127.0.0.1:9000\", max_attempts: 5, request_timeout: 15s}\n"});
  }
  // A wrong type or unit stops here, reported at file:line:col ("service.yaml:14:20: error: …").
  auto snap = esper::config::Load(opts);
  if (!snap) {
    fmt::print(stderr, "{}\n", snap.error().message());
    return 2;
  }
  for (const auto& w : (*snap)->warnings()) fmt::print(stderr, "{}\n", w.ToString());  // renamed keys, …

  auto logger = esper::log::setup_service_logging(**snap);
  if (!logger) {
    fmt::print(stderr, "logging: {}\n", logger.error());
    return 1;
  }
  auto http_options = esper::http::FromConfig(**snap);
  if (!http_options) {
    fmt::print(stderr, "http: {}\n", http_options.error());
    return 1;
  }
  auto client = esper::http::Client::Create(std::move(*http_options));
  if (!client) {
    fmt::print(stderr, "http: {}\n", client.error());
    return 1;
  }
  auto store_options = esper::s3::FromConfig(**snap);
  if (!store_options) {
    fmt::print(stderr, "s3: {}\n", store_options.error());
    return 1;
  }
  store_options->logger = std::shared_ptr<esper::log::Logger>(logger->get(), [](esper::log::Logger*) {});
  auto store = esper::s3::S3Store::Create(std::move(*store_options));
  if (!store) {
    fmt::print(stderr, "s3: {}\n", store.error());
    return 1;
  }

  const esper::config::Snapshot& c = **snap;
  ESPER_LOG_INFO(**logger, "started", esper::log::kv("http_request_timeout_ms", c.http().request_timeout.count()),
                 esper::log::kv("http_max_attempts", c.http().max_attempts),
                 esper::log::kv("s3_endpoint", (*store)->endpoint_url()));
  (void)(*logger)->Flush();
  for (const char* key : {"logging.queue_bytes", "http.request_timeout", "http.max_attempts", "s3.max_attempts"}) {
    fmt::print("{}", c.Explain(key).value_or(""));
  }
  return 0;
}
