// ContextLogger's bound fields: their encoding, the shared buffer (ContextBlob) and its
// retirement through the logger's backend.
#include "log/context.h"

#include <cstring>
#include <mutex>

#include "esper/log/logger.h"
#include "log/core.h"

namespace esper::log::detail {

void AppendContextField(std::string& blob, std::string_view key, std::string_view value, FieldKind kind) {
  const size_t fixed = 2 * sizeof(uint32_t) + 1 + key.size();
  if (blob.size() + fixed > kMaxContextBytes) return;  // no room even for the key
  value = value.substr(0, kMaxContextBytes - blob.size() - fixed);
  auto put32 = [&](size_t v) {
    const auto v32 = static_cast<uint32_t>(v);
    blob.append(reinterpret_cast<const char*>(&v32), sizeof v32);
  };
  put32(key.size());
  blob.append(key);
  blob.push_back(static_cast<char>(kind));
  put32(value.size());
  blob.append(value);
}

namespace {
std::atomic<size_t> g_live_context_blobs{0};
void DeleteContextBlob(const ContextBlob* blob) noexcept {
  delete blob;
  g_live_context_blobs.fetch_sub(1, std::memory_order_relaxed);
}
}  // namespace

size_t LiveContextBlobs() noexcept { return g_live_context_blobs.load(std::memory_order_relaxed); }

void FreeContextBlobs(std::vector<const ContextBlob*>& blobs) noexcept {
  for (const ContextBlob* b : blobs) DeleteContextBlob(b);
  blobs.clear();
}

void RetireContext::operator()(const ContextBlob* blob) const noexcept {
  const std::shared_ptr<ContextRetirement> home = blob->home;  // outlives the blob's own reference
  {
    std::lock_guard lk(home->mu);
    if (!home->immediate) {
      try {
        home->pending.push_back(blob);
      } catch (...) {
        // Out of memory: a record may still point to it, so it is kept (leaked), not freed.
      }
      return;
    }
  }
  DeleteContextBlob(blob);
}

void ContextRetirement::Take(std::vector<const ContextBlob*>& out) {
  // Never waits: a producer that crashed inside RetireContext must not stop the crash drain
  // (what it holds stays pending, for a later pass).
  std::unique_lock lk(mu, std::try_to_lock);
  if (!lk.owns_lock() || pending.empty()) return;
  out.insert(out.end(), pending.begin(), pending.end());
  pending.clear();
}

void ContextRetirement::Close() {
  std::vector<const ContextBlob*> now;
  {
    std::lock_guard lk(mu);
    immediate = true;
    now.swap(pending);
  }
  FreeContextBlobs(now);  // outside the lock: a blob's end may release the last reference to this
}

void ParseContext(std::string_view blob, std::vector<Field>& out) {
  auto get32 = [&](uint32_t& v) {
    if (blob.size() < sizeof v) return false;
    std::memcpy(&v, blob.data(), sizeof v);
    blob.remove_prefix(sizeof v);
    return true;
  };
  uint32_t klen, vlen;
  while (get32(klen) && blob.size() >= klen + 1) {
    std::string_view key = blob.substr(0, klen);
    auto kind = static_cast<FieldKind>(blob[klen]);
    blob.remove_prefix(klen + 1);
    if (!get32(vlen) || blob.size() < vlen) break;
    out.push_back(Field{key, blob.substr(0, vlen), kind});
    blob.remove_prefix(vlen);
  }
}

}  // namespace esper::log::detail

namespace esper::log {

std::shared_ptr<const detail::ContextBlob> Logger::NewContext(std::string bytes) const {
  auto* blob = new detail::ContextBlob{std::move(bytes), core_->contexts()};
  detail::g_live_context_blobs.fetch_add(1, std::memory_order_relaxed);
  return std::shared_ptr<const detail::ContextBlob>(blob, detail::RetireContext{});
}

}  // namespace esper::log
