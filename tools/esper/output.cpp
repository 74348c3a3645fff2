#include "output.h"

#include <atomic>
#include <cerrno>
#include <cstdio>

namespace esper::cli {
namespace {

// The errno of the first failed write to stdout [0] and stderr [1]; 0 while none failed.
std::atomic<int> g_failed[2] = {0, 0};

void Fail(int stream, int err) {
  int none = 0;
  g_failed[stream].compare_exchange_strong(none, err != 0 ? err : EIO);
}

bool WriteTo(std::FILE* f, int stream, std::string_view bytes) {
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) Fail(stream, errno);
  return g_failed[stream].load() == 0;
}

}  // namespace

bool Write(std::string_view bytes) { return WriteTo(stdout, 0, bytes); }
bool WriteErr(std::string_view bytes) { return WriteTo(stderr, 1, bytes); }

void Flush() {
  std::FILE* streams[2] = {stdout, stderr};
  for (int i = 0; i < 2; ++i) {
    errno = 0;
    // ferror also catches a write made around these functions (then the reason is lost: EIO).
    if (std::fflush(streams[i]) != 0 || std::ferror(streams[i])) Fail(i, errno);
  }
}

Status FlushOutput() {
  Flush();
  for (int i = 0; i < 2; ++i) {
    if (int e = g_failed[i].load(); e != 0) return Error::FromErrno(e, i == 0 ? "write to stdout" : "write to stderr");
  }
  return OkStatus();
}

std::string TerminalSafe(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\n' && c != '\t') || u == 0x7f) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace esper::cli
