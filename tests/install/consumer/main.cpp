// A program that uses esper-utils from an install, as a service would.
#include <esper/core/result.h>
#include <esper/core/secret.h>
#include <esper/core/version.h>
#include <fmt/format.h>

esper::Result<int> Parse(bool ok) {
  if (!ok) return esper::Error::InvalidArgument("bad");
  return 42;
}

int main() {
  esper::Secret s("do-not-print");
  auto r = Parse(true);
  auto e = Parse(false);
  if (!r || *r != 42 || e || fmt::format("{}", s) != "***") return 1;
  fmt::print("consumer ok (esper {})\n", esper::kVersion);
  return 0;
}
