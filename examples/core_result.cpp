// Example: esper::Result, esper::Error and esper::Secret — the types every esper API speaks.
#include <esper/core/result.h>
#include <esper/core/secret.h>
#include <fmt/format.h>

#include <charconv>
#include <string_view>

esper::Result<int> ParsePort(std::string_view text) {
  int port = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc() || ptr != text.data() + text.size())
    return esper::Error::InvalidArgument(fmt::format("port '{}' is not a number", text));
  if (port < 1 || port > 65535)
    return esper::Error::OutOfRange(fmt::format("port {} is outside 1..65535", port));
  return port;
}

int main() {
  for (std::string_view s : {"8080", "80x", "70000"}) {
    auto port = ParsePort(s);
    if (port) fmt::print("{} -> {}\n", s, *port);
    else fmt::print("{} -> {} (retryable: {})\n", s, port.error(), port.error().retryable());
  }
  esper::Secret key("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
  fmt::print("the key prints as '{}'\n", key);  // '***'
}
