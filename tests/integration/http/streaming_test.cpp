// Bodies both ways: memory, file and stream, multi-MB, byte-exact; retries with each kind.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "testing/http_server.h"
#include "esper/http/client.h"

namespace esper::http {
namespace {

using namespace std::chrono_literals;
using testing::HttpTestServer;
using testing::Reply;
using testing::ServerRequest;

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xFF);
  return s;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/esper_http_test_XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string File(const std::string& name) const { return path + "/" + name; }
  std::string path;
};

std::unique_ptr<Client> MakeClient(ClientOptions o = {}) {
  o.retry.base_delay = 1ms;
  o.retry.max_delay = 2ms;
  auto c = Client::Create(std::move(o));
  EXPECT_TRUE(c) << c.error();
  return c ? std::move(*c) : nullptr;
}

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr size_t kBig = size_t{3} << 20;
#else
constexpr size_t kBig = size_t{12} << 20;
#endif

// Stores the last uploaded body; serves `download` on GET.
struct Store {
  std::mutex mu;
  std::string uploaded;
  std::string te;
  std::string content_length;
  std::string download;
  HttpTestServer server{[this](const ServerRequest& r) {
    std::lock_guard lock(mu);
    if (r.method == "PUT" || r.method == "POST") {
      uploaded = r.body;
      te = r.Header("Transfer-Encoding");
      content_length = r.Header("Content-Length");
      return Reply{.status = 201, .body = std::to_string(r.body.size())};
    }
    return Reply{.body = download, .chunked = r.path == "/chunked"};
  }};
};

TEST(HttpStreaming, UploadFromStreamChunkedByteExact) {
  Store store;
  ASSERT_TRUE(store.server.Start());
  auto client = MakeClient();
  const std::string data = RandomBytes(kBig, 1);
  size_t off = 0;
  auto body = Body::FromStream([&](char* buf, size_t cap) -> Result<size_t> {
    size_t n = std::min(cap, data.size() - off);
    std::memcpy(buf, data.data() + off, n);
    off += n;
    return n;
  });
  auto r = client->Put(store.server.Url("/obj"), std::move(body), "application/octet-stream");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->status, 201);
  std::lock_guard lock(store.mu);
  EXPECT_EQ(store.te, "chunked");
  size_t diff = 0;
  while (diff < std::min(store.uploaded.size(), data.size()) && store.uploaded[diff] == data[diff]) ++diff;
  EXPECT_TRUE(store.uploaded == data) << "upload differs: got " << store.uploaded.size() << " bytes, first difference at " << diff
      << " near: " << store.uploaded.substr(diff > 8 ? diff - 8 : 0, 40);
  EXPECT_EQ(r->bytes_sent, data.size());
}

TEST(HttpStreaming, UploadFromStreamWithSizeAndFromFile) {
  Store store;
  ASSERT_TRUE(store.server.Start());
  TempDir dir;
  const std::string data = RandomBytes(kBig / 2 + 17, 2);
  {
    std::ofstream(dir.File("up.bin"), std::ios::binary) << data;
  }
  auto client = MakeClient();
  auto r = client->Put(store.server.Url("/f"), Body::FromFile(dir.File("up.bin")));
  ASSERT_TRUE(r) << r.error();
  {
    std::lock_guard lock(store.mu);
    EXPECT_EQ(store.content_length, std::to_string(data.size()));
    EXPECT_TRUE(store.uploaded == data);
  }
  size_t off = 0;
  auto sized = Body::FromStream(
      [&](char* buf, size_t cap) -> Result<size_t> {
        size_t n = std::min(cap, data.size() - off);
        std::memcpy(buf, data.data() + off, n);
        off += n;
        return n;
      },
      data.size());
  auto r2 = client->Post(store.server.Url("/s"), std::move(sized));
  ASSERT_TRUE(r2) << r2.error();
  std::lock_guard lock(store.mu);
  EXPECT_EQ(store.content_length, std::to_string(data.size()));
  EXPECT_TRUE(store.uploaded == data);
}

TEST(HttpStreaming, BadBodiesFailClearly) {
  Store store;
  ASSERT_TRUE(store.server.Start());
  auto client = MakeClient();
  auto missing = client->Put(store.server.Url("/f"), Body::FromFile("/nonexistent/file.bin"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message().find("/nonexistent/file.bin"), std::string::npos);

  auto failing = Body::FromStream([](char*, size_t) -> Result<size_t> {
    return Error::DataLoss("disk on fire");
  });
  auto r = client->Put(store.server.Url("/f"), std::move(failing));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kDataLoss);
  EXPECT_NE(r.error().message().find("disk on fire"), std::string::npos);

  int calls = 0;
  auto short_body = Body::FromStream(
      [&](char* buf, size_t) -> Result<size_t> {
        if (calls++) return size_t{0};
        buf[0] = 'x';
        return size_t{1};
      },
      10);
  auto r2 = client->Put(store.server.Url("/f"), std::move(short_body));
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r2.error().message().find("declared"), std::string::npos) << r2.error();
}

TEST(HttpStreaming, DownloadToFileAndStreamByteExact) {
  Store store;
  store.download = RandomBytes(kBig, 3);
  ASSERT_TRUE(store.server.Start());
  TempDir dir;
  auto client = MakeClient();
  for (std::string path : {"/plain", "/chunked"}) {
    Request to_file = Request::Get(store.server.Url(path));
    to_file.sink = Sink::ToFile(dir.File("down.bin"));
    auto r = client->Send(std::move(to_file));
    ASSERT_TRUE(r) << r.error();
    EXPECT_TRUE(r->body.empty());
    EXPECT_EQ(r->bytes_received, store.download.size());
    EXPECT_TRUE(ReadFile(dir.File("down.bin")) == store.download) << path;

    std::string got;
    size_t chunks = 0;
    Request to_stream = Request::Get(store.server.Url(path));
    to_stream.sink = Sink::ToStream([&](std::string_view chunk) {
      got.append(chunk);
      ++chunks;
      return OkStatus();
    });
    auto r2 = client->Send(std::move(to_stream));
    ASSERT_TRUE(r2) << r2.error();
    EXPECT_TRUE(got == store.download) << path;
    EXPECT_GT(chunks, 1u);  // it streamed
  }
}

TEST(HttpStreaming, SinkErrorAbortsTheTransfer) {
  Store store;
  store.download = std::string(1 << 20, 'a');
  ASSERT_TRUE(store.server.Start());
  auto client = MakeClient();
  Request r = Request::Get(store.server.Url("/x"));
  r.sink = Sink::ToStream([](std::string_view) -> Status { return Error::ResourceExhausted("consumer full"); });
  auto resp = client->Send(std::move(r));
  ASSERT_FALSE(resp);
  EXPECT_EQ(resp.error().code(), ErrorCode::kResourceExhausted);
  EXPECT_NE(resp.error().message().find("consumer full"), std::string::npos);
  EXPECT_EQ(store.server.requests(), 1u);

  Request bad_file = Request::Get(store.server.Url("/x"));
  bad_file.sink = Sink::ToFile("/nonexistent-dir/out.bin");
  auto r2 = client->Send(std::move(bad_file));
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().code(), ErrorCode::kNotFound);
}

TEST(HttpStreaming, FileSinkRetryStartsTheFileOver) {
  const std::string body = RandomBytes(300000, 4);
  std::atomic<int> seen{0};
  HttpTestServer server([&](const ServerRequest&) {
    Reply r{.body = body};
    if (seen.fetch_add(1) == 0) r.action = Reply::Action::kTruncate;
    return r;
  });
  ASSERT_TRUE(server.Start());
  TempDir dir;
  auto client = MakeClient();
  Request req = Request::Get(server.Url("/x"));
  req.sink = Sink::ToFile(dir.File("retry.bin"));
  auto r = client->Send(std::move(req));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->attempts, 2);
  EXPECT_TRUE(ReadFile(dir.File("retry.bin")) == body);
}

TEST(HttpStreaming, StreamSinkIsNotRetriedAfterDeliveringBytes) {
  std::atomic<int> seen{0};
  HttpTestServer server([&](const ServerRequest&) {
    seen.fetch_add(1);
    return Reply{.body = std::string(300000, 'b'), .action = Reply::Action::kTruncate};
  });
  ASSERT_TRUE(server.Start());
  auto client = MakeClient();
  size_t got = 0;
  Request req = Request::Get(server.Url("/x"));
  req.sink = Sink::ToStream([&](std::string_view c) {
    got += c.size();
    return OkStatus();
  });
  auto r = client->Send(std::move(req));
  ASSERT_FALSE(r);
  EXPECT_EQ(seen.load(), 1);
  EXPECT_GT(got, 0u);
  EXPECT_NE(r.error().message().find("stream sink"), std::string::npos) << r.error();
}

TEST(HttpStreaming, StreamSinkWithARewindIsRetriedFromTheStart) {
  const std::string body = RandomBytes(300000, 6);
  std::atomic<int> seen{0};
  HttpTestServer server([&](const ServerRequest&) {
    Reply r{.body = body};
    if (seen.fetch_add(1) == 0) r.action = Reply::Action::kTruncate;  // the first attempt breaks mid-body
    return r;
  });
  ASSERT_TRUE(server.Start());
  auto client = MakeClient();
  std::string got;
  int rewinds = 0;
  size_t delivered_before_rewind = 0;
  Request req = Request::Get(server.Url("/x"));
  req.sink = Sink::ToStream(
      [&](std::string_view c) {
        got.append(c);
        return OkStatus();
      },
      [&]() -> Status {
        ++rewinds;
        delivered_before_rewind = got.size();
        got.clear();
        return OkStatus();
      });
  auto r = client->Send(std::move(req));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->attempts, 2);
  EXPECT_EQ(rewinds, 1) << "rewound once, before the attempt after the one that delivered bytes";
  EXPECT_GT(delivered_before_rewind, 0u);
  EXPECT_LT(delivered_before_rewind, body.size());
  EXPECT_TRUE(got == body) << "the receiver holds the whole body once";

  // A rewind that fails ends the request with its error.
  seen = 0;
  Request failing = Request::Get(server.Url("/x"));
  failing.sink = Sink::ToStream([](std::string_view) { return OkStatus(); },
                                []() -> Status { return Error::DataLoss("cannot start over"); });
  auto f = client->Send(std::move(failing));
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code(), ErrorCode::kDataLoss) << f.error();
  EXPECT_NE(f.error().message().find("cannot start over"), std::string::npos) << f.error();
}

TEST(HttpStreaming, ASharedBodyIsSentByManyRequestsWithoutACopy) {
  Store store;
  ASSERT_TRUE(store.server.Start());
  auto client = MakeClient();
  auto data = std::make_shared<const std::string>(RandomBytes(100000, 7));
  for (int i = 0; i < 3; ++i) {
    auto r = client->Put(store.server.Url("/x"), Body::FromShared(data));
    ASSERT_TRUE(r) << r.error();
    std::lock_guard lock(store.mu);
    EXPECT_TRUE(store.uploaded == *data);
  }
  EXPECT_EQ(data.use_count(), 1) << "the client kept no reference";
  auto empty = client->Put(store.server.Url("/x"), Body::FromShared(nullptr));
  ASSERT_TRUE(empty) << empty.error();
  std::lock_guard lock(store.mu);
  EXPECT_EQ(store.uploaded, "");
  EXPECT_EQ(store.content_length, "0");
}

TEST(HttpStreaming, ErrorBodiesNeverReachTheSink) {
  HttpTestServer server([](const ServerRequest&) { return Reply{.status = 403, .body = "<Error>AccessDenied</Error>"}; });
  ASSERT_TRUE(server.Start());
  TempDir dir;
  auto client = MakeClient();
  Request req = Request::Get(server.Url("/x"));
  req.sink = Sink::ToFile(dir.File("never.bin"));
  req.options.accept_http_errors = true;
  auto r = client->Send(std::move(req));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(r->body, "<Error>AccessDenied</Error>");
  EXPECT_EQ(ReadFile(dir.File("never.bin")), "");
}

TEST(HttpStreaming, RewindableStreamBodyIsRetried) {
  std::atomic<int> seen{0};
  std::string received;
  HttpTestServer server([&](const ServerRequest& r) {
    if (seen.fetch_add(1) == 0) return Reply{.status = 503};
    received = r.body;
    return Reply{.body = "ok"};
  });
  ASSERT_TRUE(server.Start());
  auto client = MakeClient();
  const std::string data = RandomBytes(500000, 5);
  size_t off = 0;
  int rewinds = 0;
  auto body = Body::FromStream(
      [&](char* buf, size_t cap) -> Result<size_t> {
        size_t n = std::min(cap, data.size() - off);
        std::memcpy(buf, data.data() + off, n);
        off += n;
        return n;
      },
      std::nullopt, [&]() -> Status {
        off = 0;
        ++rewinds;
        return OkStatus();
      });
  auto r = client->Put(server.Url("/x"), std::move(body));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->attempts, 2);
  EXPECT_GE(rewinds, 1);
  EXPECT_TRUE(received == data);

  // Without a rewind function the same failure is final.
  seen = 0;
  size_t off2 = 0;
  auto once = Body::FromStream([&](char* buf, size_t cap) -> Result<size_t> {
    size_t n = std::min(cap, data.size() - off2);
    std::memcpy(buf, data.data() + off2, n);
    off2 += n;
    return n;
  });
  auto r2 = client->Put(server.Url("/x"), std::move(once));
  ASSERT_FALSE(r2);
  EXPECT_EQ(seen.load(), 1);
  EXPECT_NE(r2.error().message().find("cannot be rewound"), std::string::npos) << r2.error();
}

}  // namespace
}  // namespace esper::http
