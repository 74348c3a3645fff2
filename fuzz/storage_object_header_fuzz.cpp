// libFuzzer target: LocalStore's object-file header parser (src/storage/object_file.h) on arbitrary
// bytes — a file on disk is input the store did not necessarily write. It must never read out of
// bounds, and a header it accepts is within the input and the documented limits, and encodes back
// to a header that parses to the same values.
//   build/fuzz/bin/storage_object_header_fuzz -max_total_time=60
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "storage/object_file.h"

namespace {
void Check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "broken: %s\n", what);
  std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace esper::storage;
  using namespace esper::storage::detail;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto h = ParseObjectHeader(input);
  if (!h) return 0;
  Check(h->header_len <= size && h->header_len <= kMaxHeaderBytes, "the header lies in the input");
  Check(!h->key.empty() && h->key.size() <= kMaxKeyBytes, "the key is within its limit");
  Check(h->content_type.size() <= kMaxContentTypeBytes, "the content type is within its limit");
  auto again = ParseObjectHeader(EncodeObjectHeader(*h));
  Check(again.has_value(), "a parsed header encodes to a parsable one");
  Check(again->key == h->key && again->size == h->size && again->md5 == h->md5 &&
            again->content_type == h->content_type && again->metadata == h->metadata,
        "and to the same values");
  return 0;
}
