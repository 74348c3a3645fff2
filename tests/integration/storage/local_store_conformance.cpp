// LocalStore joins the conformance suite: a fresh root directory and bucket for every test.
#include <stdlib.h>

#include <filesystem>

#include "esper/storage/local_store.h"
#include "integration/storage/conformance.h"

namespace esper::storage::testing {
namespace {

Result<StoreUnderTest> MakeLocalStore() {
  std::string root =
      (std::filesystem::temp_directory_path() / "esper-localstore-XXXXXX").string();
  if (::mkdtemp(root.data()) == nullptr) return Error::FromErrno(errno, "mkdtemp");
  std::shared_ptr<void> cleanup(nullptr, [root](void*) {
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  });
  ESPER_ASSIGN_OR_RETURN(auto store, LocalStore::Create({.root = root}));
  ESPER_RETURN_IF_ERROR(store->CreateBucket("conformance"));
  return StoreUnderTest{.store = std::move(store), .bucket = "conformance", .resources = cleanup};
}

const bool kRegistered = RegisterStoreFactory({.name = "local", .make = MakeLocalStore});

}  // namespace
}  // namespace esper::storage::testing
