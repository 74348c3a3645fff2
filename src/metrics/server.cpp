// The /metrics endpoint on civetweb (server.h).
#include <arpa/inet.h>
#include <civetweb.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fmt/format.h>

#include <atomic>
#include <charconv>
#include <cstring>
#include <mutex>
#include <thread>

#include "esper/metrics/exposition.h"
#include "esper/metrics/server.h"

namespace esper::metrics {
namespace {

// "HOST:PORT" with HOST an IPv4 address and PORT 0..65535.
Status ParseListen(const std::string& listen, std::string& host, int& port) {
  const auto colon = listen.rfind(':');
  auto bad = [&] {
    return Error::InvalidArgument(fmt::format("metrics listen address '{}': expected HOST:PORT, "
                                              "HOST an IPv4 address (127.0.0.1, 0.0.0.0)", listen));
  };
  if (colon == std::string::npos) return bad();
  host = listen.substr(0, colon);
  in_addr addr{};
  if (inet_pton(AF_INET, host.c_str(), &addr) != 1) return bad();
  const std::string p = listen.substr(colon + 1);
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
  if (p.empty() || ec != std::errc() || end != p.data() + p.size() || port < 0 || port > 65535) return bad();
  return OkStatus();
}

// Connects to 127.0.0.1:port and hangs up: wakes civetweb's listener out of its poll().
void Poke(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  (void)connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  close(fd);
}

}  // namespace

struct MetricsServer::Impl {
  Registry* registry = nullptr;
  std::string host;
  mg_context* ctx = nullptr;
  std::atomic<uint64_t> scrapes{0};

  static int Handle(mg_connection* conn, void* self_ptr) {
    auto* self = static_cast<Impl*>(self_ptr);
    const mg_request_info* ri = mg_get_request_info(conn);
    const bool head = std::strcmp(ri->request_method, "HEAD") == 0;
    if (!head && std::strcmp(ri->request_method, "GET") != 0) {
      mg_send_http_error(conn, 405, "%s", "only GET and HEAD\n");
      return 405;
    }
    const std::string body = prometheus_text(*self->registry);
    self->scrapes.fetch_add(1, std::memory_order_relaxed);
    const std::string type(kPrometheusContentType);
    mg_send_http_ok(conn, type.c_str(), static_cast<long long>(body.size()));
    if (!head) mg_write(conn, body.data(), body.size());
    return 200;
  }
};

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

// mg_stop joins civetweb's threads; its listener notices the stop flag only when its poll()
// returns, every 2 s (civetweb's SOCKET_TIMEOUT_QUANTUM) or at a connection: so while mg_stop
// waits, a connection of our own wakes it (about 10 ms instead of up to 2 s). Keep-alive is off,
// so no worker sits in a read of an idle connection.
MetricsServer::~MetricsServer() {
  if (!impl_ || !impl_->ctx) return;
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    mg_stop(impl_->ctx);
    stopped.store(true);
  });
  while (!stopped.load()) {
    Poke(port_);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  stopper.join();
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(Options options) {
  std::string host;
  int port = 0;
  ESPER_RETURN_IF_ERROR(ParseListen(options.listen, host, port));
  if (options.threads < 1 || options.threads > 64) {
    return Error::InvalidArgument(fmt::format("metrics server threads {}: expected 1..64", options.threads));
  }
  static std::once_flag init;
  std::call_once(init, [] { mg_init_library(0); });

  auto impl = std::make_unique<Impl>();
  impl->registry = options.registry ? options.registry : &DefaultRegistry();
  impl->host = host;
  const std::string ports = fmt::format("{}:{}", host, port);
  const std::string threads = std::to_string(options.threads);
  const char* config[] = {"listening_ports", ports.c_str(), "num_threads", threads.c_str(),
                          "request_timeout_ms", "10000", "enable_keep_alive", "no", nullptr};
  mg_callbacks callbacks{};
  callbacks.log_message = [](const mg_connection*, const char*) { return 1; };  // errors come back below
  mg_init_data init_data{&callbacks, impl.get(), config};
  char text[256] = {};
  unsigned code = 0;
  mg_error_data error{&code, text, sizeof text};
  impl->ctx = mg_start2(&init_data, &error);
  if (!impl->ctx) {
    return Error::Unavailable(fmt::format("metrics server on {}: {}", options.listen,
                                          text[0] ? text : "civetweb could not start"));
  }
  mg_set_request_handler(impl->ctx, "/metrics$", &Impl::Handle, impl.get());
  mg_server_port bound[4] = {};
  const int n = mg_get_server_ports(impl->ctx, 4, bound);
  std::unique_ptr<MetricsServer> server(new MetricsServer(std::move(impl)));
  server->port_ = n > 0 ? bound[0].port : port;
  return server;
}

std::string MetricsServer::address() const { return fmt::format("{}:{}", impl_->host, port_); }

uint64_t MetricsServer::scrapes() const noexcept { return impl_->scrapes.load(std::memory_order_relaxed); }

Result<std::unique_ptr<MetricsServer>> ServeMetrics(const std::string& listen, Registry* registry) {
  return MetricsServer::Start({.listen = listen, .registry = registry});
}

}  // namespace esper::metrics
