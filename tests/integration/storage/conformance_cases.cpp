// The conformance cases: each promise of esper/storage/object_store.h, checked through the
// interface only, so every store is held to the same thing (conformance.h).
#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "esper/storage/errors.h"
#include "esper/storage/lister.h"
#include "integration/storage/conformance_case.h"

namespace esper::storage::testing {
namespace {

namespace fs = std::filesystem;

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    const uint64_t v = rng();
    for (size_t j = 0; j < 8 && i + j < n; ++j) out[i + j] = static_cast<char>(v >> (8 * j));
  }
  return out;
}

std::string Md5Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_md5(), nullptr);
  std::string out;
  for (unsigned int i = 0; i < len; ++i) out += fmt::format("{:02x}", md[i]);
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

// Puts every key (body: the key itself, or body(key)), at most `window` in flight.
template <class BodyFn>
void PutAll(ObjectStore& s, const std::string& bucket, const std::vector<std::string>& keys,
            BodyFn body, size_t window = 32) {
  std::vector<std::future<Result<ObjectInfo>>> pending;
  for (const std::string& key : keys) {
    if (pending.size() == window) {
      auto r = pending.front().get();
      ASSERT_TRUE(r) << r.error();
      pending.erase(pending.begin());
    }
    pending.push_back(s.Future(&ObjectStore::PutAsync, bucket, key, PutBody::FromString(body(key)),
                               PutOptions{}));
  }
  for (auto& f : pending) {
    auto r = f.get();
    ASSERT_TRUE(r) << r.error();
  }
}
void PutKeys(ObjectStore& s, const std::string& bucket, const std::vector<std::string>& keys) {
  PutAll(s, bucket, keys, [](const std::string& k) { return k; });
}
// Puts each key (body: the key) where some key shapes may be refused (kKeyShapesWrong).
void PutKeyShapes(Env& env, const std::vector<std::string>& keys) {
  for (const std::string& key : keys) {
    auto put = env.store().Put(env.bucket(), key, PutBody::FromString(key));
    EXPECT_CONFORMS(env, kKeyShapesWrong, put.has_value(),
                    fmt::format("put of key '{}': {}", key, put ? "ok" : put.error().ToString()));
  }
}

// One entry of a listing, objects and common prefixes merged in order ("P:" marks a prefix).
// With `env`, a page larger than page_size is a kListPagesWrong check.
std::vector<std::string> Walk(ObjectStore& s, const std::string& bucket, ListOptions o,
                              int* pages = nullptr, Env* env = nullptr) {
  std::vector<std::string> out;
  Lister lister = s.ListPages(bucket, std::move(o));
  int n = 0;
  for (;;) {
    auto page = lister.NextPage();
    EXPECT_TRUE(page) << page.error();
    if (!page || !*page) break;
    ++n;
    std::vector<std::string> entries;
    for (const auto& obj : (*page)->objects) entries.push_back(obj.key);
    for (const auto& p : (*page)->common_prefixes) entries.push_back("P:" + p);
    if (env) {
      EXPECT_CONFORMS(*env, kListPagesWrong, entries.size() <= static_cast<size_t>(o.page_size),
                      fmt::format("a page of {} entries with page_size {}", entries.size(), o.page_size));
    } else {
      EXPECT_LE(entries.size(), static_cast<size_t>(o.page_size));
    }
    std::sort(entries.begin(), entries.end(), [](const std::string& a, const std::string& b) {
      return (a.starts_with("P:") ? a.substr(2) : a) < (b.starts_with("P:") ? b.substr(2) : b);
    });
    out.insert(out.end(), entries.begin(), entries.end());
  }
  if (pages) *pages = n;
  return out;
}

// What S3 lists for `keys` (ListObjectsV2, every page together).
std::vector<std::string> Model(std::vector<std::string> keys, const ListOptions& o) {
  std::sort(keys.begin(), keys.end());
  std::vector<std::string> out;
  std::string last_prefix;
  for (const std::string& k : keys) {
    if (!k.starts_with(o.prefix) || !(k > o.start_after)) continue;
    if (!o.delimiter.empty()) {
      const size_t at = k.find(o.delimiter, o.prefix.size());
      if (at != std::string::npos) {
        const std::string p = k.substr(0, at + o.delimiter.size());
        if (p != last_prefix) out.push_back("P:" + p);
        last_prefix = p;
        continue;
      }
    }
    out.push_back(k);
  }
  return out;
}

// Every key shape the interface promises to carry (object.h).
std::vector<std::string> KeyShapes() {
  std::vector<std::string> keys = {
      "plain", "a//b", "..", ".", "../escape", "a/../b", "a/./b", "/leading", "trailing/", "//",
      "space in key", "plus+sign", "equals=sign", "percent%sign", "%2F", "%", "amp&sand",
      "question?mark", "hash#tag", "bang!", "apos'trophe", "paren(open", "paren)close",
      "star*", "tilde~", "all + = % & ? # space ! ' ( ) * ~", "caf\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac/\xe3\x83\x87\xe3\x83\xbc\xe3\x82\xbf",
      "emoji \xf0\x9f\x98\x80", ".hidden", "dir/", "dir/file", "dir", "x/y/z/deep", "back\\slash",
      "quote\"d", "<angle>&amp;", std::string(300, 's') + "/long-segment",
      std::string(1024 - 5, 'L') + "/1024",
  };
  // A 1,024-byte key of multi-byte characters.
  std::string wide;
  while (wide.size() + 3 <= kMaxKeyBytes) wide += "\xe2\x82\xac";  // €
  keys.push_back(wide);
  return keys;
}

bool IsCode(const Status& st, ErrorCode code, std::string_view service_code = {}) {
  return !st && st.error().code() == code &&
         (service_code.empty() || st.error().service_code() == service_code);
}
template <class T>
bool IsCode(const Result<T>& r, ErrorCode code, std::string_view service_code = {}) {
  return !r && r.error().code() == code &&
         (service_code.empty() || r.error().service_code() == service_code);
}

// A bucket of the store besides the test's own, deleted (with its objects) at the end.
class ExtraBucket {
 public:
  ExtraBucket(ObjectStore& s, std::string name) : s_(s), name_(std::move(name)) {
    ok_ = static_cast<bool>(s_.CreateBucket(name_));
  }
  ~ExtraBucket() {
    auto page = s_.List(name_);
    if (page) {
      std::vector<std::string> keys;
      for (const auto& o : page->objects) keys.push_back(o.key);
      if (!keys.empty()) (void)s_.DeleteMany(name_, keys);
    }
    (void)s_.DeleteBucket(name_);
  }
  bool ok() const { return ok_; }
  const std::string& name() const { return name_; }

 private:
  ObjectStore& s_;
  std::string name_;
  bool ok_ = false;
};

std::string DerivedBucket(const std::string& bucket, std::string_view suffix) {
  std::string base = bucket.substr(0, 63 - suffix.size() - 1);
  while (!base.empty() && (base.back() == '-' || base.back() == '.')) base.pop_back();
  return base + "-" + std::string(suffix);
}

}  // namespace

// ----- put / get / stat --------------------------------------------------------------------------

CONFORMANCE_CASE(EveryKeyShapeRoundTrips, {kKeyShapesWrong}) {
  ObjectStore& s = env.store();
  const auto keys = KeyShapes();
  PutKeyShapes(env, keys);
  for (const std::string& key : keys) {
    auto got = s.Get(env.bucket(), key);
    EXPECT_CONFORMS(env, kKeyShapesWrong, got && got->body == key && got->info.key == key,
                    fmt::format("get of key '{}': {}", key, got ? "body " + got->body : got.error().ToString()));
    auto info = s.Stat(env.bucket(), key);
    EXPECT_CONFORMS(env, kKeyShapesWrong, info && info->size == key.size(),
                    fmt::format("stat of key '{}'", key));
  }
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  const std::vector<std::string> listed = Walk(s, env.bucket(), {});
  std::vector<std::string> missing, extra;
  std::set_difference(sorted.begin(), sorted.end(), listed.begin(), listed.end(), std::back_inserter(missing));
  std::set_difference(listed.begin(), listed.end(), sorted.begin(), sorted.end(), std::back_inserter(extra));
  EXPECT_CONFORMS(env, kKeyShapesWrong, listed == sorted,
                  fmt::format("a listing returns the exact keys, in byte order (not listed: '{}'; listed "
                              "instead: '{}')",
                              fmt::join(missing, "', '"), fmt::join(extra, "', '")));
}

CONFORMANCE_CASE(KeysWithControlCharacters, {kControlCharKeysWrong}) {
  ObjectStore& s = env.store();
  const std::vector<std::string> keys = {"tab\there", "new\nline", "bell\x07", "del\x7f", "\x01start"};
  for (const std::string& key : keys) {
    auto put = s.Put(env.bucket(), key, PutBody::FromString(key));
    auto got = put ? s.Get(env.bucket(), key) : Result<GetResult>(put.error());
    EXPECT_CONFORMS(env, kControlCharKeysWrong, got && got->body == key,
                    fmt::format("key with byte {:#04x}", static_cast<unsigned char>(key.back())));
  }
  std::vector<std::string> listed = Walk(s, env.bucket(), {});
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_CONFORMS(env, kControlCharKeysWrong, listed == sorted, "listing keys with control bytes");
}

CONFORMANCE_CASE(PutReturnsSizeAndMd5Etag, {}) {
  ObjectStore& s = env.store();
  auto put = s.Put(env.bucket(), "hello", PutBody::FromString("hello"));
  ASSERT_TRUE(put) << put.error();
  EXPECT_EQ(put->key, "hello");
  EXPECT_EQ(put->size, 5u);
  EXPECT_EQ(put->etag, "5d41402abc4b2a76b9719d911017c592");
  auto empty = s.Put(env.bucket(), "empty", PutBody());
  ASSERT_TRUE(empty) << empty.error();
  EXPECT_EQ(empty->size, 0u);
  EXPECT_EQ(empty->etag, "d41d8cd98f00b204e9800998ecf8427e");
  auto got = s.Get(env.bucket(), "empty");
  ASSERT_TRUE(got) << got.error();
  EXPECT_EQ(got->body, "");
  EXPECT_EQ(got->info.size, 0u);
  // An overwrite replaces bytes, size and ETag together.
  auto again = s.Put(env.bucket(), "hello", PutBody::FromString("hello, again"));
  ASSERT_TRUE(again);
  auto info = s.Stat(env.bucket(), "hello");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->size, 12u);
  EXPECT_EQ(info->etag, Md5Hex("hello, again"));
}

CONFORMANCE_CASE(ContentTypeAndMetadataRoundTrip, {kEmptyMetadataValueDropped}) {
  ObjectStore& s = env.store();
  auto put = s.Put(env.bucket(), "doc.json", PutBody::FromString("{}"),
                   {.content_type = "application/json; charset=utf-8",
                    .metadata = {{"Model-Version", "3"}, {"epoch", "40"}, {"empty", ""},
                                 {"Mixed_Case.Name", "v a l u e"}}});
  ASSERT_TRUE(put) << put.error();
  const Metadata want = {{"model-version", "3"}, {"epoch", "40"}, {"empty", ""},
                         {"mixed_case.name", "v a l u e"}};
  EXPECT_EQ(put->metadata, want);
  auto info = s.Stat(env.bucket(), "doc.json");
  ASSERT_TRUE(info) << info.error();
  EXPECT_EQ(info->content_type, "application/json; charset=utf-8");
  EXPECT_CONFORMS(env, kEmptyMetadataValueDropped, info->metadata == want,
                  fmt::format("stat returns the metadata ({} names of {})", info->metadata.size(), want.size()));
  EXPECT_EQ(info->etag, Md5Hex("{}"));
  EXPECT_GT(info->last_modified.time_since_epoch().count(), 0);
  auto got = s.Get(env.bucket(), "doc.json");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->info.content_type, "application/json; charset=utf-8");
  EXPECT_CONFORMS(env, kEmptyMetadataValueDropped, got->info.metadata == want, "get returns the metadata");
  // No content type given: the documented default.
  ASSERT_TRUE(s.Put(env.bucket(), "bin", PutBody::FromString("x")));
  EXPECT_EQ(s.Stat(env.bucket(), "bin")->content_type, kDefaultContentType);
  EXPECT_TRUE(s.Stat(env.bucket(), "bin")->metadata.empty());
  // Listings carry neither (as S3's).
  auto page = s.List(env.bucket());
  ASSERT_TRUE(page);
  for (const auto& o : page->objects) {
    EXPECT_TRUE(o.content_type.empty()) << o.key;
    EXPECT_TRUE(o.metadata.empty()) << o.key;
    EXPECT_FALSE(o.etag.empty()) << o.key;
  }
}

CONFORMANCE_CASE(InvalidArgumentsFailBeforeAnything, {}) {
  ObjectStore& s = env.store();
  std::atomic<int> called{0};
  auto cb = [&](Result<ObjectInfo>) { ++called; };
  EXPECT_TRUE(IsCode(s.PutAsync("Bad_Bucket", "k", PutBody(), {}, cb), ErrorCode::kInvalidArgument,
                     "InvalidBucketName"));
  EXPECT_TRUE(IsCode(s.PutAsync(env.bucket(), std::string(kMaxKeyBytes + 1, 'k'), PutBody(), {}, cb),
                     ErrorCode::kInvalidArgument, "KeyTooLongError"));
  EXPECT_TRUE(IsCode(s.PutAsync(env.bucket(), "k", PutBody(),
                                {.metadata = {{"big", std::string(kMaxMetadataBytes, 'x')}}}, cb),
                     ErrorCode::kInvalidArgument, "MetadataTooLarge"));
  EXPECT_TRUE(IsCode(s.PutAsync(env.bucket(), "bad\xff", PutBody(), {}, cb), ErrorCode::kInvalidArgument));
  EXPECT_EQ(called.load(), 0) << "a call that fails to start never calls back";
  EXPECT_FALSE(*s.Exists(env.bucket(), "k"));
}

CONFORMANCE_CASE(MissingKeysAndBucketsAreNotFoundWithS3Codes, {}) {
  ObjectStore& s = env.store();
  EXPECT_TRUE(IsCode(s.Get(env.bucket(), "nope"), ErrorCode::kNotFound, "NoSuchKey"));
  EXPECT_TRUE(IsCode(s.Stat(env.bucket(), "nope"), ErrorCode::kNotFound, "NoSuchKey"));
  EXPECT_EQ(*s.Exists(env.bucket(), "nope"), false);
  const std::string missing = DerivedBucket(env.bucket(), "missing");
  EXPECT_TRUE(IsCode(s.Get(missing, "k"), ErrorCode::kNotFound, "NoSuchBucket"));
  EXPECT_TRUE(IsCode(s.Put(missing, "k", PutBody::FromString("x")), ErrorCode::kNotFound, "NoSuchBucket"));
  EXPECT_TRUE(IsCode(s.List(missing), ErrorCode::kNotFound, "NoSuchBucket"));
  EXPECT_TRUE(IsCode(s.Delete(missing, "k"), ErrorCode::kNotFound, "NoSuchBucket"));
  EXPECT_TRUE(IsCode(s.DeleteBucket(missing), ErrorCode::kNotFound, "NoSuchBucket"));
  // HEAD has no body to say which: either code, always NotFound.
  auto stat = s.Stat(missing, "k");
  ASSERT_FALSE(stat);
  EXPECT_EQ(stat.error().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(stat.error().service_code() == "NoSuchKey" ||
              stat.error().service_code() == "NoSuchBucket")
      << stat.error();
  EXPECT_EQ(*s.Exists(missing, "k"), false);
}

// ----- ranges ------------------------------------------------------------------------------------

CONFORMANCE_CASE(ByteRanges, {kRangeEndingAtZeroWrong}) {
  ObjectStore& s = env.store();
  const std::string data = RandomBytes(1000, 1);
  ASSERT_TRUE(s.Put(env.bucket(), "r", PutBody::FromString(data)));
  struct Want {
    ByteRange range;
    uint64_t offset, length;
  };
  for (const Want& w : {Want{ByteRange::Span(0, 1), 0, 1}, Want{ByteRange::Span(10, 90), 10, 90},
                        Want{ByteRange::Span(990, 100), 990, 10}, Want{ByteRange::From(0), 0, 1000},
                        Want{ByteRange::From(999), 999, 1}, Want{ByteRange::Span(999, 1), 999, 1}}) {
    auto got = s.Get(env.bucket(), "r", {.range = w.range});
    if (w.range == ByteRange::Span(0, 1)) {
      EXPECT_CONFORMS(env, kRangeEndingAtZeroWrong,
                      got && got->offset == 0 && got->length == 1 && got->body == data.substr(0, 1),
                      fmt::format("bytes=0-0 is the first byte: {}", got ? "served" : got.error().ToString()));
      continue;
    }
    ASSERT_TRUE(got) << w.range.ToHttpHeader() << ": " << got.error();
    EXPECT_EQ(got->offset, w.offset) << w.range.ToHttpHeader();
    EXPECT_EQ(got->length, w.length) << w.range.ToHttpHeader();
    EXPECT_EQ(got->body, data.substr(w.offset, w.length)) << w.range.ToHttpHeader();
    EXPECT_EQ(got->info.size, 1000u) << "the whole object's size";
    EXPECT_EQ(got->info.etag, Md5Hex(data));
  }
}

CONFORMANCE_CASE(SuffixRanges, {kSuffixRangeWrong}) {
  ObjectStore& s = env.store();
  const std::string data = RandomBytes(1000, 2);
  ASSERT_TRUE(s.Put(env.bucket(), "r", PutBody::FromString(data)));
  auto last = s.Get(env.bucket(), "r", {.range = ByteRange::Last(100)});
  EXPECT_CONFORMS(env, kSuffixRangeWrong,
                  last && last->body == data.substr(900) && last->offset == 900 && last->length == 100,
                  "bytes=-100 of 1000 bytes is the last 100");
  auto more = s.Get(env.bucket(), "r", {.range = ByteRange::Last(5000)});
  EXPECT_CONFORMS(env, kSuffixRangeWrong, more && more->body == data && more->offset == 0,
                  "bytes=-5000 of 1000 bytes is the whole object");
}

CONFORMANCE_CASE(UnsatisfiableRangesAreOutOfRange, {kInvalidRangeNotReported}) {
  ObjectStore& s = env.store();
  ASSERT_TRUE(s.Put(env.bucket(), "r", PutBody::FromString(RandomBytes(100, 3))));
  ASSERT_TRUE(s.Put(env.bucket(), "empty", PutBody()));
  for (auto [key, range] : {std::pair{"r", ByteRange::Span(100, 10)}, std::pair{"r", ByteRange::From(100)},
                            std::pair{"r", ByteRange::From(5000)}, std::pair{"empty", ByteRange::Span(0, 1)}}) {
    auto got = s.Get(env.bucket(), key, {.range = range});
    EXPECT_CONFORMS(env, kInvalidRangeNotReported,
                    IsCode(got, ErrorCode::kOutOfRange, "InvalidRange"),
                    fmt::format("{} of {} is 416 InvalidRange", range.ToHttpHeader(), key));
  }
}

// ----- targets -----------------------------------------------------------------------------------

CONFORMANCE_CASE(GetIntoAFileIsAtomic, {kGetIfMatchIgnored}) {
  ObjectStore& s = env.store();
  const std::string data = RandomBytes(300000, 4);
  ASSERT_TRUE(s.Put(env.bucket(), "f", PutBody::FromString(data)));
  const std::string path = env.local_dir() + "/out.bin";
  WriteFile(path, "old contents");
  auto got = s.Get(env.bucket(), "f", {.target = GetTarget::ToFile(path)});
  ASSERT_TRUE(got) << got.error();
  EXPECT_TRUE(got->body.empty());
  EXPECT_EQ(got->length, data.size());
  EXPECT_EQ(ReadFile(path), data);
  auto range = s.Get(env.bucket(), "f", {.range = ByteRange::Span(5, 10), .target = GetTarget::ToFile(path)});
  ASSERT_TRUE(range);
  EXPECT_EQ(ReadFile(path), data.substr(5, 10));
  // A failed get leaves the file as it was, and no temporary file behind.
  EXPECT_FALSE(s.Get(env.bucket(), "missing", {.target = GetTarget::ToFile(path)}));
  EXPECT_EQ(ReadFile(path), data.substr(5, 10));
  auto guarded = s.Get(env.bucket(), "f", {.if_match = "0123", .target = GetTarget::ToFile(path)});
  EXPECT_CONFORMS(env, kGetIfMatchIgnored, !guarded, "a get whose If-Match fails writes no file");
  if (!guarded) {
    EXPECT_EQ(ReadFile(path), data.substr(5, 10));
  }
  int files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(env.local_dir())) ++files;
  EXPECT_EQ(files, 1) << "only out.bin: no temporary file left";
  // Into a directory that does not exist: an error, nothing made.
  EXPECT_FALSE(s.Get(env.bucket(), "f", {.target = GetTarget::ToFile(env.local_dir() + "/no/such/dir/x")}));
}

CONFORMANCE_CASE(GetToAStream, {}) {
  ObjectStore& s = env.store();
  const std::string data = RandomBytes(1 << 20, 5);
  ASSERT_TRUE(s.Put(env.bucket(), "s", PutBody::FromString(data)));
  std::string received;
  int chunks = 0;
  auto got = s.Get(env.bucket(), "s", {.target = GetTarget::ToStream([&](std::string_view c) {
                                         received.append(c);
                                         ++chunks;
                                         return OkStatus();
                                       })});
  ASSERT_TRUE(got) << got.error();
  EXPECT_EQ(received, data);
  EXPECT_GE(chunks, 1);
  EXPECT_TRUE(got->body.empty());
  // The write function's error ends the get with that error.
  auto failed = s.Get(env.bucket(), "s", {.target = GetTarget::ToStream([](std::string_view) {
                                            return Status(Error::Aborted("receiver is full"));
                                          })});
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code(), ErrorCode::kAborted) << failed.error();
  EXPECT_NE(failed.error().message().find("receiver is full"), std::string::npos);
}

// ----- conditions --------------------------------------------------------------------------------

CONFORMANCE_CASE(GetIfMatch, {kGetIfMatchIgnored}) {
  ObjectStore& s = env.store();
  auto put = s.Put(env.bucket(), "c", PutBody::FromString("v1"));
  ASSERT_TRUE(put);
  auto ok = s.Get(env.bucket(), "c", {.if_match = put->etag});
  ASSERT_TRUE(ok) << ok.error();
  EXPECT_EQ(ok->body, "v1");
  auto quoted = s.Get(env.bucket(), "c", {.if_match = "\"" + put->etag + "\""});
  EXPECT_TRUE(quoted) << "quotes around an ETag are ignored";
  auto wrong = s.Get(env.bucket(), "c", {.if_match = Md5Hex("other")});
  EXPECT_CONFORMS(env, kGetIfMatchIgnored,
                  IsCode(wrong, ErrorCode::kFailedPrecondition, "PreconditionFailed"),
                  "If-Match with another ETag is 412 PreconditionFailed");
}

CONFORMANCE_CASE(GetIfNoneMatch, {kGetIfNoneMatchIgnored}) {
  ObjectStore& s = env.store();
  auto put = s.Put(env.bucket(), "c", PutBody::FromString("v1"));
  ASSERT_TRUE(put);
  auto changed = s.Get(env.bucket(), "c", {.if_none_match = Md5Hex("older")});
  ASSERT_TRUE(changed) << changed.error();
  EXPECT_FALSE(changed->not_modified);
  EXPECT_EQ(changed->body, "v1");
  auto same = s.Get(env.bucket(), "c", {.if_none_match = put->etag});
  EXPECT_CONFORMS(env, kGetIfNoneMatchIgnored,
                  same && same->not_modified && same->body.empty() && same->info.etag == put->etag,
                  "If-None-Match with the current ETag is 304: not_modified, nothing served");
  const std::string path = env.local_dir() + "/untouched";
  auto to_file = s.Get(env.bucket(), "c", {.if_none_match = put->etag, .target = GetTarget::ToFile(path)});
  EXPECT_CONFORMS(env, kGetIfNoneMatchIgnored, to_file && to_file->not_modified && !fs::exists(path),
                  "a 304 writes no file");
}

CONFORMANCE_CASE(PutCreateOnly, {kCreateOnlyIgnored}) {
  ObjectStore& s = env.store();
  auto first = s.Put(env.bucket(), "once", PutBody::FromString("first"), {.create_only = true});
  ASSERT_TRUE(first) << first.error();
  auto second = s.Put(env.bucket(), "once", PutBody::FromString("second"), {.create_only = true});
  EXPECT_CONFORMS(env, kCreateOnlyIgnored,
                  IsCode(second, ErrorCode::kAlreadyExists, "PreconditionFailed"),
                  "a create-only put of an existing key is AlreadyExists");
  EXPECT_CONFORMS(env, kCreateOnlyIgnored, *s.download_bytes(env.bucket(), "once") == "first",
                  "the existing object is untouched");
}

CONFORMANCE_CASE(ConcurrentCreateOnlyPutsExactlyOneWins, {kCreateOnlyIgnored}) {
  ObjectStore& s = env.store();
  constexpr int kRacers = 16;
  std::vector<std::future<Result<ObjectInfo>>> racers;
  for (int i = 0; i < kRacers; ++i) {
    racers.push_back(s.Future(&ObjectStore::PutAsync, env.bucket(), "race",
                              PutBody::FromString(fmt::format("racer {}", i)),
                              PutOptions{.create_only = true}));
  }
  int wins = 0, already = 0;
  std::string winner;
  for (int i = 0; i < kRacers; ++i) {
    auto r = racers[static_cast<size_t>(i)].get();
    if (r) {
      ++wins;
      winner = fmt::format("racer {}", i);
    } else {
      EXPECT_EQ(r.error().code(), ErrorCode::kAlreadyExists) << r.error();
      ++already;
    }
  }
  EXPECT_CONFORMS(env, kCreateOnlyIgnored, wins == 1 && already == kRacers - 1,
                  fmt::format("exactly one of {} create-only puts wins ({} did)", kRacers, wins));
  if (wins == 1) {
    EXPECT_EQ(*s.download_bytes(env.bucket(), "race"), winner);
  }
}

CONFORMANCE_CASE(PutIfMatch, {kPutIfMatchIgnored}) {
  ObjectStore& s = env.store();
  auto v1 = s.Put(env.bucket(), "m", PutBody::FromString("v1"));
  ASSERT_TRUE(v1);
  auto v2 = s.Put(env.bucket(), "m", PutBody::FromString("v2"), {.if_match = v1->etag});
  EXPECT_CONFORMS(env, kPutIfMatchIgnored, v2.has_value(), "If-Match with the current ETag replaces");
  auto stale = s.Put(env.bucket(), "m", PutBody::FromString("v3"), {.if_match = v1->etag});
  EXPECT_CONFORMS(env, kPutIfMatchIgnored,
                  IsCode(stale, ErrorCode::kFailedPrecondition, "PreconditionFailed"),
                  "If-Match with a stale ETag is 412 PreconditionFailed");
  EXPECT_CONFORMS(env, kPutIfMatchIgnored, *s.download_bytes(env.bucket(), "m") == "v2",
                  "a failed If-Match put leaves the object as it was");
  auto missing = s.Put(env.bucket(), "never-was", PutBody::FromString("x"), {.if_match = v1->etag});
  EXPECT_CONFORMS(env, kPutIfMatchIgnored, IsCode(missing, ErrorCode::kNotFound, "NoSuchKey"),
                  "If-Match on a missing key is NoSuchKey");
  EXPECT_CONFORMS(env, kPutIfMatchIgnored, !*s.Exists(env.bucket(), "never-was"),
                  "and creates nothing");
}

// ----- bodies ------------------------------------------------------------------------------------

// The ETag of a large object: its MD5, or — from a store that uploads it in parts (S3Store above
// its multipart_threshold) — S3's multipart ETag "<32 hex>-<parts>".
::testing::AssertionResult IsEtagOfLargeObject(const std::string& etag, const std::string& md5) {
  if (etag == md5) return ::testing::AssertionSuccess();
  const size_t dash = etag.find('-');
  if (dash == 32 && etag.size() > 33 && etag.find_first_not_of("0123456789", 33) == std::string::npos) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "etag " << etag << " is neither the MD5 " << md5 << " nor a multipart ETag";
}

CONFORMANCE_CASE(LargeObjectThroughFilesAndStreams, {kLargePutRefused}) {
  ObjectStore& s = env.store();
  const std::string data = RandomBytes(24 << 20, 6);
  const std::string md5 = Md5Hex(data);
  const std::string in = env.local_dir() + "/in.bin";
  WriteFile(in, data);
  auto put = s.Put(env.bucket(), "large/file", PutBody::FromFile(in));
  EXPECT_CONFORMS(env, kLargePutRefused, put.has_value(),
                  fmt::format("a 24 MiB put: {}", put ? "stored" : put.error().ToString()));
  if (!put && env.Deviates(kLargePutRefused)) return;  // reported above; nothing to read back
  ASSERT_TRUE(put) << put.error();
  EXPECT_EQ(put->size, data.size());
  EXPECT_TRUE(IsEtagOfLargeObject(put->etag, md5));
  const std::string out = env.local_dir() + "/out.bin";
  auto got = s.Get(env.bucket(), "large/file", {.target = GetTarget::ToFile(out)});
  ASSERT_TRUE(got) << got.error();
  EXPECT_EQ(fs::file_size(out), data.size());
  EXPECT_TRUE(ReadFile(out) == data);
  // A stream with its size, rewindable, read in uneven pieces.
  size_t pos = 0;
  auto read = [&](char* buf, size_t cap) -> Result<size_t> {
    const size_t n = std::min({cap, data.size() - pos, size_t{77777}});
    std::copy_n(data.data() + pos, n, buf);
    pos += n;
    return n;
  };
  auto rewind = [&]() -> Status {
    pos = 0;
    return OkStatus();
  };
  auto streamed = s.Put(env.bucket(), "large/stream", PutBody::FromStream(read, data.size(), rewind));
  ASSERT_TRUE(streamed) << streamed.error();
  EXPECT_TRUE(IsEtagOfLargeObject(streamed->etag, md5));
  std::string back;
  auto read_back = s.Get(env.bucket(), "large/stream", {.target = GetTarget::ToStream([&](std::string_view c) {
                                                          back.append(c);
                                                          return OkStatus();
                                                        })});
  ASSERT_TRUE(read_back) << read_back.error();
  EXPECT_EQ(back.size(), data.size());
  EXPECT_TRUE(back == data);
  EXPECT_EQ(s.Stat(env.bucket(), "large/stream")->etag, streamed->etag);
}

CONFORMANCE_CASE(AStreamShorterThanItsSizeWritesNothing, {kTruncatedPutStored}) {
  ObjectStore& s = env.store();
  ASSERT_TRUE(s.Put(env.bucket(), "short", PutBody::FromString("old")));
  bool sent = false;
  auto put = s.Put(env.bucket(), "short",
                   PutBody::FromStream(
                       [&](char* buf, size_t) -> Result<size_t> {
                         if (sent) return 0;
                         sent = true;
                         std::copy_n("12345", 5, buf);
                         return 5;
                       },
                       10));
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code(), ErrorCode::kInvalidArgument) << put.error();
  auto back = s.download_bytes(env.bucket(), "short");
  EXPECT_CONFORMS(env, kTruncatedPutStored, back && *back == "old",
                  fmt::format("the old object is untouched: {}", back ? "'" + *back + "'" : back.error().ToString()));
}

CONFORMANCE_CASE(AFailingReadLeavesTheOldObject, {}) {
  ObjectStore& s = env.store();
  ASSERT_TRUE(s.Put(env.bucket(), "k", PutBody::FromString("old")));
  int calls = 0;
  auto put = s.Put(env.bucket(), "k", PutBody::FromStream([&](char* buf, size_t cap) -> Result<size_t> {
                     if (++calls > 3) return Error::DataLoss("the source disk failed");
                     std::fill_n(buf, std::min<size_t>(cap, 1000), 'x');
                     return std::min<size_t>(cap, 1000);
                   }));
  ASSERT_FALSE(put);
  EXPECT_NE(put.error().message().find("the source disk failed"), std::string::npos) << put.error();
  EXPECT_EQ(*s.download_bytes(env.bucket(), "k"), "old");
  auto missing_file = s.Put(env.bucket(), "k", PutBody::FromFile(env.local_dir() + "/absent"));
  EXPECT_TRUE(IsCode(missing_file, ErrorCode::kNotFound)) << missing_file.error();
  EXPECT_EQ(*s.download_bytes(env.bucket(), "k"), "old");
}

// ----- listing -----------------------------------------------------------------------------------

CONFORMANCE_CASE(ListOrderPrefixDelimiterStartAfterAndPages, {kListPagesWrong, kKeyShapesWrong}) {
  ObjectStore& s = env.store();
  const std::vector<std::string> keys = {
      "a", "a/", "a/b", "a/b/c", "a/c", "a//x", "a-b", "a0", "a%2Fb", "ab", "b", "b/", "c/d/e",
      "Z", "\xc3\xa9", "\xc3\xbc/x", "a b", "~", "!x", "a.b", ".hidden", "..", "a/./b", "a/../b",
      "d-1", "d-2-x", "d/e-f"};
  PutKeyShapes(env, keys);
  const std::vector<ListOptions> cases = {
      {}, {.prefix = "a"}, {.prefix = "a/"}, {.delimiter = "/"}, {.prefix = "a", .delimiter = "/"},
      {.prefix = "a/", .delimiter = "/"}, {.delimiter = "/", .start_after = "a/b"},
      {.start_after = "a0"}, {.prefix = "a/", .start_after = "a/b"}, {.delimiter = "-"},
      {.prefix = "d", .delimiter = "-"}, {.prefix = "c/", .delimiter = "/"}, {.prefix = "zzz"},
      {.start_after = "~~"}, {.prefix = "a/", .delimiter = "/", .start_after = "a/a"}};
  for (const ListOptions& base : cases) {
    const auto want = Model(keys, base);
    for (int page_size : {1, 2, 3, 1000}) {
      ListOptions o = base;
      o.page_size = page_size;
      int pages = 0;
      const std::vector<std::string> got = Walk(s, env.bucket(), o, &pages, &env);
      EXPECT_CONFORMS(env, kListPagesWrong,
                      got == want && (page_size != 1 || want.empty() || pages == static_cast<int>(want.size())),
                      fmt::format("prefix '{}' delimiter '{}' start_after '{}' page_size {}: listed '{}'",
                                  o.prefix, o.delimiter, o.start_after, page_size, fmt::join(got, "', '")));
    }
  }
  // One page, its fields.
  auto page = s.List(env.bucket(), {.prefix = "a/", .delimiter = "/", .page_size = 2});
  ASSERT_TRUE(page) << page.error();
  EXPECT_CONFORMS(env, kListPagesWrong, page->objects.size() + page->common_prefixes.size() == 2u,
                  fmt::format("a page of page_size 2 holds 2 entries, not {}",
                              page->objects.size() + page->common_prefixes.size()));
  EXPECT_TRUE(page->truncated());
  auto page2 = s.List(env.bucket(), {.prefix = "a/", .delimiter = "/", .page_size = 2,
                                     .continuation_token = page->next_continuation_token});
  ASSERT_TRUE(page2) << page2.error();
  for (const auto& o : page2->objects) EXPECT_TRUE(o.key.starts_with("a/"));
  EXPECT_CONFORMS(env, kListPagesWrong,
                  IsCode(s.List(env.bucket(), {.continuation_token = "not a token"}), ErrorCode::kInvalidArgument),
                  "a malformed continuation token is InvalidArgument");
}

CONFORMANCE_CASE(ListsOver1000KeysThroughContinuationTokens, {}) {
  ObjectStore& s = env.store();
  std::vector<std::string> keys;
  for (int i = 0; i < 1003; ++i) keys.push_back(fmt::format("many/{:05}", i));
  keys.push_back("many/sub/x");
  keys.push_back("other");
  PutKeys(s, env.bucket(), keys);
  std::vector<std::string> want(keys.begin(), keys.end() - 1);
  std::sort(want.begin(), want.end());
  int pages = 0;
  EXPECT_EQ(Walk(s, env.bucket(), {.prefix = "many/"}, &pages), want);
  EXPECT_EQ(pages, 2) << "1,004 keys in pages of 1,000";
  EXPECT_EQ(Walk(s, env.bucket(), {.prefix = "many/", .page_size = 100}, &pages), want);
  EXPECT_EQ(pages, 11);
  auto first = s.List(env.bucket(), {.prefix = "many/"});
  ASSERT_TRUE(first) << first.error();
  EXPECT_EQ(first->objects.size(), 1000u);
  EXPECT_TRUE(first->truncated());
  std::vector<std::string> rolled = Walk(s, env.bucket(), {.delimiter = "/"});
  EXPECT_EQ(rolled, (std::vector<std::string>{"P:many/", "other"}));
  std::vector<std::string> nested = Walk(s, env.bucket(), {.prefix = "many/", .delimiter = "/", .page_size = 500});
  ASSERT_EQ(nested.size(), 1004u);
  EXPECT_EQ(nested.back(), "P:many/sub/");
  // The seed's list_objects follows the pages up to max_keys.
  auto listed = s.list_objects(env.bucket(), "many/", 5000);
  ASSERT_TRUE(listed) << listed.error();
  EXPECT_EQ(listed->size(), 1004u);
  auto capped = s.list_objects(env.bucket(), "many/", 1001);
  ASSERT_TRUE(capped);
  EXPECT_EQ(capped->size(), 1001u);
  EXPECT_EQ(capped->back().key, "many/01000");
  // The asynchronous lister, page by page from the store's threads.
  Lister lister = s.ListPages(env.bucket(), {.prefix = "many/", .page_size = 400});
  std::promise<size_t> total;
  size_t seen = 0;
  std::function<void(Result<ListPage>)> next = [&](Result<ListPage> page) {
    if (!page) return total.set_value(0);
    seen += page->objects.size();
    if (lister.done()) return total.set_value(seen);
    if (auto st = lister.NextPageAsync(next); !st) total.set_value(0);
  };
  ASSERT_TRUE(lister.NextPageAsync(next));
  EXPECT_EQ(total.get_future().get(), 1004u);
}

// ----- delete, copy ------------------------------------------------------------------------------

CONFORMANCE_CASE(DeleteAMissingKeySucceeds, {}) {
  ObjectStore& s = env.store();
  ASSERT_TRUE(s.Put(env.bucket(), "d/x", PutBody::FromString("x")));
  ASSERT_TRUE(s.Put(env.bucket(), "d", PutBody::FromString("d")));
  EXPECT_TRUE(s.Delete(env.bucket(), "d/x"));
  EXPECT_FALSE(*s.Exists(env.bucket(), "d/x"));
  EXPECT_TRUE(*s.Exists(env.bucket(), "d")) << "deleting d/x leaves d";
  EXPECT_TRUE(s.Delete(env.bucket(), "d/x")) << "deleting it again succeeds";
  EXPECT_TRUE(s.Delete(env.bucket(), "never/was/here"));
  EXPECT_EQ(Walk(s, env.bucket(), {.delimiter = "/"}), (std::vector<std::string>{"d"}))
      << "no common prefix is left by a deleted key";
}

CONFORMANCE_CASE(DeleteManyReportsEveryKey, {}) {
  ObjectStore& s = env.store();
  std::vector<std::string> present;
  for (int i = 0; i < 1005; ++i) present.push_back(fmt::format("batch/{:04}", i));
  PutKeys(s, env.bucket(), present);
  std::vector<std::string> request = present;
  request.insert(request.begin() + 500, "batch/missing-1");
  request.push_back("batch/missing-2");
  auto results = s.DeleteMany(env.bucket(), request);
  ASSERT_TRUE(results) << results.error();
  ASSERT_EQ(results->size(), request.size());
  for (size_t i = 0; i < request.size(); ++i) {
    EXPECT_EQ((*results)[i].key, request[i]) << "in input order";
    EXPECT_TRUE((*results)[i].status) << request[i] << ": " << (*results)[i].status.error();
  }
  EXPECT_TRUE(Walk(s, env.bucket(), {.prefix = "batch/"}).empty());
  auto none = s.DeleteMany(env.bucket(), {});
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  EXPECT_TRUE(IsCode(s.DeleteMany(DerivedBucket(env.bucket(), "missing"), {"k"}),
                     ErrorCode::kNotFound, "NoSuchBucket"));
  EXPECT_TRUE(IsCode(s.DeleteMany(env.bucket(), {"ok", ""}), ErrorCode::kInvalidArgument));
}

CONFORMANCE_CASE(CopyKeepsOrReplacesMetadata, {kCopySourceIfMatchIgnored, kCopyReplaceKeepsContentType}) {
  ObjectStore& s = env.store();
  auto src = s.Put(env.bucket(), "src", PutBody::FromString("payload"),
                   {.content_type = "text/plain", .metadata = {{"origin", "a"}}});
  ASSERT_TRUE(src);
  auto copied = s.Copy({env.bucket(), "src"}, {env.bucket(), "copy/kept"});
  ASSERT_TRUE(copied) << copied.error();
  EXPECT_EQ(copied->key, "copy/kept");
  EXPECT_EQ(copied->etag, src->etag);
  auto kept = s.Stat(env.bucket(), "copy/kept");
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->content_type, "text/plain");
  EXPECT_EQ(kept->metadata, (Metadata{{"origin", "a"}}));
  EXPECT_EQ(*s.download_bytes(env.bucket(), "copy/kept"), "payload");

  auto replaced = s.Copy({env.bucket(), "src"}, {env.bucket(), "copy/replaced"},
                         {.replace_metadata = true, .content_type = "application/x-new",
                          .metadata = {{"Origin", "b"}, {"extra", "1"}}});
  ASSERT_TRUE(replaced) << replaced.error();
  auto info = s.Stat(env.bucket(), "copy/replaced");
  ASSERT_TRUE(info);
  EXPECT_CONFORMS(env, kCopyReplaceKeepsContentType, info->content_type == "application/x-new",
                  fmt::format("the copy's content type is the new one, not '{}'", info->content_type));
  EXPECT_EQ(info->metadata, (Metadata{{"origin", "b"}, {"extra", "1"}}));
  EXPECT_EQ(info->etag, src->etag);

  // Onto itself: only with new metadata (as S3).
  EXPECT_TRUE(IsCode(s.Copy({env.bucket(), "src"}, {env.bucket(), "src"}), ErrorCode::kInvalidArgument,
                     "InvalidRequest"));
  ASSERT_TRUE(s.Copy({env.bucket(), "src"}, {env.bucket(), "src"},
                     {.replace_metadata = true, .metadata = {{"touched", "yes"}}}));
  EXPECT_EQ(s.Stat(env.bucket(), "src")->metadata, (Metadata{{"touched", "yes"}}));
  EXPECT_EQ(*s.download_bytes(env.bucket(), "src"), "payload");

  EXPECT_TRUE(IsCode(s.Copy({env.bucket(), "absent"}, {env.bucket(), "x"}), ErrorCode::kNotFound, "NoSuchKey"));
  auto stale = s.Copy({env.bucket(), "src"}, {env.bucket(), "copy/guarded"},
                      {.source_if_match = Md5Hex("something else")});
  EXPECT_CONFORMS(env, kCopySourceIfMatchIgnored,
                  IsCode(stale, ErrorCode::kFailedPrecondition, "PreconditionFailed"),
                  "a copy whose source ETag does not match is 412");
  EXPECT_TRUE(s.Copy({env.bucket(), "src"}, {env.bucket(), "copy/guarded"},
                     {.source_if_match = src->etag}));

  // Into another bucket.
  ExtraBucket other(s, DerivedBucket(env.bucket(), "copy"));
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(s.Copy({env.bucket(), "copy/kept"}, {other.name(), "there"}));
  EXPECT_EQ(*s.download_bytes(other.name(), "there"), "payload");
  EXPECT_EQ(s.Stat(other.name(), "there")->content_type, "text/plain");
}

// ----- buckets -----------------------------------------------------------------------------------

CONFORMANCE_CASE(BucketLifecycle, {kCreateExistingBucketSucceeds}) {
  ObjectStore& s = env.store();
  const std::string name = DerivedBucket(env.bucket(), "life");
  ASSERT_TRUE(s.CreateBucket(name));
  auto buckets = s.ListBuckets();
  ASSERT_TRUE(buckets) << buckets.error();
  const auto has = [&](const std::vector<BucketInfo>& list, const std::string& n) {
    return std::any_of(list.begin(), list.end(), [&](const BucketInfo& b) { return b.name == n; });
  };
  EXPECT_TRUE(has(*buckets, name));
  EXPECT_TRUE(has(*buckets, env.bucket()));
  EXPECT_TRUE(std::is_sorted(buckets->begin(), buckets->end(),
                             [](const BucketInfo& a, const BucketInfo& b) { return a.name < b.name; }));
  auto again = s.CreateBucket(name);
  EXPECT_CONFORMS(env, kCreateExistingBucketSucceeds, IsCode(again, ErrorCode::kAlreadyExists),
                  "creating a bucket that exists is AlreadyExists");
  ASSERT_TRUE(s.Put(name, "keep/me", PutBody::FromString("x")));
  EXPECT_TRUE(IsCode(s.DeleteBucket(name), ErrorCode::kFailedPrecondition, "BucketNotEmpty"));
  EXPECT_TRUE(*s.Exists(name, "keep/me")) << "a refused delete removes nothing";
  ASSERT_TRUE(s.Delete(name, "keep/me"));
  EXPECT_TRUE(s.DeleteBucket(name));
  buckets = s.ListBuckets();
  ASSERT_TRUE(buckets);
  EXPECT_FALSE(has(*buckets, name));
  EXPECT_TRUE(IsCode(s.DeleteBucket(name), ErrorCode::kNotFound, "NoSuchBucket"));
  EXPECT_TRUE(IsCode(s.Put(name, "k", PutBody()), ErrorCode::kNotFound, "NoSuchBucket"));
}

// ----- threads and lifetime ----------------------------------------------------------------------

CONFORMANCE_CASE(CallbacksRunOnTheStoresThreads, {}) {
  ObjectStore& s = env.store();
  ASSERT_TRUE(s.Put(env.bucket(), "k", PutBody::FromString("v")));
  EXPECT_FALSE(s.IsCallbackThread());
  std::promise<void> done;
  std::thread::id callback_thread;
  bool on_store_thread = false;
  Status blocking_inside = OkStatus();
  std::promise<Result<ObjectInfo>> chained;
  ASSERT_TRUE(s.StatAsync(env.bucket(), "k", [&](Result<ObjectInfo> r) {
    EXPECT_TRUE(r);
    callback_thread = std::this_thread::get_id();
    on_store_thread = s.IsCallbackThread();
    blocking_inside = s.Stat(env.bucket(), "k").map([](const ObjectInfo&) {});
    // Starting more work from a callback is fine.
    auto st = s.StatAsync(env.bucket(), "k", [&](Result<ObjectInfo> r2) { chained.set_value(std::move(r2)); });
    if (!st) chained.set_value(st.error());
    done.set_value();
  }));
  done.get_future().get();
  EXPECT_NE(callback_thread, std::this_thread::get_id());
  EXPECT_TRUE(on_store_thread);
  EXPECT_TRUE(IsCode(blocking_inside, ErrorCode::kFailedPrecondition))
      << "a blocking call on a callback thread refuses instead of deadlocking";
  auto second = chained.get_future().get();
  EXPECT_TRUE(second) << second.error();
}

CONFORMANCE_CASE(DestructionCompletesEveryOperation, {}) {
  ObjectStore& s = env.store();
  ASSERT_TRUE(s.Put(env.bucket(), "seed", PutBody::FromString(RandomBytes(4096, 7))));
  constexpr int kOps = 200;
  std::atomic<int> completed{0}, ok{0}, cancelled{0}, other{0};
  int started = 0;
  for (int i = 0; i < kOps; ++i) {
    auto count = [&](auto r) {
      if (r) {
        ++ok;
      } else if (r.error().code() == ErrorCode::kCancelled) {
        ++cancelled;
      } else {
        ++other;
      }
      ++completed;
    };
    const Status st = i % 2 == 0
                          ? s.PutAsync(env.bucket(), fmt::format("d/{}", i), PutBody::FromString("x"), {},
                                       [count](Result<ObjectInfo> r) { count(std::move(r)); })
                          : s.GetAsync(env.bucket(), "seed", {},
                                       [count](Result<GetResult> r) { count(std::move(r)); });
    if (st) ++started;
  }
  env.DestroyStore();
  EXPECT_EQ(completed.load(), started) << "every callback ran before the destructor returned";
  EXPECT_EQ(other.load(), 0) << "each operation succeeded or was cancelled";
  EXPECT_EQ(ok.load() + cancelled.load(), started);
}

// ----- the seed's names --------------------------------------------------------------------------

CONFORMANCE_CASE(SeedConveniences, {}) {
  ObjectStore& s = env.store();
  auto uri = s.upload_bytes("artifact", env.bucket(), "kernels/k1.bin", "application/x-kernel",
                            {{"Arch", "sm90"}});
  ASSERT_TRUE(uri) << uri.error();
  EXPECT_EQ(*uri, fmt::format("s3://{}/kernels/k1.bin", env.bucket()));
  EXPECT_EQ(*s.download_bytes(env.bucket(), "kernels/k1.bin"), "artifact");
  EXPECT_EQ(s.Stat(env.bucket(), "kernels/k1.bin")->metadata, (Metadata{{"arch", "sm90"}}));
  EXPECT_TRUE(*s.object_exists(env.bucket(), "kernels/k1.bin"));
  EXPECT_FALSE(*s.object_exists(env.bucket(), "kernels/k2.bin"));
  auto listed = s.list_objects(env.bucket(), "kernels/");
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].key, "kernels/k1.bin");
  EXPECT_EQ((*listed)[0].size, 8u);
  EXPECT_TRUE(IsCode(s.download_bytes(env.bucket(), "kernels/k2.bin"), ErrorCode::kNotFound, "NoSuchKey"));
}

}  // namespace esper::storage::testing
