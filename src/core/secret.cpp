#include "esper/core/secret.h"

#include <string.h>  // explicit_bzero

#include <ostream>

namespace esper {

Secret::Secret(Secret&& other) noexcept : value_(std::move(other.value_)) { other.Wipe(); }

Secret& Secret::operator=(const Secret& other) {
  if (this != &other) {
    Wipe();
    value_ = other.value_;
  }
  return *this;
}

Secret& Secret::operator=(Secret&& other) noexcept {
  if (this != &other) {
    Wipe();
    value_ = std::move(other.value_);
    other.Wipe();
  }
  return *this;
}

Secret::~Secret() { Wipe(); }

void Secret::Wipe() noexcept {
  // Wipe the whole capacity: a short (SSO) value lives inside the object.
  if (value_.capacity() > 0) explicit_bzero(value_.data(), value_.capacity());
  value_.clear();
}

bool operator==(const Secret& a, const Secret& b) noexcept {
  const std::string& x = a.value_;
  const std::string& y = b.value_;
  unsigned char diff = x.size() == y.size() ? 0 : 1;
  const size_t n = x.size() < y.size() ? x.size() : y.size();
  for (size_t i = 0; i < n; ++i) diff |= static_cast<unsigned char>(x[i] ^ y[i]);
  return diff == 0;
}

std::ostream& operator<<(std::ostream& os, const Secret& s) { return os << s.redacted(); }

}  // namespace esper
