#include "curl_error.h"

#include <fmt/format.h>

namespace esper::http::detail {
namespace {

std::string Ms(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return fmt::format("{} s", d.count() / 1000);
  return fmt::format("{} ms", d.count());
}

}  // namespace

Error MapCurlError(CURLcode code, const CurlFailureContext& ctx) {
  const std::string prefix = fmt::format("{} {}: ", ctx.method, ctx.url);
  std::string detail = ctx.curl_message.empty() ? std::string(curl_easy_strerror(code))
                                                : std::string(ctx.curl_message);
  auto msg = [&](std::string_view what) {
    return fmt::format("{}{} (curl {}: {})", prefix, what, static_cast<int>(code), detail);
  };
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
      // A name that does not resolve now will not resolve in 100 ms: not retried.
      return Error::Unavailable(msg(fmt::format("DNS: could not resolve host '{}'", ctx.host)))
          .WithRetryable(false);
    case CURLE_COULDNT_RESOLVE_PROXY:
      return Error::Unavailable(msg("DNS: could not resolve the proxy")).WithRetryable(false);
    case CURLE_COULDNT_CONNECT:
      return Error::Unavailable(msg(fmt::format("connect to {} port {} failed", ctx.host, ctx.port)));
    case CURLE_OPERATION_TIMEDOUT: {
      std::string which;
      if (!ctx.connected && ctx.connect_timeout.count() > 0 &&
          ctx.elapsed + std::chrono::milliseconds(50) >= ctx.connect_timeout &&
          ctx.elapsed < ctx.attempt_timeout) {
        which = fmt::format("connect timeout: no connection to {} port {} within {}", ctx.host,
                            ctx.port, Ms(ctx.connect_timeout));
      } else if (detail.find("too slow") != std::string::npos) {
        which = fmt::format("stalled: fewer than {} bytes/s for {} s", ctx.stall_bytes_per_second,
                            ctx.stall_time.count());
      } else if (ctx.attempt_limited_by_deadline) {
        which = fmt::format("overall deadline reached after {} in this attempt", Ms(ctx.elapsed));
      } else if (!ctx.connected) {
        which = fmt::format("connect timeout: no connection to {} port {} within {}", ctx.host,
                            ctx.port, Ms(ctx.elapsed));
      } else {
        which = fmt::format("no complete response within the per-try timeout {}", Ms(ctx.attempt_timeout));
      }
      return Error::DeadlineExceeded(msg(which));
    }
    case CURLE_SSL_CONNECT_ERROR:
      return Error::Unavailable(msg("TLS handshake failed"));
    case CURLE_PEER_FAILED_VERIFICATION:
      return Error::Unauthenticated(msg("TLS: the server's certificate failed verification"));
    case CURLE_SSL_CACERT_BADFILE:
      return Error::InvalidArgument(msg("TLS: the CA bundle could not be read"));
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
      return Error::FailedPrecondition(msg("TLS setup failed"));
    case CURLE_SEND_ERROR:
      return Error::Unavailable(msg("connection reset while sending the request"));
    case CURLE_RECV_ERROR:
      return Error::Unavailable(msg("connection reset while receiving the response"));
    case CURLE_GOT_NOTHING:
      return Error::Unavailable(msg("the server closed the connection without answering"));
    case CURLE_PARTIAL_FILE:
      return Error::Unavailable(msg("truncated response: the connection closed before the whole body arrived"));
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
      return Error::Unavailable(msg("HTTP/2 stream or connection error"));
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL:
      if (code == CURLE_UNSUPPORTED_PROTOCOL) return Error::InvalidArgument(msg("unsupported protocol"));
      return Error::Unavailable(msg("malformed response from the server")).WithRetryable(false);
    case CURLE_URL_MALFORMAT:
      return Error::InvalidArgument(msg("malformed URL"));
    case CURLE_TOO_MANY_REDIRECTS:
      return Error::FailedPrecondition(msg("too many redirects"));
    case CURLE_OUT_OF_MEMORY:
      // libcurl 7.88 reports a header line longer than its limit (CURL_MAX_HTTP_HEADER, 100 KiB)
      // as out of memory, with no message.
      if (ctx.in_response_headers) {
        return Error::Unavailable(msg("a response header line is longer than libcurl accepts (100 KiB): a fault "
                                      "of the server, not retried"))
            .WithRetryable(false);
      }
      return Error::ResourceExhausted(msg("out of memory"));
    case CURLE_FILESIZE_EXCEEDED:
      return Error::ResourceExhausted(msg("response larger than the allowed maximum"));
    case CURLE_ABORTED_BY_CALLBACK:
      return Error::Cancelled(msg("cancelled"));
    case CURLE_WRITE_ERROR:
      return Error::Internal(msg("the response sink failed"));
    case CURLE_READ_ERROR:
    case CURLE_SEND_FAIL_REWIND:
      return Error::Internal(msg("the request body could not be read"));
    case CURLE_BAD_CONTENT_ENCODING:
      return Error::DataLoss(msg("response body could not be decoded"));
    case CURLE_LOGIN_DENIED:
    case CURLE_AUTH_ERROR:
      return Error::Unauthenticated(msg("authentication failed"));
    default:
      return Error::Unknown(msg("transfer failed"));
  }
}

}  // namespace esper::http::detail
