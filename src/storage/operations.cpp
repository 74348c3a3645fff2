// The operation values of operations.h: bodies, ranges, targets.
#include "esper/storage/operations.h"

#include <fmt/format.h>

#include <limits>

#include "esper/storage/errors.h"

namespace esper::storage {

PutBody::PutBody() : data_(std::make_shared<const std::string>()) {}

PutBody PutBody::FromString(std::string data) {
  return FromShared(std::make_shared<const std::string>(std::move(data)));
}

PutBody PutBody::FromShared(std::shared_ptr<const std::string> data) {
  PutBody b;
  b.kind_ = Kind::kMemory;
  b.data_ = data ? std::move(data) : std::make_shared<const std::string>();
  return b;
}

PutBody PutBody::FromFile(std::string path) {
  PutBody b;
  b.kind_ = Kind::kFile;
  b.data_ = nullptr;
  b.path_ = std::move(path);
  return b;
}

PutBody PutBody::FromStream(ReadFn read, std::optional<uint64_t> size, RewindFn rewind) {
  PutBody b;
  b.kind_ = Kind::kStream;
  b.data_ = nullptr;
  b.read_ = std::move(read);
  b.rewind_ = std::move(rewind);
  b.size_ = size;
  return b;
}

std::optional<uint64_t> PutBody::known_size() const noexcept {
  if (kind_ == Kind::kMemory) return data_->size();
  if (kind_ == Kind::kStream) return size_;
  return std::nullopt;
}

ByteRange ByteRange::Span(uint64_t offset, uint64_t length) { return {Kind::kSpan, offset, length}; }
ByteRange ByteRange::From(uint64_t offset) { return {Kind::kFrom, offset, 0}; }
ByteRange ByteRange::Last(uint64_t n) { return {Kind::kLast, 0, n}; }

Status ByteRange::Validate() const {
  switch (kind_) {
    case Kind::kSpan:
      if (length_ == 0) return Error::InvalidArgument("a byte range must not be empty");
      if (offset_ > std::numeric_limits<uint64_t>::max() - (length_ - 1)) {
        return Error::InvalidArgument("a byte range must end before 2^64");
      }
      return OkStatus();
    case Kind::kLast:
      if (length_ == 0) return Error::InvalidArgument("a suffix range must ask for 1 byte or more");
      return OkStatus();
    case Kind::kFrom:
      return OkStatus();
  }
  return OkStatus();
}

std::string ByteRange::ToHttpHeader() const {
  switch (kind_) {
    case Kind::kSpan:
      return fmt::format("bytes={}-{}", offset_, offset_ + length_ - 1);
    case Kind::kFrom:
      return fmt::format("bytes={}-", offset_);
    case Kind::kLast:
      return fmt::format("bytes=-{}", length_);
  }
  return {};
}

Result<std::pair<uint64_t, uint64_t>> ByteRange::Resolve(uint64_t size) const {
  const auto unsatisfiable = [&] {
    return ServiceError("InvalidRange",
                        fmt::format("the range {} is not satisfiable for an object of {} bytes",
                                    ToHttpHeader(), size));
  };
  switch (kind_) {
    case Kind::kSpan:
      if (offset_ >= size) return unsatisfiable();
      return std::pair{offset_, std::min(length_, size - offset_)};
    case Kind::kFrom:
      if (offset_ >= size) return unsatisfiable();
      return std::pair{offset_, size - offset_};
    case Kind::kLast:
      if (size == 0) return unsatisfiable();
      return std::pair{size - std::min(length_, size), std::min(length_, size)};
  }
  return unsatisfiable();
}

GetTarget GetTarget::ToFile(std::string path) {
  GetTarget t;
  t.kind_ = Kind::kFile;
  t.path_ = std::move(path);
  return t;
}

GetTarget GetTarget::ToStream(WriteFn write) {
  GetTarget t;
  t.kind_ = Kind::kStream;
  t.write_ = std::move(write);
  return t;
}

std::string_view UnquoteEtag(std::string_view etag) noexcept {
  if (etag.starts_with("W/")) etag.remove_prefix(2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  return etag;
}

}  // namespace esper::storage
