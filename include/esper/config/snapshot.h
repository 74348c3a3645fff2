// esper/config/snapshot.h — an immutable, validated configuration with typed access.
//
// A Snapshot is what Load() returns and what Config hands out: every value converted and checked
// against the schema, the typed sections as plain structs (read them directly, no lookup cost),
// free-form sections read by dotted path, and the provenance of every value.
//
// Typed sections (keys, types and defaults: docs/config.md, or `esper config show`):
//   service, logging, http, s3, storage, database, redis, services, performance, tls, features, debug.
// Free-form sections (LoadOptions::free_form_sections, default "training") are read with
// Get<T>(path): the text is converted to the T you ask for, by the same rules as typed keys, and
// a value that does not convert is an error naming its source ("a.yaml:7:15"), never a guess.
// Sequence elements are addressed as "training.layers[0]".
//
// Thread safety: immutable; any number of threads may read one Snapshot concurrently.
// Ownership: held by shared_ptr<const Snapshot>; a reader keeps its snapshot alive across a
// Config::Reload().
//
// Example:
//   std::shared_ptr<const esper::config::Snapshot> cfg = config->snapshot();
//   std::string url = cfg->service_url("tamiyo").value();      // "http://localhost:8001"
//   auto timeout = cfg->s3().request_timeout;                  // std::chrono::milliseconds
//   int batch = cfg->Get<int>("training.batch_size", 32).value();
//   fmt::print("{}", cfg->Explain("database.port").value());   // default → file → env → --set
//   fmt::print("{}", cfg->Dump(esper::config::Snapshot::Format::kYaml));  // secrets as ***
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "esper/config/diagnostic.h"
#include "esper/config/origin.h"
#include "esper/core/result.h"
#include "esper/core/secret.h"

namespace esper::config {

using std::chrono::milliseconds;

struct ServiceSettings {
  std::string name;                        // required: the service's name
  std::string environment = "development"; // development | staging | production
  std::string version;                     // free text, e.g. a git tag
  bool production() const { return environment == "production"; }
};

struct LoggingSettings {
  std::string level = "info";         // trace | debug | info | warn | error | critical | off
  std::string format = "json";        // json | logfmt | text
  std::string file;                   // empty: stderr
  std::string queue_policy = "block"; // block | drop (what a full queue does)
  std::int64_t queue_bytes = 1 << 20; // bytes of each producer thread's queue, 4096..2^30
  bool async = true;                  // false: format and write on the calling thread
};

// What an http::Client is made with (http::FromConfig, esper/service/from_config.h).
struct HttpSettings {
  milliseconds connect_timeout{10000};
  milliseconds request_timeout{30000};  // one attempt
  milliseconds overall_timeout{0};      // across the retries of a request; 0: none
  int max_connections = 100;            // all hosts; 0: unlimited
  int max_attempts = 3;                 // the first included; 1: no retries
  std::string user_agent = "esper-http/0.1";
};

struct S3Settings {
  std::string endpoint_url;             // empty: AWS; e.g. http://127.0.0.1:9000 for MinIO
  std::string region = "us-east-1";
  std::string bucket;
  std::string addressing_style = "path";  // path | virtual
  int max_connections = 100;            // 1..10000
  int max_attempts = 3;                 // the first included; 1..100
  milliseconds connect_timeout{5000};
  milliseconds request_timeout{30000};  // one attempt of a request without object data
  bool verify_tls = true;
  std::string access_key_id;
  Secret secret_access_key;
  Secret session_token;
};

struct StorageSettings {
  std::string backend = "s3";  // s3 | local
  std::string local_root;      // root directory of the local store
};

struct DatabaseSettings {
  std::string host = "localhost";
  int port = 5432;              // 1..65535
  std::string name = "esper";
  std::string user = "esper";
  Secret password;
  int pool_size = 10;           // 1..1000
  milliseconds connect_timeout{5000};
  std::string sslmode = "prefer";  // disable | allow | prefer | require | verify-ca | verify-full
};

struct RedisSettings {
  Secret url;                // may hold a password (redis://:pw@host:6379/0); reveal() to connect
  std::string redacted_url;  // the same URL with the password replaced by ***
  int pool_size = 10;        // 1..1000
};

struct PerformanceSettings {
  int worker_threads = 0;       // 0: one per core; ..1024
  int max_concurrency = 64;     // 1..100000
  std::int64_t cache_size_mb = 256;  // 0..1048576
};

struct TlsSettings {
  bool verify = true;   // verify peers' certificates (never turn off in production)
  std::string ca_file;  // extra CA bundle; empty: the system's
};

/// The typed sections, converted and validated.
struct Settings {
  ServiceSettings service;
  LoggingSettings logging;
  HttpSettings http;
  S3Settings s3;
  StorageSettings storage;
  DatabaseSettings database;
  RedisSettings redis;
  std::map<std::string, std::string, std::less<>> services;  // name → base URL
  PerformanceSettings performance;
  TlsSettings tls;
  std::map<std::string, bool, std::less<>> features;  // flag → on
  bool debug = false;
};

class Snapshot {
 public:
  enum class Format { kYaml, kJson };
  struct Impl;

  explicit Snapshot(std::unique_ptr<Impl> impl);
  ~Snapshot();
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  const Settings& settings() const { return settings_; }
  const ServiceSettings& service() const { return settings_.service; }
  const LoggingSettings& logging() const { return settings_.logging; }
  const HttpSettings& http() const { return settings_.http; }
  const S3Settings& s3() const { return settings_.s3; }
  const StorageSettings& storage() const { return settings_.storage; }
  const DatabaseSettings& database() const { return settings_.database; }
  const RedisSettings& redis() const { return settings_.redis; }
  const PerformanceSettings& performance() const { return settings_.performance; }
  const TlsSettings& tls() const { return settings_.tls; }
  bool debug() const { return settings_.debug; }

  /// The base URL of an Esper service ("urza", "tamiyo", "tolaria", "tezzeret", "oona", …).
  /// NotFound (with "did you mean") for a name that is not a service.
  Result<std::string> service_url(std::string_view name) const;
  /// Whether feature flag `name` is on; `fallback` when the flag is not configured.
  bool feature(std::string_view name, bool fallback = false) const;

  /// The value at `key`, converted to T: bool, int, std::int64_t, double, std::string, Secret,
  /// milliseconds (a duration with a unit), std::vector<std::string> (a sequence of scalars).
  /// NotFound when absent; InvalidArgument naming the source when it does not convert; a secret
  /// read as anything but Secret is InvalidArgument (so it cannot leak through a string).
  template <class T>
  Result<T> Get(std::string_view key) const;
  /// Like Get(key), but `fallback` when the key is absent (a bad value is still an error).
  template <class T>
  Result<T> Get(std::string_view key, T fallback) const {
    if (!Has(key)) return fallback;
    return Get<T>(key);
  }
  /// Whether `key` names a value, a section or a sequence.
  bool Has(std::string_view key) const;
  /// The keys (leaves) under `section` ("" for all), in document order.
  std::vector<std::string> Keys(std::string_view section = "") const;

  /// The sources that set `key`, lowest first; the last one won. NotFound for an unknown key.
  Result<std::vector<Origin>> Provenance(std::string_view key) const;
  /// Provenance rendered for a human: the value, its type, and the chain with the winner marked.
  Result<std::string> Explain(std::string_view key) const;

  /// The effective configuration as YAML or JSON, secrets redacted ("***").
  /// JSON: strict RFC 8259 (control characters escaped, invalid UTF-8 as U+FFFD; the library's
  /// one escaper). YAML: a configuration file that loads back to the same values — text that is
  /// not plain-safe is double-quoted with every non-printable character escaped, and a '$'
  /// before '{' or '$' is written "$$", as the loader's interpolation reads it.
  std::string Dump(Format format) const;
  /// One key for a human: a value's text (secrets "***", URLs with their password redacted), or
  /// a section or sequence as YAML. NotFound (with "did you mean") for an unknown key.
  Result<std::string> Render(std::string_view key) const;

  /// Validation warnings of the load (production checks, ignored environment variables).
  const std::vector<Diagnostic>& warnings() const;
  /// The YAML sources merged, in order.
  const std::vector<std::string>& sources() const;
  /// How many leaf values the configuration has.
  std::size_t size() const;

 private:
  friend struct Impl;
  std::unique_ptr<Impl> impl_;
  Settings settings_;
};

extern template Result<bool> Snapshot::Get<bool>(std::string_view) const;
extern template Result<int> Snapshot::Get<int>(std::string_view) const;
extern template Result<std::int64_t> Snapshot::Get<std::int64_t>(std::string_view) const;
extern template Result<double> Snapshot::Get<double>(std::string_view) const;
extern template Result<std::string> Snapshot::Get<std::string>(std::string_view) const;
extern template Result<Secret> Snapshot::Get<Secret>(std::string_view) const;
extern template Result<milliseconds> Snapshot::Get<milliseconds>(std::string_view) const;
extern template Result<std::vector<std::string>> Snapshot::Get<std::vector<std::string>>(
    std::string_view) const;

}  // namespace esper::config
