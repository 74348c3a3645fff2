#include "testing/nginx.h"

#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "testing/net.h"
#include "testing/wait.h"

namespace esper::testing {
namespace fs = std::filesystem;

Nginx::Nginx() {
  char tmpl[] = "/tmp/esper_nginx_XXXXXX";
  if (!mkdtemp(tmpl)) return;
  dir_ = tmpl;
  std::error_code ec;
  fs::create_directories(dir_ + "/www", ec);
  fs::create_directories(dir_ + "/logs", ec);
  const auto readable = fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                        fs::perms::others_read | fs::perms::others_exec;
  for (const std::string& d : {dir_, dir_ + "/www"}) fs::permissions(d, readable, ec);
}

Nginx::~Nginx() {
  Stop();
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

std::string Nginx::FindBinary() {
  if (access("/usr/sbin/nginx", X_OK) == 0) return "/usr/sbin/nginx";
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "";
  for (size_t start = 0; start <= dirs.size();) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    const std::string candidate = dirs.substr(start, end - start) + "/nginx";
    if (end > start && access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

Status Nginx::Start(Options options) {
  if (process_.running()) return Error::FailedPrecondition("nginx: already started");
  if (dir_.empty()) return Error::FromErrno(errno, "nginx: mkdtemp");
  const std::string binary = options.binary.empty() ? FindBinary() : options.binary;
  if (binary.empty()) return Error::NotFound("nginx: not installed (apt-get install nginx-light)");
  std::string tls;
  if (options.self_signed_tls) {
    auto r = RunProcess({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                         "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
                         dir_ + "/key.pem", "-out", dir_ + "/cert.pem"});
    if (r.exit_code != 0) return Error::Unavailable(fmt::format("nginx: openssl req: {}", r.err.substr(0, 300)));
    tls = fmt::format("    ssl_certificate {0}/cert.pem;\n    ssl_certificate_key {0}/key.pem;\n", dir_);
  }
  listen_ = options.listen;
  // A port found free can be taken before nginx binds it (tests run in parallel): nginx then
  // exits, and the start is tried again on other ports.
  for (int attempt = 1;; ++attempt) {
    // Distinct ports (two listens on one port: nginx refuses the config).
    ports_ = FreePorts(listen_.size());
    if (ports_.size() != listen_.size()) return Error::Unavailable("nginx: no free port on 127.0.0.1");
    std::string listens;
    for (size_t i = 0; i < listen_.size(); ++i) {
      listens += fmt::format("    listen 127.0.0.1:{}{}{};\n", ports_[i], listen_[i].empty() ? "" : " ", listen_[i]);
    }
    const std::string conf = dir_ + "/nginx.conf";
    std::ofstream(conf) << fmt::format(R"(worker_processes 1;
daemon off;
pid {0}/nginx.pid;
error_log {0}/logs/error.log warn;
events {{ worker_connections {1}; }}
http {{
  access_log off;
  client_body_temp_path {0}/tmp_body;
  proxy_temp_path {0}/tmp_proxy;
  fastcgi_temp_path {0}/tmp_fcgi;
  uwsgi_temp_path {0}/tmp_uwsgi;
  scgi_temp_path {0}/tmp_scgi;
{2}
  server {{
{3}{4}    root {0}/www;
{5}
  }}
}}
)", dir_, options.worker_connections, options.http_directives, listens, tls, options.server_directives);
    std::error_code ec;
    for (const char* f : {"/nginx.pid", "/logs/output.log", "/logs/error.log"}) fs::remove(dir_ + f, ec);
    ESPER_RETURN_IF_ERROR(process_.Start({binary, "-p", dir_, "-e", dir_ + "/logs/error.log", "-c", conf},
                                         {.output_file = dir_ + "/logs/output.log"}));
    // nginx writes its pid file once every listening socket is bound: until then a connection
    // to one of the ports may reach whoever took it.
    const std::string pid_line = std::to_string(process_.pid());
    auto bound = [&] {
      std::ifstream in(dir_ + "/nginx.pid");
      std::string pid;
      return std::getline(in, pid) && pid == pid_line;
    };
    if (WaitUntil([&] { return bound() || !process_.running(); }) && process_.running()) {
      for (int port : ports_) {
        if (!WaitForPort(port)) {
          Stop();
          return Error::Unavailable(fmt::format("nginx is up but 127.0.0.1:{} accepts no connection", port));
        }
      }
      return OkStatus();
    }
    Stop();
    std::string text;
    for (const char* log : {"/logs/output.log", "/logs/error.log"}) {
      std::ifstream in(dir_ + log);
      text.append(std::istreambuf_iterator<char>(in), {});
    }
    if (attempt < 5 && text.find("Address already in use") != std::string::npos) continue;
    return Error::Unavailable(fmt::format("nginx did not start: {}", text.substr(0, 300)));
  }
}

void Nginx::Stop() { process_.Stop(); }

std::string Nginx::Url(std::string_view path, size_t i) const {
  const bool tls = i < listen_.size() && listen_[i].find("ssl") != std::string::npos;
  return fmt::format("{}://127.0.0.1:{}{}", tls ? "https" : "http", port(i), path);
}

}  // namespace esper::testing
