// libFuzzer target: LocalStore's key-to-path mapping (src/storage/key_path.h) on arbitrary bytes.
// - As a key: every path component is one safe name — non-empty, at most 255 bytes, no '/', no
//   NUL, never "." or "..", never hidden (a leading '.') — so the path never leaves the bucket
//   directory, whatever the key; and the components decode back to the key's segments (a hashed
//   component to the digest of its segment), so the mapping is reversible.
// - As a directory entry: DecodeName accepts only names EncodeSegment makes (canonical), so a name
//   it accepts re-encodes to itself.
// Any broken property aborts, so libFuzzer reports it with the input.
//   build/fuzz/bin/storage_key_path_fuzz -max_total_time=60
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "storage/key_path.h"

namespace {

using namespace esper::storage::detail;

void Check(bool ok, const char* what, std::string_view input) {
  if (ok) return;
  std::fprintf(stderr, "broken: %s\ninput (%zu bytes): '%.*s'\n", what, input.size(),
               static_cast<int>(input.size()), input.data());
  std::abort();
}

void CheckKey(std::string_view key) {
  const auto path = KeyToPath(key);
  const auto segments = SplitKey(key);
  Check(path.size() == segments.size(), "one component per segment", key);
  std::string rejoined;
  for (size_t i = 0; i < path.size(); ++i) {
    const std::string& name = path[i];
    Check(!name.empty() && name.size() <= 255, "a component is 1..255 bytes", key);
    Check(name.find('/') == std::string::npos, "no '/' in a component", key);
    Check(name.find('\0') == std::string::npos, "no NUL in a component", key);
    Check(name != "." && name != "..", "never . or ..", key);
    Check(name[0] != '.', "never hidden (internal names start with '.')", key);
    const EntryKind kind = i + 1 < path.size() ? EntryKind::kDirectory : EntryKind::kObject;
    Check(name.ends_with(kObjectSuffix) == (kind == EntryKind::kObject),
          "only the object file ends in %o", key);
    const auto decoded = DecodeName(name);
    Check(decoded.has_value(), "every component decodes", key);
    Check(decoded->kind == kind, "the kind survives", key);
    if (decoded->hashed) {
      Check(decoded->text == SegmentDigest(segments[i]), "a hashed name carries the digest", key);
    } else {
      Check(decoded->text == segments[i], "a plain name decodes to its segment", key);
    }
    if (i > 0) rejoined.push_back('/');
    rejoined += decoded->hashed ? std::string(segments[i]) : decoded->text;
  }
  Check(rejoined == key, "the segments rejoin to the key", key);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (size <= 4096) CheckKey(input);
  if (const auto decoded = DecodeName(input)) {
    const std::string again = decoded->hashed
                                  ? "%h" + decoded->text +
                                        (decoded->kind == EntryKind::kObject ? "%o" : "")
                                  : EncodeSegment(decoded->text, decoded->kind);
    Check(again == input, "an accepted name is canonical", input);
  }
  return 0;
}
