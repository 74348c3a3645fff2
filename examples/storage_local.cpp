// An embedded object store on a directory: the ObjectStore interface a service codes against,
// here served by LocalStore — the same calls work unchanged on S3Store.
//
//   $ ./bin/example_storage_local [ROOT]          # default: a fresh directory under /tmp
//   put checkpoints/run-7/epoch-40.pt: 1048576 bytes, etag 5b3f…, metadata {epoch: 40}
//   last 16 bytes: bytes [1048560, 1048576) of 1048576
//   create-only again: AlreadyExists: put checkpoints/run-7/epoch-40.pt: … [PreconditionFailed]
//   ls checkpoints/ (delimiter /): run-7/ run-8/
//   run-7/: epoch-40.pt (1048576 bytes), epoch-41.pt (1048576 bytes)
//   3 puts in flight, completed on the store's threads: 3 ok
//   deleted 4 keys; bucket removed
#include <stdlib.h>

#include <fmt/format.h>

#include <filesystem>
#include <future>
#include <string>

#include "esper/storage/lister.h"
#include "esper/storage/local_store.h"

using namespace esper::storage;

int main(int argc, char** argv) {
  std::string root = argc > 1 ? argv[1] : (std::filesystem::temp_directory_path() / "esper-example-XXXXXX").string();
  if (argc <= 1 && ::mkdtemp(root.data()) == nullptr) return 1;
  auto created = LocalStore::Create({.root = root, .create_root = true});
  if (!created) {
    fmt::print(stderr, "{}\n", created.error());
    return 1;
  }
  ObjectStore& store = **created;  // from here on, only the interface
  const std::string bucket = "checkpoints";
  if (auto st = store.CreateBucket(bucket); !st && st.error().code() != esper::ErrorCode::kAlreadyExists) {
    fmt::print(stderr, "{}\n", st.error());
    return 1;
  }

  // Blocking put with a content type and metadata; the ETag is the MD5 of the bytes.
  const std::string weights(1 << 20, '\x2a');
  auto put = store.Put(bucket, "run-7/epoch-40.pt", PutBody::FromString(weights),
                       {.content_type = "application/octet-stream", .metadata = {{"Epoch", "40"}}});
  if (!put) {
    fmt::print(stderr, "{}\n", put.error());
    return 1;
  }
  fmt::print("put {}/{}: {} bytes, etag {}, metadata {{epoch: {}}}\n", bucket, put->key, put->size,
             put->etag, put->metadata.at("epoch"));

  // A suffix range, pinned to the version we just wrote.
  auto tail = store.Get(bucket, "run-7/epoch-40.pt", {.range = ByteRange::Last(16), .if_match = put->etag});
  if (tail) {
    fmt::print("last 16 bytes: bytes [{}, {}) of {}\n", tail->offset, tail->offset + tail->length,
               tail->info.size);
  }

  // Create-only: the second writer learns the key is taken.
  auto again = store.Put(bucket, "run-7/epoch-40.pt", PutBody::FromString("x"), {.create_only = true});
  if (!again) fmt::print("create-only again: {}\n", again.error());

  // Asynchronous puts: the callbacks run on the store's threads; futures collect them here.
  std::vector<std::future<esper::Result<ObjectInfo>>> pending;
  for (const char* key : {"run-7/epoch-41.pt", "run-8/epoch-1.pt", "run-8/epoch-2.pt"}) {
    pending.push_back(store.Future(&ObjectStore::PutAsync, bucket, key, PutBody::FromString(weights),
                                   PutOptions{}));
  }
  int ok = 0;
  for (auto& f : pending) ok += f.get().has_value();
  fmt::print("3 puts in flight, completed on the store's threads: {} ok\n", ok);

  // A listing with a delimiter, then one "directory", page by page.
  if (auto page = store.List(bucket, {.delimiter = "/"})) {
    fmt::print("ls {}/ (delimiter /): {}\n", bucket, fmt::join(page->common_prefixes, " "));
  }
  Lister pages = store.ListPages(bucket, {.prefix = "run-7/", .page_size = 1});
  std::vector<std::string> entries;
  while (auto page = pages.NextPage()) {
    if (!*page) break;
    for (const auto& o : (*page)->objects) entries.push_back(fmt::format("{} ({} bytes)", o.key.substr(6), o.size));
  }
  fmt::print("run-7/: {}\n", fmt::join(entries, ", "));

  // Clean up: every key, then the bucket.
  auto keys = store.list_objects(bucket, "", 100000);
  std::vector<std::string> names;
  for (const auto& o : *keys) names.push_back(o.key);
  auto deleted = store.DeleteMany(bucket, names);
  const bool removed = deleted && store.DeleteBucket(bucket);
  fmt::print("deleted {} keys; bucket {}\n", deleted ? deleted->size() : 0, removed ? "removed" : "kept");
  if (argc <= 1) std::filesystem::remove_all(root);
  return removed ? 0 : 1;
}
