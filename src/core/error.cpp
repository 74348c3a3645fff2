#include "esper/core/error.h"

#include <cerrno>
#include <cstring>

namespace esper {

std::string_view ErrorCodeName(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kOk: return "Ok";
    case ErrorCode::kCancelled: return "Cancelled";
    case ErrorCode::kUnknown: return "Unknown";
    case ErrorCode::kInvalidArgument: return "InvalidArgument";
    case ErrorCode::kDeadlineExceeded: return "DeadlineExceeded";
    case ErrorCode::kNotFound: return "NotFound";
    case ErrorCode::kAlreadyExists: return "AlreadyExists";
    case ErrorCode::kPermissionDenied: return "PermissionDenied";
    case ErrorCode::kResourceExhausted: return "ResourceExhausted";
    case ErrorCode::kFailedPrecondition: return "FailedPrecondition";
    case ErrorCode::kAborted: return "Aborted";
    case ErrorCode::kOutOfRange: return "OutOfRange";
    case ErrorCode::kUnimplemented: return "Unimplemented";
    case ErrorCode::kInternal: return "Internal";
    case ErrorCode::kUnavailable: return "Unavailable";
    case ErrorCode::kDataLoss: return "DataLoss";
    case ErrorCode::kUnauthenticated: return "Unauthenticated";
  }
  return "Unknown";
}

bool IsRetryableByDefault(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kUnavailable:
    case ErrorCode::kResourceExhausted:
    case ErrorCode::kAborted:
    case ErrorCode::kDeadlineExceeded:
      return true;
    default:
      return false;
  }
}

Error::Error(ErrorCode code, std::string message)
    : code_(code), retryable_(IsRetryableByDefault(code)), message_(std::move(message)) {}

Error Error::FromErrno(int errnum, std::string_view what) {
  char buf[256];
  // GNU strerror_r returns a char* that may or may not point into buf.
  const char* text = strerror_r(errnum, buf, sizeof buf);
  std::string msg = fmt::format("{}: {} (errno {})", what, text, errnum);
  switch (errnum) {
    case ENOENT: case ENOTDIR:
      return NotFound(std::move(msg));
    case EEXIST:
      return AlreadyExists(std::move(msg));
    case EACCES: case EPERM: case EROFS:
      return PermissionDenied(std::move(msg));
    case ENOSPC: case EDQUOT: case EMFILE: case ENFILE: case ENOMEM: case EFBIG:
      return ResourceExhausted(std::move(msg));
    case ECONNREFUSED: case ECONNRESET: case ECONNABORTED: case EPIPE: case EAGAIN:
    case EHOSTUNREACH: case ENETUNREACH: case ENETDOWN: case EINTR:
      return Unavailable(std::move(msg));
    case ETIMEDOUT:
      return DeadlineExceeded(std::move(msg));
    case EINVAL: case ENAMETOOLONG: case EISDIR: case EBADF:
      return InvalidArgument(std::move(msg));
    case EIO:
      return DataLoss(std::move(msg));
    default:
      return Unknown(std::move(msg));
  }
}

Error Error::FromHttpStatus(int status, std::string message) {
  ErrorCode code;
  bool retry = false;
  switch (status) {
    case 400: code = ErrorCode::kInvalidArgument; break;
    case 401: code = ErrorCode::kUnauthenticated; break;
    case 403: code = ErrorCode::kPermissionDenied; break;
    case 404: code = ErrorCode::kNotFound; break;
    case 408: code = ErrorCode::kDeadlineExceeded; retry = true; break;
    case 409: code = ErrorCode::kAborted; break;
    case 412: code = ErrorCode::kFailedPrecondition; break;
    case 416: code = ErrorCode::kOutOfRange; break;
    case 429: code = ErrorCode::kResourceExhausted; retry = true; break;
    case 500: code = ErrorCode::kInternal; retry = true; break;
    case 501: code = ErrorCode::kUnimplemented; break;
    case 502: case 503: case 504: code = ErrorCode::kUnavailable; retry = true; break;
    default:
      if (status >= 500) {
        code = ErrorCode::kUnavailable;
        retry = true;
      } else if (status >= 400) {
        code = ErrorCode::kFailedPrecondition;
      } else {
        code = ErrorCode::kUnknown;
      }
  }
  Error e(code, std::move(message));
  e.retryable_ = retry;
  e.http_status_ = status;
  return e;
}

Error& Error::Wrap(std::string_view context) & {
  message_ = fmt::format("{}: {}", context, message_);
  return *this;
}
Error&& Error::Wrap(std::string_view context) && {
  message_ = fmt::format("{}: {}", context, message_);
  return std::move(*this);
}

std::string Error::ToString() const {
  std::string out = fmt::format("{}: {}", ErrorCodeName(code_), message_);
  if (http_status_ == 0 && service_code_.empty() && request_id_.empty()) return out;
  out += " [";
  const char* sep = "";
  if (http_status_ != 0) {
    out += fmt::format("http {}", http_status_);
    sep = ", ";
  }
  if (!service_code_.empty()) {
    out += fmt::format("{}{}", sep, service_code_);
    sep = ", ";
  }
  if (!request_id_.empty()) out += fmt::format("{}request-id {}", sep, request_id_);
  out += "]";
  return out;
}

}  // namespace esper
