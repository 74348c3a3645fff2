// The backend thread's loop: each pass merges the per-thread queues in timestamp order up to a
// cut-off, decodes and formats each record for every sink, and writes the sinks' batches; between
// passes it sleeps until woken or its idle sleep ends. Also the synchronous mode's processing on
// the caller, which shares the decoding.
#include <poll.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <mutex>

#include "log/context.h"
#include "log/core.h"

namespace esper::log::detail {

void LoggerCore::SleepUntilWoken(std::chrono::microseconds limit) {
  pollfd pfd{wake_fd_, POLLIN, 0};
  const auto us = limit.count();
  timespec ts{static_cast<time_t>(us / 1'000'000), static_cast<long>(us % 1'000'000) * 1000};
  if (::ppoll(&pfd, 1, &ts, nullptr) > 0) {
    uint64_t v;
    ssize_t r = ::read(wake_fd_, &v, sizeof v);
    (void)r;
  }
}

void LoggerCore::RefreshQueues() {
  uint64_t v = qversion_.load(std::memory_order_acquire);
  if (v == local_version_) return;
  std::lock_guard lk(qmu_);
  local_ = queues_;
  local_version_ = qversion_.load(std::memory_order_relaxed);
}

const char* LoggerCore::PeekQueue(ThreadQueue* q) {
  for (;;) {
    const char* p = q->cons_ring->Peek();
    if (p) return p;
    ByteRing* next = q->cons_ring->next.load(std::memory_order_acquire);
    if (!next) return nullptr;
    p = q->cons_ring->Peek();  // the producer finished with this ring before publishing next
    if (p) return p;
    delete q->cons_ring;
    q->cons_ring = next;
  }
}

size_t LoggerCore::Drain(uint64_t cutoff) {
  heads_.clear();
  for (auto& q : local_) {
    if (const char* p = PeekQueue(q.get())) {
      uint64_t t;
      std::memcpy(&t, p + offsetof(RecordHeader, ticks), sizeof t);
      heads_.push_back({q.get(), p, t});
    }
  }
  size_t n = 0;
  while (!heads_.empty()) {
    size_t best = 0;
    for (size_t i = 1; i < heads_.size(); ++i)
      if (heads_[i].ticks < heads_[best].ticks) best = i;
    Head& h = heads_[best];
    if (h.ticks > cutoff) break;
    // Process this queue's run while it stays the oldest (cheap path for one busy producer).
    uint64_t limit = ~uint64_t{0};
    for (size_t i = 0; i < heads_.size(); ++i)
      if (i != best && heads_[i].ticks < limit) limit = heads_[i].ticks;
    limit = std::min(limit, cutoff);
    for (;;) {
      const size_t size = RecordBytes(h.p);
      Process(h.p, h.q->tid);
      h.q->cons_ring->Pop(size);  // free the space before a sink write can block
      ++n;
      for (auto& s : sinks_)
        if (s.buf.size() >= opt_.batch_bytes) WriteSink(s);
      h.p = PeekQueue(h.q);
      if (!h.p) break;
      std::memcpy(&h.ticks, h.p + offsetof(RecordHeader, ticks), sizeof h.ticks);
      if (h.ticks > limit) break;
    }
    if (!h.p) {
      heads_[best] = heads_.back();
      heads_.pop_back();
    }
  }
  return n;
}

bool FormatPlain(fmt::memory_buffer& out, const char* format, const ArgWriter* writers, size_t n,
                 const void* tuple) {
  size_t next = 0;
  const char* p = format;
  for (;;) {
    const char* q = p + std::strcspn(p, "{}");
    AppendRaw(std::string_view(p, static_cast<size_t>(q - p)), out);
    if (*q == '\0') return true;
    if (q[0] == q[1]) {  // "{{" or "}}"
      out.push_back(q[0]);
    } else if (q[0] == '{' && q[1] == '}' && next < n) {
      writers[next++](out, tuple);
    } else {
      return false;
    }
    p = q + 2;
  }
}

const LoggerCore::NamedPlan& LoggerCore::PlanFor(const Site* site) {
  auto it = named_plans_.find(site);
  if (it != named_plans_.end()) return it->second;
  NamedPlan plan;
  // Checked at compile time, so it parses.
  ForEachNamed(
      site->format, [&](std::string_view text) { plan.positional.append(text); },
      [&](std::string_view name, std::string_view spec) {
        plan.names.push_back(name);
        plan.positional.append("{").append(spec).append("}");
      });
  return named_plans_.emplace(site, std::move(plan)).first->second;
}

void LoggerCore::Process(const char* p, uint32_t tid) {
  const RecordInfo h = ReadRecordHeader(p);
  ds_.Clear();
  const char* format = h.site->format;
  ds_.names = nullptr;
  ds_.site_keys = (h.flags & kRecordKeysInSite) ? h.site->keys : nullptr;
  if (h.site->named) {
    const NamedPlan& plan = PlanFor(h.site);
    format = plan.positional.c_str();
    ds_.names = plan.names.data();
  }
  const char* args = p + sizeof(RecordHeader);
  std::string_view ctx;
  if (h.flags & kRecordHasContext) {
    const ContextBlob* blob;
    std::memcpy(&blob, args, sizeof blob);
    args += sizeof blob;
    if (blob) ctx = blob->bytes;
  }
  try {
    h.site->decode(args, format, ds_);
  } catch (const std::exception& e) {
    ds_.message.clear();
    fmt::format_to(fmt::appender(ds_.message), "<format error: {}> {}", e.what(), h.site->format);
    ReportError(Error::Internal(fmt::format("formatting a record from {}:{}: {}", h.site->file, h.site->line, e.what())));
  }
  fields_.assign(context_.begin(), context_.end());
  if (!ctx.empty()) ParseContext(ctx, fields_);
  for (auto& f : ds_.pending) {
    std::string_view v = f.in_scratch ? std::string_view(ds_.scratch.data() + f.off, f.len) : f.direct;
    fields_.push_back(Field{f.key, v, f.kind});
  }
  Record rec;
  rec.time_ns = clock_.ToUnixNs(h.ticks);
  rec.level = h.level;
  rec.logger = opt_.name;
  rec.message = std::string_view(ds_.message.data(), ds_.message.size());
  rec.file = h.site->file;
  rec.line = h.site->line;
  rec.thread_id = tid;
  rec.fields = fields_;
  for (auto& s : sinks_) {
    if (h.level < s.level) continue;
    s.formatter->Format(rec, s.buf);
    s.last_ns = rec.time_ns;
  }
  processed_.store(processed_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

void LoggerCore::WriteSink(SinkState& s) {
  if (s.buf.size() == 0) return;
  auto tp = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(s.last_ns)));
  Status st = s.sink->Write(std::string_view(s.buf.data(), s.buf.size()), tp);
  s.buf.clear();
  if (!st) ReportError(std::move(st.error()).Wrap("log sink write"));
}

void LoggerCore::WriteAllSinks() {
  for (auto& s : sinks_) WriteSink(s);
}

void LoggerCore::FlushSinks() {
  for (auto& s : sinks_) {
    Status st = s.sink->Flush();
    if (!st) ReportError(std::move(st.error()).Wrap("log sink flush"));
  }
}

void LoggerCore::ReportError(Error e) {
  errors_.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard lk(err_mu_);
    last_error_ = e;
    ++error_seq_;
  }
  if (opt_.on_error) {
    opt_.on_error(e);
  } else {
    auto line = fmt::format("esper log '{}': backend error: {}\n", opt_.name, e.ToString());
    ssize_t w = ::write(2, line.data(), line.size());
    (void)w;
  }
}

void LoggerCore::SampleDepth() {
  uint64_t bytes = 0, cap = 0;
  for (auto& q : local_) {
    for (ByteRing* r = q->cons_ring; r; r = r->next.load(std::memory_order_acquire)) {
      bytes += r->Depth();
      cap += r->capacity();
    }
  }
  depth_bytes_.store(bytes, std::memory_order_relaxed);
  capacity_bytes_.store(cap, std::memory_order_relaxed);
  producers_.store(static_cast<uint32_t>(local_.size()), std::memory_order_relaxed);
  if (bytes > high_water_.load(std::memory_order_relaxed)) high_water_.store(bytes, std::memory_order_relaxed);
}

void LoggerCore::RetireGoneQueues() {
  bool any = false;
  for (auto& q : local_) {
    if (q->producer_gone.load(std::memory_order_acquire) && !PeekQueue(q.get())) any = true;
  }
  if (!any) return;
  std::lock_guard lk(qmu_);
  auto gone = [&](const std::shared_ptr<ThreadQueue>& q) {
    if (!q->producer_gone.load(std::memory_order_acquire) || PeekQueue(q.get())) return false;
    retired_enqueued_.fetch_add(q->enqueued.load(std::memory_order_relaxed), std::memory_order_relaxed);
    retired_dropped_.fetch_add(q->dropped.load(std::memory_order_relaxed), std::memory_order_relaxed);
    retired_truncated_.fetch_add(q->truncated.load(std::memory_order_relaxed), std::memory_order_relaxed);
    return true;
  };
  queues_.erase(std::remove_if(queues_.begin(), queues_.end(), gone), queues_.end());
  local_ = queues_;
  local_version_ = qversion_.fetch_add(1, std::memory_order_acq_rel) + 1;
}

void LoggerCore::Run() {
  for (;;) {
    if (fork_park_.load(std::memory_order_acquire) == 1) [[unlikely]] {
      ParkForFork();  // between two passes: nothing half done, no lock held
      continue;
    }
    bool stopping = stop_.load(std::memory_order_acquire);
    int crash = crash_state_.load(std::memory_order_acquire);
    uint64_t flush_target;
    {
      std::lock_guard lk(mu_);
      flush_target = flush_req_;
    }
    bool drain_all = stopping || crash == 1 || flush_target != flush_done_;
    // Context blobs retired before the cut-off: every record that can point to one was published
    // before it was retired, so with a timestamp below the cut-off — written by this pass.
    contexts_->Take(freeable_);
    uint64_t cutoff = drain_all ? ~uint64_t{0} : TicksFenced();
    RefreshQueues();
    SampleDepth();
    auto t0 = std::chrono::steady_clock::now();
    size_t n = Drain(cutoff);
    FreeContextBlobs(freeable_);
    if (n > 0 || drain_all) WriteAllSinks();
    auto now = std::chrono::steady_clock::now();
    if (n > 0)  // backend time per record: timed per pass (decode + format + write), not per record
      backend_ns_.fetch_add(static_cast<uint64_t>((now - t0).count()), std::memory_order_relaxed);
    if (now - last_resync_ > std::chrono::seconds(1)) {
      clock_.Resync();
      last_resync_ = now;
      RetireGoneQueues();
    }
    if (crash == 1) {
      FlushSinks();
      crash_state_.store(2, std::memory_order_release);
    }
    if (flush_target != flush_done_) {
      FlushSinks();
      {
        std::lock_guard lk(mu_);
        flush_done_ = flush_target;
      }
      done_cv_.notify_all();
    }
    if (stopping) {
      // One more full pass found nothing: everything logged before Stop() is written.
      RefreshQueues();
      if (Drain(~uint64_t{0}) == 0) {
        FlushSinks();
        break;
      }
      WriteAllSinks();
      continue;
    }
    if (n > 0) {
      idle_now_ = opt_.idle_sleep;
    } else if (opt_.busy_spin) {
      sched_yield();
    } else {
      // Longer than idle_sleep: a producer passing half its queue wakes us (NudgeIfSleepingLong).
      // The flag's line is written only around long sleeps, not at every wake of a busy logger.
      const bool long_sleep = idle_now_ > opt_.idle_sleep;
      if (long_sleep) sleeping_long_.store(true, std::memory_order_relaxed);
      SleepUntilWoken(idle_now_);
      if (long_sleep) sleeping_long_.store(false, std::memory_order_relaxed);
      idle_now_ = std::min(idle_now_ * 2, std::max(opt_.idle_sleep, opt_.idle_sleep_max));
    }
  }
  contexts_->Close();  // no record will be read any more
  FreeContextBlobs(freeable_);
  {
    std::lock_guard lk(mu_);
    running_.store(false, std::memory_order_release);
    flush_done_ = flush_req_;
  }
  done_cv_.notify_all();
}

void LoggerCore::ProcessSync(ThreadQueue* q) {
  std::lock_guard lk(sync_mu_);
  while (const char* p = PeekQueue(q)) {
    const size_t size = RecordBytes(p);
    Process(p, q->tid);
    q->cons_ring->Pop(size);
  }
  WriteAllSinks();
}

}  // namespace esper::log::detail
