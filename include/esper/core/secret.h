// esper/core/secret.h — a credential that cannot be printed by accident.
//
// `esper::Secret` holds a password, secret key or token. Formatting it with {fmt}, streaming it,
// logging it or dumping it in a config prints "***" (or "" when empty) — never the value. The
// only way to the value is `reveal()`, so every place that uses the secret is greppable.
//
// Thread safety: a value type; const access from many threads is safe.
// Memory: the value is wiped (explicit_bzero) when the Secret is destroyed or reassigned.
//
// Example:
//   esper::Secret key(std::getenv("AWS_SECRET_ACCESS_KEY"));
//   fmt::print("using key {}\n", key);   // "using key ***"
//   Sign(request, key.reveal());
#pragma once

#include <fmt/format.h>

#include <iosfwd>
#include <string>
#include <string_view>

namespace esper {

class Secret {
 public:
  /// What every Secret formats as.
  static constexpr std::string_view kRedacted = "***";

  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  explicit Secret(const char* value) : value_(value ? value : "") {}
  Secret(const Secret&) = default;
  Secret(Secret&& other) noexcept;
  Secret& operator=(const Secret& other);
  Secret& operator=(Secret&& other) noexcept;
  ~Secret();

  /// The secret itself. Call it only where the value is used (signing, connecting).
  const std::string& reveal() const noexcept { return value_; }
  bool empty() const noexcept { return value_.empty(); }
  /// "***" when set, "" when empty.
  std::string_view redacted() const noexcept { return value_.empty() ? std::string_view() : kRedacted; }

  /// Constant-time comparison (no early exit on the first differing byte).
  friend bool operator==(const Secret& a, const Secret& b) noexcept;

 private:
  void Wipe() noexcept;
  std::string value_;
};

std::ostream& operator<<(std::ostream& os, const Secret& s);

}  // namespace esper

template <>
struct fmt::formatter<esper::Secret> : fmt::formatter<std::string_view> {
  template <typename Ctx>
  auto format(const esper::Secret& s, Ctx& ctx) const {
    return fmt::formatter<std::string_view>::format(s.redacted(), ctx);
  }
};
