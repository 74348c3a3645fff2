// esper/log/detail/thread_queue.h — one producer thread's queue for one logger, and the
// thread-local cache through which the inlined call finds it (one compare).
// Internal to the inlined call (namespace esper::log::detail), not part of the public API.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "esper/log/detail/byte_ring.h"

namespace esper::log::detail {

/// The smallest ThreadQueue::max_record: half the smallest queue (Options::queue_bytes >= 4096).
inline constexpr size_t kMinMaxRecord = 2048;

/// One producer thread's queue for one logger.
struct ThreadQueue {
  ByteRing* ring = nullptr;                   // producer's current ring
  size_t max_string = 0;
  size_t max_record = 0;                      // largest record the queue accepts (bytes):
                                              // kMinMaxRecord..kMaxRecordBytes
  bool sync = false;                          // synchronous logger: the caller processes
  bool causal_ticks = false;                  // Options::causal_timestamps
  uint32_t tid = 0;                           // the producer's gettid(): Record::thread_id
  std::atomic<uint64_t> enqueued{0};          // written by the producer only
  std::atomic<uint64_t> dropped{0};
  std::atomic<uint64_t> truncated{0};
  std::atomic<bool> producer_gone{false};
  std::atomic<bool> logger_gone{false};
  ByteRing* cons_ring = nullptr;              // consumer's current ring
  ~ThreadQueue();
};

struct TlsCache {
  uint64_t logger_id;  // a synchronous logger's id with kSyncTag: its calls all take the slow path
  ThreadQueue* queue;
};
inline constexpr uint64_t kSyncTag = uint64_t{1} << 63;  // logger ids count from 1
// initial-exec: a direct %fs-relative access instead of a __tls_get_addr call in code built with
// -fPIC (as this project's is). Valid for executables and for shared libraries loaded at start;
// a library dlopen()ed later takes these 16 bytes from glibc's static TLS reserve.
[[gnu::tls_model("initial-exec")]] inline thread_local constinit TlsCache tls_cache{0, nullptr};

}  // namespace esper::log::detail
