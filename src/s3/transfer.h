// Private: what the requests of an Upload / Download share (store_upload.cpp,
// store_download.cpp; a single PUT or GET in store_objects.cpp) — its own cancellation, which
// the caller's TransferOptions::cancel and the store's destruction both trigger, and its
// progress reports.
//
// Threads: constructed on the caller's thread; Stop() from any thread; the rest on the loop.
#pragma once

#include <functional>
#include <optional>
#include <stop_token>

#include "s3/s3_store_impl.h"

namespace esper::s3::detail {

class Transfer {
 public:
  /// Linked to the store's stop and to `options->cancel` (when given).
  Transfer(S3Store::Impl& s, const TransferOptions* options);
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;

  /// The token every request of the transfer carries.
  std::stop_token token() const noexcept { return stop_.get_token(); }
  bool stopped() const noexcept { return stop_.stop_requested(); }
  /// Cancels the transfer's requests (a sibling failed, or the caller asked).
  void Stop() noexcept { stop_.request_stop(); }
  /// Why a stopped transfer stopped: Cancelled, naming the caller or the store's shutdown.
  Error StopError(const OpContext& ctx) const;
  /// `e`, unless the transfer was stopped and `e` is the Cancelled of one of its requests: then
  /// StopError (which says why).
  Error Explain(Error e, const OpContext& ctx) const {
    if (stopped() && e.code() == ErrorCode::kCancelled) return StopError(ctx);
    return e;
  }
  void Progress(uint64_t done, uint64_t total) const {
    if (progress_) progress_(done, total);
  }

 private:
  std::stop_source stop_;
  std::function<void(uint64_t, uint64_t)> progress_;
  std::stop_token caller_;
  std::optional<std::stop_callback<std::function<void()>>> on_store_stop_;
  std::optional<std::stop_callback<std::function<void()>>> on_caller_stop_;
};

}  // namespace esper::s3::detail
