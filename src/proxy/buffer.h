// Private: the fault proxy's byte buffers (a connection has four: client in/out, upstream in/out).
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace esper::proxy::detail {

/// A FIFO byte buffer with cheap consumption from the front.
class Buffer {
 public:
  /// Consumed bytes are dropped from the front once there are this many and they are at least half.
  static constexpr size_t kCompactAfter = 64 * 1024;

  size_t size() const noexcept { return data_.size() - pos_; }
  bool empty() const noexcept { return size() == 0; }
  std::string_view view() const noexcept { return {data_.data() + pos_, size()}; }
  void append(std::string_view s) { data_.append(s); }
  void consume(size_t n) {
    pos_ += std::min(n, size());
    if (pos_ == data_.size()) {
      data_.clear();
      pos_ = 0;
    } else if (pos_ >= kCompactAfter && pos_ * 2 >= data_.size()) {
      data_.erase(0, pos_);
      pos_ = 0;
    }
  }
  /// Flips every bit of the byte at `i` (from the front); i < size().
  void FlipByte(size_t i) noexcept { data_[pos_ + i] = static_cast<char>(~data_[pos_ + i]); }
  void clear() noexcept {
    data_.clear();
    pos_ = 0;
  }
  /// Moves the first n bytes of src to the end of this buffer; O(1) when this buffer is empty and
  /// src is taken whole (the common case when forwarding a body).
  void MoveFrom(Buffer& src, size_t n) {
    if (empty() && n == src.size()) {
      data_.swap(src.data_);
      std::swap(pos_, src.pos_);
      src.clear();
      return;
    }
    append(src.view().substr(0, n));
    src.consume(n);
  }

 private:
  std::string data_;
  size_t pos_ = 0;
};

}  // namespace esper::proxy::detail
