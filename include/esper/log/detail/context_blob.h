// esper/log/detail/context_blob.h — the encoded fields of a ContextLogger (logger->With(k, v)):
// one immutable buffer shared by the view's copies, which each record logged through the view
// points to, freed by the logger's backend once no queued record can point to it.
// Internal (namespace esper::log::detail), not part of the public API.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "esper/log/record.h"

namespace esper::log::detail {

inline constexpr size_t kMaxContextBytes = 1024;  // encoded fields of one ContextLogger

/// Appends one context field to a ContextLogger's encoding: u32 key length, key, u8 FieldKind,
/// u32 value length, value. Keeps the whole under kMaxContextBytes (values cut to fit; a field
/// whose key does not fit is left out).
void AppendContextField(std::string& blob, std::string_view key, std::string_view value, FieldKind kind);

struct ContextRetirement;  // a logger's list of blobs waiting for the backend (src/log/context.cpp)
/// A ContextLogger's encoded fields, immutable once made and shared by its copies. A record
/// carries a pointer to it, not the bytes; when the last copy dies the blob goes to its logger's
/// backend, which frees it once every record that can point to it is written (or at once when no
/// backend will read any: a synchronous or stopped logger).
struct ContextBlob {
  std::string bytes;
  std::shared_ptr<ContextRetirement> home;
};
/// The deleter of a ContextLogger's blob (see ContextBlob).
struct RetireContext {
  void operator()(const ContextBlob* blob) const noexcept;
};
/// ContextBlobs alive in the process (for tests: the backend frees them).
size_t LiveContextBlobs() noexcept;

}  // namespace esper::log::detail
