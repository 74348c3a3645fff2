#include <fmt/format.h>

#include <algorithm>

#include "esper/core/ascii.h"
#include "esper/http/request.h"
#include "esper/http/response.h"

namespace esper::http {
namespace {

bool IsLowerHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

std::string_view MethodName(Method m) noexcept {
  switch (m) {
    case Method::kGet: return "GET";
    case Method::kHead: return "HEAD";
    case Method::kPost: return "POST";
    case Method::kPut: return "PUT";
    case Method::kPatch: return "PATCH";
    case Method::kDelete: return "DELETE";
    case Method::kOptions: return "OPTIONS";
  }
  return "GET";
}

Result<Method> ParseMethod(std::string_view name) {
  for (Method m : {Method::kGet, Method::kHead, Method::kPost, Method::kPut, Method::kPatch,
                   Method::kDelete, Method::kOptions}) {
    if (EqualsIgnoreCase(name, MethodName(m))) return m;
  }
  return Error::InvalidArgument(fmt::format(
      "unknown HTTP method '{}' (GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS)", name));
}

bool IsIdempotent(Method m) noexcept {
  switch (m) {
    case Method::kGet:
    case Method::kHead:
    case Method::kPut:
    case Method::kDelete:
    case Method::kOptions:
      return true;
    case Method::kPost:
    case Method::kPatch:
      return false;
  }
  return false;
}

std::optional<std::string_view> FindHeader(const Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) return std::string_view(v);
  }
  return std::nullopt;
}

void SetHeader(Headers& headers, std::string_view name, std::string value) {
  auto it = std::find_if(headers.begin(), headers.end(), [&](const auto& h) { return EqualsIgnoreCase(h.first, name); });
  if (it == headers.end()) {
    headers.emplace_back(std::string(name), std::move(value));
    return;
  }
  it->second = std::move(value);
  headers.erase(std::remove_if(std::next(it), headers.end(), [&](const auto& h) { return EqualsIgnoreCase(h.first, name); }),
                headers.end());
}

Body Body::FromString(std::string data) {
  Body b;
  b.kind_ = Kind::kMemory;
  b.data_ = std::make_shared<const std::string>(std::move(data));
  return b;
}

Body Body::FromShared(std::shared_ptr<const std::string> data) {
  Body b;
  b.kind_ = Kind::kMemory;
  b.data_ = data ? std::move(data) : std::make_shared<const std::string>();
  return b;
}

Body Body::FromFile(std::string path) {
  Body b;
  b.kind_ = Kind::kFile;
  b.path_ = std::move(path);
  return b;
}

Body Body::FromStream(ReadFn read, std::optional<uint64_t> size, RewindFn rewind) {
  Body b;
  b.kind_ = Kind::kStream;
  b.read_ = std::move(read);
  b.size_ = size;
  b.rewind_ = std::move(rewind);
  return b;
}

Sink Sink::ToFile(std::string path) {
  Sink s;
  s.kind_ = Kind::kFile;
  s.path_ = std::move(path);
  return s;
}

Sink Sink::ToStream(WriteFn write, RewindFn rewind) {
  Sink s;
  s.kind_ = Kind::kStream;
  s.write_ = std::move(write);
  s.rewind_ = std::move(rewind);
  return s;
}

bool IsValidTraceparent(std::string_view tp) noexcept {
  // 00-<32 hex>-<16 hex>-<2 hex>, 55 characters.
  if (tp.size() != 55 || tp[2] != '-' || tp[35] != '-' || tp[52] != '-') return false;
  std::string_view version = tp.substr(0, 2), trace = tp.substr(3, 32), span = tp.substr(36, 16),
                   flags = tp.substr(53, 2);
  if (version != "00" || !IsLowerHex(trace) || !IsLowerHex(span) || !IsLowerHex(flags)) return false;
  if (trace.find_first_not_of('0') == std::string_view::npos) return false;
  if (span.find_first_not_of('0') == std::string_view::npos) return false;
  return true;
}

Status Response::ToStatus() const {
  if (status >= 200 && status < 400) return OkStatus();
  std::string snippet = body.substr(0, 200);
  for (char& c : snippet) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  std::string msg = fmt::format("HTTP {} from {}", status, url);
  if (!snippet.empty()) msg += fmt::format(": {}", snippet);
  return Error::FromHttpStatus(status, std::move(msg));
}

}  // namespace esper::http
