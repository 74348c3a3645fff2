// Lister: one List call per page, the continuation token carried from page to page.
#include "esper/storage/lister.h"

#include "esper/storage/object_store.h"

namespace esper::storage {

Lister::Lister(ObjectStore& store, std::string bucket, ListOptions options)
    : store_(&store), bucket_(std::move(bucket)), options_(std::move(options)) {}

void Lister::Advance(const ListPage& page) {
  if (page.truncated()) {
    options_.continuation_token = page.next_continuation_token;
  } else {
    done_ = true;
  }
}

Result<std::optional<ListPage>> Lister::NextPage() {
  if (done_) return std::optional<ListPage>();
  ESPER_ASSIGN_OR_RETURN(ListPage page, store_->List(bucket_, options_));
  Advance(page);
  return std::optional<ListPage>(std::move(page));
}

Status Lister::NextPageAsync(Callback<ListPage> done) {
  if (!done) return Error::InvalidArgument("the completion callback is empty");
  if (done_) return Error::OutOfRange("the lister has already returned its last page");
  return store_->ListAsync(bucket_, options_, [this, done = std::move(done)](Result<ListPage> page) {
    if (page) Advance(*page);
    done(std::move(page));
  });
}

}  // namespace esper::storage
