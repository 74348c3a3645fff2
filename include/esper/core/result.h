// esper/core/result.h — `esper::Result<T>`: a value or an `esper::Error`, never an exception.
//
// Result<T> is tl::expected<T, Error> (the std::expected API: has_value(), value(), error(),
// and_then(), map(), or_else()) made [[nodiscard]], so a dropped error is a compiler warning.
// An Error converts implicitly into any Result, so `return Error::NotFound("…");` works.
// `Status` is Result<void>; `OkStatus()` is its success value.
//
// Thread safety: a value type, like the T it holds.
//
// Example:
//   esper::Result<std::string> ReadAll(const std::string& path);
//   esper::Status Copy(const std::string& from, const std::string& to) {
//     ESPER_ASSIGN_OR_RETURN(std::string body, ReadAll(from));
//     ESPER_RETURN_IF_ERROR(WriteAll(to, body));
//     return esper::OkStatus();
//   }
#pragma once

#include <tl/expected.hpp>

#include <type_traits>
#include <utility>

#include "esper/core/error.h"

namespace esper {

template <class T>
class [[nodiscard]] Result : public tl::expected<T, Error> {
 public:
  using Base = tl::expected<T, Error>;
  using Base::Base;
  Result(const Base& b) : Base(b) {}                // NOLINT(google-explicit-constructor)
  Result(Base&& b) : Base(std::move(b)) {}          // NOLINT(google-explicit-constructor)
  Result(Error e) : Base(tl::unexpected<Error>(std::move(e))) {}  // NOLINT
};

using Status = Result<void>;

/// The success value of a Status.
inline Status OkStatus() { return Status(); }

}  // namespace esper

#define ESPER_CONCAT_INNER_(a, b) a##b
#define ESPER_CONCAT_(a, b) ESPER_CONCAT_INNER_(a, b)

/// Returns the error of `expr` (a Result or Status) from the enclosing function, if it failed.
#define ESPER_RETURN_IF_ERROR(expr)                                    \
  do {                                                                 \
    auto&& esper_status_ = (expr);                                     \
    if (!esper_status_) return ::esper::Error(esper_status_.error());  \
  } while (false)

/// `ESPER_ASSIGN_OR_RETURN(auto x, Compute());` — declares x from the value, or returns the error.
#define ESPER_ASSIGN_OR_RETURN(decl, expr) \
  ESPER_ASSIGN_OR_RETURN_IMPL_(ESPER_CONCAT_(esper_result_, __LINE__), decl, expr)
#define ESPER_ASSIGN_OR_RETURN_IMPL_(tmp, decl, expr)   \
  auto tmp = (expr);                                    \
  if (!tmp) return ::esper::Error(std::move(tmp).error()); \
  decl = std::move(tmp).value()
