#include "config/schema.h"

namespace esper::config::detail {

std::string_view TypeName(Type t) {
  switch (t) {
    case Type::kBool: return "bool";
    case Type::kInt: return "int";
    case Type::kDouble: return "number";
    case Type::kString: return "string";
    case Type::kSecret: return "secret";
    case Type::kEnum: return "enum";
    case Type::kDuration: return "duration";
    case Type::kUrl: return "url";
    case Type::kSecretUrl: return "url (secret)";
  }
  return "?";
}

SectionKind Schema::KindOf(std::string_view top_name, bool* found) const {
  for (const auto& [n, k] : top) {
    if (n == top_name) {
      *found = true;
      return k;
    }
  }
  *found = false;
  return SectionKind::kFreeForm;
}

const std::vector<std::string>& ServiceNames() {
  static const std::vector<std::string> kNames = {"urza",   "tamiyo", "tolaria", "tezzeret", "oona",
                                                  "karn",   "kasmina", "simic",  "nissa",    "urabrask"};
  return kNames;
}

namespace {

constexpr std::int64_t kSec = 1000;

Schema Build() {
  Schema s;
  auto add = [&s](KeySpec k) {
    std::string section = k.path.substr(0, k.path.find('.'));
    if (k.path.find('.') != std::string::npos) {
      s.section_keys[section].push_back(k.path.substr(section.size() + 1));
    }
    s.by_path.emplace(k.path, static_cast<int>(s.keys.size()));
    s.keys.push_back(std::move(k));
  };
  auto make = [](std::string p, Type t, std::string def, std::string help) {
    KeySpec k;
    k.path = std::move(p);
    k.type = t;
    k.def = std::move(def);
    k.help = std::move(help);
    return k;
  };
  auto str = [&](std::string p, std::string def, std::string help) {
    add(make(std::move(p), Type::kString, std::move(def), std::move(help)));
  };
  auto en = [&](std::string p, std::string def, std::vector<std::string_view> choices, std::string help) {
    KeySpec k = make(std::move(p), Type::kEnum, std::move(def), std::move(help));
    k.choices = std::move(choices);
    add(std::move(k));
  };
  auto num = [&](std::string p, std::string def, std::int64_t lo, std::int64_t hi, std::string help) {
    KeySpec k = make(std::move(p), Type::kInt, std::move(def), std::move(help));
    k.min = lo;
    k.max = hi;
    add(std::move(k));
  };
  auto dur = [&](std::string p, std::string def, std::int64_t lo, std::int64_t hi, std::string help) {
    KeySpec k = make(std::move(p), Type::kDuration, std::move(def), std::move(help));
    k.min = lo;
    k.max = hi;
    add(std::move(k));
  };
  auto boolean = [&](std::string p, std::string def, std::string help) {
    add(make(std::move(p), Type::kBool, std::move(def), std::move(help)));
  };
  auto secret = [&](std::string p, std::string help) {
    add(make(std::move(p), Type::kSecret, "", std::move(help)));
  };
  auto url = [&](std::string p, std::string def, std::vector<std::string_view> schemes, std::string help) {
    KeySpec k = make(std::move(p), Type::kUrl, std::move(def), std::move(help));
    k.choices = std::move(schemes);
    add(std::move(k));
  };

  s.top.emplace_back("service", SectionKind::kTyped);
  {
    KeySpec k = make("service.name", Type::kString, "", "the service's name (required)");
    k.required = true;
    add(std::move(k));
  }
  en("service.environment", "development", {"development", "staging", "production"},
     "deployment environment; production turns on the production checks");
  str("service.version", "", "the service's version (free text)");

  s.top.emplace_back("logging", SectionKind::kTyped);
  en("logging.level", "info", {"trace", "debug", "info", "warn", "error", "critical", "off"},
     "lowest level logged");
  en("logging.format", "json", {"json", "logfmt", "text"}, "line format");
  str("logging.file", "", "log file; empty: stderr");
  en("logging.queue_policy", "block", {"block", "drop"}, "what a full queue does");
  num("logging.queue_bytes", "1048576", 4096, std::int64_t{1} << 30,
      "bytes of each producer thread's queue (rounded up to a power of two)");
  boolean("logging.async", "true", "false: format and write on the calling thread");

  s.top.emplace_back("http", SectionKind::kTyped);
  dur("http.connect_timeout", "10s", 1, 600 * kSec, "TCP+TLS connect timeout");
  dur("http.request_timeout", "30s", 1, 3600 * kSec, "limit of one attempt");
  dur("http.overall_timeout", "0s", 0, 24 * 3600 * kSec, "limit of a request across its retries; 0: none");
  num("http.max_connections", "100", 0, 100000, "connections in the pool, all hosts; 0: unlimited");
  num("http.max_attempts", "3", 1, 100, "attempts per request, the first included (1: no retries)");
  str("http.user_agent", "esper-http/0.1", "User-Agent header; empty: none");

  s.top.emplace_back("s3", SectionKind::kTyped);
  url("s3.endpoint_url", "", {"http", "https"}, "S3 endpoint; empty: AWS");
  str("s3.region", "us-east-1", "S3 region");
  str("s3.bucket", "", "default bucket");
  en("s3.addressing_style", "path", {"path", "virtual"}, "path-style or virtual-hosted URLs");
  num("s3.max_connections", "100", 1, 10000, "connections in the pool");
  num("s3.max_attempts", "3", 1, 100, "attempts per request, the first included (1: no retries)");
  dur("s3.connect_timeout", "5s", 1, 600 * kSec, "TCP+TLS connect timeout");
  dur("s3.request_timeout", "30s", 1, 3600 * kSec,
      "limit of one attempt of a request without object data (HEAD, LIST, DELETE, ...)");
  boolean("s3.verify_tls", "true", "verify the endpoint's certificate");
  str("s3.access_key_id", "", "access key id");
  secret("s3.secret_access_key", "secret access key");
  secret("s3.session_token", "session token (temporary credentials)");

  s.top.emplace_back("storage", SectionKind::kTyped);
  en("storage.backend", "s3", {"s3", "local"}, "object store behind the storage interface");
  str("storage.local_root", "", "root directory of the local store");

  s.top.emplace_back("database", SectionKind::kTyped);
  str("database.host", "localhost", "PostgreSQL host");
  num("database.port", "5432", 1, 65535, "PostgreSQL port");
  str("database.name", "esper", "database name");
  str("database.user", "esper", "user");
  secret("database.password", "password");
  num("database.pool_size", "10", 1, 1000, "connections in the pool");
  dur("database.connect_timeout", "5s", 1, 600 * kSec, "connect timeout");
  en("database.sslmode", "prefer", {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"},
     "libpq sslmode");

  s.top.emplace_back("redis", SectionKind::kTyped);
  {
    KeySpec k = make("redis.url", Type::kSecretUrl, "redis://localhost:6379/0",
                     "Redis URL (its password is redacted)");
    k.choices = {"redis", "rediss", "unix"};
    add(std::move(k));
  }
  num("redis.pool_size", "10", 1, 1000, "connections in the pool");

  s.top.emplace_back("services", SectionKind::kTyped);
  int port = 8000;
  for (const auto& name : ServiceNames()) {
    url("services." + name, "http://localhost:" + std::to_string(port++), {"http", "https"},
        "base URL of " + name);
  }

  s.top.emplace_back("performance", SectionKind::kTyped);
  num("performance.worker_threads", "0", 0, 1024, "worker threads; 0: one per core");
  num("performance.max_concurrency", "64", 1, 100000, "requests in flight per client");
  num("performance.cache_size_mb", "256", 0, 1 << 20, "in-memory cache size, MiB");

  s.top.emplace_back("tls", SectionKind::kTyped);
  boolean("tls.verify", "true", "verify peers' certificates");
  str("tls.ca_file", "", "extra CA bundle; empty: the system's");

  s.top.emplace_back("features", SectionKind::kFlags);

  s.top.emplace_back("debug", SectionKind::kScalar);
  boolean("debug", "false", "debug mode (warned about in production)");

  // Keys of earlier versions. Same meaning: read as the new key, with a warning. Another unit or
  // count: an error that says how to write the new key (a silent change of unit is the bug).
  s.renamed = {
      {"logging.queue_capacity", "logging.queue_bytes", false,
       "logging.queue_capacity counted records; logging.queue_bytes is the bytes of each producer "
       "thread's queue (a record takes 32 bytes and up)"},
      {"s3.max_retries", "s3.max_attempts", false,
       "s3.max_retries counted retries; s3.max_attempts counts attempts, the first included: "
       "max_attempts = max_retries + 1"},
      {"s3.pool_size", "s3.max_connections", true, ""},
      {"performance.request_timeout", "http.request_timeout", true, ""},
      {"performance.connect_timeout", "http.connect_timeout", true, ""},
      {"performance.http_pool_size", "http.max_connections", true, ""},
  };
  return s;
}

}  // namespace

const Schema& BuiltinSchema() {
  static const Schema kSchema = Build();
  return kSchema;
}

}  // namespace esper::config::detail
