// Private: the backend's side of ContextLogger's bound fields (ContextBlob, context_blob.h).
#pragma once

#include <mutex>
#include <string_view>
#include <vector>

#include "esper/log/detail/context_blob.h"
#include "esper/log/record.h"

namespace esper::log::detail {

/// Where ContextBlobs wait for the backend (see ContextBlob). Shared by the logger's core and
/// every blob, so a view that outlives its Logger still has somewhere to go.
struct ContextRetirement {
  std::mutex mu;
  std::vector<const ContextBlob*> pending;  // under mu
  bool immediate = false;                   // under mu: no record will be read again; free at once
  /// Moves the pending blobs to `out` (the backend, before a pass's cut-off); none when `mu`
  /// is held elsewhere at the moment.
  void Take(std::vector<const ContextBlob*>& out);
  /// From now on, blobs are freed when retired; frees the pending ones.
  void Close();
};
void FreeContextBlobs(std::vector<const ContextBlob*>& blobs) noexcept;

/// Appends the fields AppendContextField wrote into `blob` to `out` (views into `blob`).
void ParseContext(std::string_view blob, std::vector<Field>& out);

}  // namespace esper::log::detail
