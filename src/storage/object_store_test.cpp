// The base class's own promises, with a minimal store: arguments are validated before a store sees
// them, the blocking and future forms deliver what the callback form delivers, a blocking call on a
// callback thread fails instead of deadlocking, and ClaimBlockingCaller is seen once.
#include "esper/storage/object_store.h"

#include <gtest/gtest.h>

#include <thread>

#include "esper/storage/lister.h"

namespace esper::storage {
namespace {

// Answers Stat with the key's length as size, and List with one page per call until "3"; runs
// every callback on a thread of its own (joined before the callback's result is awaited), unless
// the caller blocks and the store claims it.
class ThreadStore final : public ObjectStore {
 public:
  ~ThreadStore() override {
    for (auto& t : threads_) t.join();
  }
  bool IsCallbackThread() const noexcept override { return on_callback_thread_; }

  int claimed = 0;
  int started = 0;
  std::string last_bucket, last_key;
  PutOptions last_put;

 protected:
  template <class T>
  Status Answer(Callback<T> done, Result<T> r) {
    ++started;
    if (ClaimBlockingCaller()) {
      ++claimed;
      EXPECT_FALSE(ClaimBlockingCaller()) << "read once, then cleared";
      done(std::move(r));
      return OkStatus();
    }
    threads_.emplace_back([done = std::move(done), r = std::move(r)]() mutable {
      on_callback_thread_ = true;
      done(std::move(r));
    });
    return OkStatus();
  }
  Status StartPut(std::string b, std::string k, PutBody, PutOptions o,
                  Callback<ObjectInfo> done) override {
    last_bucket = b, last_key = k, last_put = o;
    return Answer<ObjectInfo>(std::move(done), ObjectInfo{.key = k});
  }
  Status StartGet(std::string, std::string, GetOptions, Callback<GetResult>) override {
    return Error::Unimplemented("get");
  }
  Status StartStat(std::string, std::string key, Callback<ObjectInfo> done) override {
    if (key == "missing") return Answer<ObjectInfo>(std::move(done), Error::NotFound("no"));
    if (key == "denied") return Answer<ObjectInfo>(std::move(done), Error::PermissionDenied("no"));
    return Answer<ObjectInfo>(std::move(done), ObjectInfo{.key = key, .size = key.size()});
  }
  Status StartList(std::string, ListOptions o, Callback<ListPage> done) override {
    int n = o.continuation_token.empty() ? 1 : std::stoi(o.continuation_token) + 1;
    ListPage page{.objects = {ObjectInfo{.key = std::to_string(n)}}};
    if (n < 3) page.next_continuation_token = std::to_string(n);
    return Answer<ListPage>(std::move(done), std::move(page));
  }
  Status StartDelete(std::string, std::string, Callback<void>) override {
    return Error::Unimplemented("delete");
  }
  Status StartDeleteMany(std::string, std::vector<std::string>,
                         Callback<std::vector<DeleteResult>>) override {
    return Error::Unimplemented("delete_many");
  }
  Status StartCopy(ObjectRef, ObjectRef, CopyOptions, Callback<ObjectInfo>) override {
    return Error::Unimplemented("copy");
  }
  Status StartCreateBucket(std::string, Callback<void>) override {
    return Error::Unimplemented("create bucket");
  }
  Status StartDeleteBucket(std::string, Callback<void>) override {
    return Error::Unimplemented("delete bucket");
  }
  Status StartListBuckets(Callback<std::vector<BucketInfo>>) override {
    return Error::Unimplemented("list buckets");
  }

 private:
  static thread_local bool on_callback_thread_;
  std::vector<std::thread> threads_;
};
thread_local bool ThreadStore::on_callback_thread_ = false;

TEST(ObjectStoreBase, InvalidArgumentsNeverReachTheStore) {
  ThreadStore s;
  auto bad_bucket = s.Put("B", "k", PutBody());
  ASSERT_FALSE(bad_bucket);
  EXPECT_EQ(bad_bucket.error().service_code(), "InvalidBucketName");
  EXPECT_FALSE(s.Put("bucket", "", PutBody()));
  EXPECT_FALSE(s.Put("bucket", "k", PutBody(), {.create_only = true, .if_match = "x"}));
  EXPECT_FALSE(s.Put("bucket", "k", PutBody::FromFile("")));
  EXPECT_FALSE(s.Get("bucket", "k", {.range = ByteRange::Span(0, 0)}));
  EXPECT_FALSE(s.List("bucket", {.page_size = 0}));
  EXPECT_FALSE(s.List("bucket", {.page_size = 1001}));
  EXPECT_FALSE(s.DeleteMany("bucket", {"ok", ""}));
  auto self = s.Copy({"bucket", "k"}, {"bucket", "k"});
  ASSERT_FALSE(self);
  EXPECT_EQ(self.error().service_code(), "InvalidRequest");
  EXPECT_FALSE(s.Copy({"bucket", "k"}, {"bucket", "k2"}, {.content_type = "text/plain"}));
  EXPECT_EQ(s.started, 0);
}

TEST(ObjectStoreBase, OptionsReachTheStoreNormalised) {
  ThreadStore s;
  ASSERT_TRUE(s.Put("bucket", "k", PutBody(), {.metadata = {{"Run-Id", "7"}}, .if_match = "\"e\""}));
  EXPECT_EQ(s.last_put.content_type, kDefaultContentType);
  EXPECT_EQ(s.last_put.metadata, (Metadata{{"run-id", "7"}}));
  EXPECT_EQ(s.last_put.if_match, "e");
}

TEST(ObjectStoreBase, BlockingCallersAreClaimableCallbacksAreNot) {
  ThreadStore s;
  ASSERT_TRUE(s.Stat("bucket", "abc"));
  EXPECT_EQ(s.claimed, 1);
  auto fut = s.Future(&ObjectStore::StatAsync, "bucket", "abcd");
  auto info = fut.get();
  ASSERT_TRUE(info) << info.error();
  EXPECT_EQ(info->size, 4u);
  EXPECT_EQ(s.claimed, 1) << "a future's caller is not blocked inside the call";
}

TEST(ObjectStoreBase, ExistsMapsOnlyNotFoundToFalse) {
  ThreadStore s;
  EXPECT_EQ(*s.Exists("bucket", "here"), true);
  EXPECT_EQ(*s.object_exists("bucket", "missing"), false);
  auto denied = s.Exists("bucket", "denied");
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code(), ErrorCode::kPermissionDenied);
}

TEST(ObjectStoreBase, AFailureToStartComesBackThroughTheFuture) {
  ThreadStore s;
  auto r = s.Future(&ObjectStore::DeleteAsync, "bucket", "k").get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kUnimplemented);
}

TEST(ObjectStoreBase, BlockingCallFromACallbackThreadFailsInsteadOfWaiting) {
  ThreadStore s;
  std::promise<Status> inner;
  ASSERT_TRUE(s.StatAsync("bucket", "k", [&](Result<ObjectInfo>) {
    inner.set_value(s.Stat("bucket", "k").map([](const ObjectInfo&) {}));
  }));
  Status st = inner.get_future().get();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kFailedPrecondition);
}

TEST(ObjectStoreBase, ListerFollowsTokensUntilTheLastPage) {
  ThreadStore s;
  Lister pages = s.ListPages("bucket");
  std::vector<std::string> keys;
  while (true) {
    auto page = pages.NextPage();
    ASSERT_TRUE(page) << page.error();
    if (!*page) break;
    keys.push_back((*page)->objects.at(0).key);
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_TRUE(pages.done());
  EXPECT_EQ(pages.NextPageAsync([](Result<ListPage>) {}).error().code(), ErrorCode::kOutOfRange);
  auto listed = s.list_objects("bucket", "", 5000);
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->size(), 3u);
}

}  // namespace
}  // namespace esper::storage
