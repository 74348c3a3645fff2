// esper/storage/lister.h — every page of a listing, fetched lazily, one page in memory at a time.
//
// ObjectStore::ListPages(bucket, options) returns a Lister; each NextPage() makes one List call
// with the continuation token of the page before, so a million keys pass through a page of at most
// ListOptions::page_size entries (1,000 by default) and never sit in memory together.
//
// Example:
//   esper::storage::Lister pages = store.ListPages("logs", {.prefix = "2024/", .delimiter = "/"});
//   for (;;) {
//     auto page = pages.NextPage();                 // Result<std::optional<ListPage>>
//     if (!page) return page.error();               // this page failed; NextPage() retries it
//     if (!*page) break;                            // there was no page after the last one
//     for (const auto& p : (*page)->common_prefixes) Print(p);
//     for (const auto& o : (*page)->objects) Print(o.key, o.size);
//   }
//
// Threads: one call at a time (a Lister is not shared between threads without a lock). NextPage
// blocks (FailedPrecondition on one of the store's callback threads); NextPageAsync's callback
// runs on the store's thread, and the next call may be made from inside it. The store must
// outlive the Lister.
//
// Errors: those of ObjectStore::List. A failed page leaves the Lister where it was, so the next
// call asks for the same page again.
#pragma once

#include <optional>
#include <string>

#include "esper/core/result.h"
#include "esper/storage/operations.h"

namespace esper::storage {

class ObjectStore;

class Lister {
 public:
  Lister(ObjectStore& store, std::string bucket, ListOptions options);

  /// The next page, or nullopt when the previous page was the last.
  Result<std::optional<ListPage>> NextPage();
  /// The next page, asynchronously: `done` runs on the store's thread (see
  /// ObjectStore::ListAsync). The Lister must stay alive and unused until `done` has run. After
  /// the last page (done()): OutOfRange, and `done` is not called.
  Status NextPageAsync(Callback<ListPage> done);
  /// Whether the last page has been returned.
  bool done() const noexcept { return done_; }

 private:
  void Advance(const ListPage& page);

  ObjectStore* store_;
  std::string bucket_;
  ListOptions options_;
  bool done_ = false;
};

}  // namespace esper::storage
