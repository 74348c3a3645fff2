// S3Store's listings and bucket operations: ListObjectsV2, DeleteObjects (batches of 1,000),
// CreateBucket, DeleteBucket, ListBuckets. Response bodies are parsed in the verify step, so a
// garbled or truncated document is retried like any other transient failure.
#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "esper/s3/checksum.h"
#include "esper/s3/xml.h"
#include "s3/s3_store_impl.h"

namespace esper::s3 {
namespace {

using detail::Exchange;
using detail::Op;
using detail::OpContext;
using storage::Callback;

// S3's limit of keys per DeleteObjects request.
constexpr size_t kDeleteBatch = 1000;
// Batches of one DeleteMany in flight at once.
constexpr size_t kDeleteWindow = 4;

// A key XML 1.0 cannot carry (a control character other than tab, LF and CR): DeleteObjects'
// body cannot name it, so it is deleted on its own.
bool XmlCannotCarry(std::string_view key) {
  return std::any_of(key.begin(), key.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t' && c != '\n' && c != '\r') || u == 0x7F;
  });
}

// A parse in the verify step, its result kept for the completion.
template <class T, class Parse>
std::function<std::optional<Error>(const http::Response&)> ParseInto(std::shared_ptr<T> out, Parse parse) {
  return [out, parse](const http::Response& r) -> std::optional<Error> {
    auto p = parse(r.body);
    if (!p) return p.error();
    *out = std::move(*p);
    return std::nullopt;
  };
}

// ---- delete_many ----

// One DeleteMany: its keys, each key's result, and the requests still to send or in flight.
struct DeleteJob {
  OpContext ctx;
  std::vector<std::string> keys;
  std::vector<storage::DeleteResult> results;
  // The requests: [first, last) of `keys` by DeleteObjects, or one key by DeleteObject (single).
  struct Part {
    size_t first = 0, last = 0;
    bool single = false;
  };
  std::vector<Part> parts;
  size_t next = 0;     // the next part to send
  size_t pending = 0;  // parts sent and not answered
  std::optional<Error> whole;  // NoSuchBucket: the whole call fails
  Callback<std::vector<storage::DeleteResult>> done;
};

void SendDeleteParts(S3Store::Impl& s, const std::shared_ptr<DeleteJob>& job);

void OnPartDone(S3Store::Impl& s, const std::shared_ptr<DeleteJob>& job, const DeleteJob::Part& part,
                Result<http::Response> r, const std::shared_ptr<DeleteObjectsResult>& parsed) {
  --job->pending;
  if (!r) {
    const Error& e = r.error();
    if (e.service_code() == "NoSuchBucket" && !job->whole) job->whole = e;
    for (size_t i = part.first; i < part.last; ++i) job->results[i].status = e;
  } else if (parsed) {
    // Each key's own outcome: the errors S3 reported (quiet mode reports only those).
    std::map<std::string_view, const DeleteObjectsResult::Failure*> failed;
    for (const auto& f : parsed->errors) failed.emplace(f.key, &f);
    for (size_t i = part.first; i < part.last; ++i) {
      auto it = failed.find(job->keys[i]);
      if (it == failed.end()) continue;
      const auto& f = *it->second;
      job->results[i].status = storage::ServiceError(
          f.code, fmt::format("delete s3://{}/{}: S3 {}: {}", job->ctx.bucket, job->keys[i], f.code, f.message));
    }
  }
  if (job->next < job->parts.size() && !s.stopping()) return SendDeleteParts(s, job);
  if (job->pending > 0) return;
  if (job->next < job->parts.size()) return job->done(s.CancelledError(job->ctx));
  if (job->whole) return job->done(*job->whole);
  job->done(std::move(job->results));
}

// Sends parts until kDeleteWindow are in flight (from the loop, or from Start: see `from_start`).
void SendDeleteParts(S3Store::Impl& s, const std::shared_ptr<DeleteJob>& job) {
  while (job->next < job->parts.size() && job->pending < kDeleteWindow) {
    const DeleteJob::Part part = job->parts[job->next++];
    ++job->pending;
    Exchange ex;
    std::shared_ptr<DeleteObjectsResult> parsed;
    if (part.single) {
      ex.request = http::Request::Delete(s.addressing_.ObjectUrl(job->ctx.bucket, job->keys[part.first]));
    } else {
      const std::vector<std::string> keys(job->keys.begin() + static_cast<std::ptrdiff_t>(part.first),
                                          job->keys.begin() + static_cast<std::ptrdiff_t>(part.last));
      std::string body = BuildDeleteObjectsRequest(keys, /*quiet=*/true);
      ex.request = http::Request::Post(s.addressing_.ObjectUrl(job->ctx.bucket), http::Body());
      ex.request.query = {{"delete", ""}};
      // S3 requires Content-MD5 (or a flexible checksum) on DeleteObjects.
      ex.request.headers = {{"Content-Type", "application/xml"}, {"Content-MD5", Base64(Md5::Of(body))}};
      ex.payload_hash = Sha256Hex(body);
      ex.request.body = http::Body::FromString(std::move(body));
      ex.retry_safe = true;  // deleting the same keys again is harmless
      parsed = std::make_shared<DeleteObjectsResult>();
      ex.verify = ParseInto(parsed, [](std::string_view b) { return ParseDeleteObjectsResult(b); });
    }
    s.SendFromLoop(job->ctx, std::move(ex), [&s, job, part, parsed](Result<http::Response> r) {
      OnPartDone(s, job, part, std::move(r), parsed);
    });
  }
}

}  // namespace

Status S3Store::StartList(std::string bucket, storage::ListOptions options, Callback<storage::ListPage> done) {
  Impl& s = *impl_;
  ESPER_RETURN_IF_ERROR(s.Admit("list"));
  OpContext ctx = Impl::Context(Op::kList, std::move(bucket));
  Exchange ex;
  ex.request = http::Request::Get(s.addressing_.ObjectUrl(ctx.bucket));
  http::QueryParams& q = ex.request.query;
  q = {{"list-type", "2"}, {"encoding-type", "url"}, {"max-keys", std::to_string(options.page_size)}};
  if (!options.prefix.empty()) q.emplace_back("prefix", options.prefix);
  if (!options.delimiter.empty()) q.emplace_back("delimiter", options.delimiter);
  if (!options.continuation_token.empty()) {
    q.emplace_back("continuation-token", options.continuation_token);
  } else if (!options.start_after.empty()) {
    q.emplace_back("start-after", options.start_after);
  }
  ex.bodyless_404 = "NoSuchBucket";
  auto parsed = std::make_shared<ListObjectsV2Page>();
  ex.verify = ParseInto(parsed, [](std::string_view b) -> Result<ListObjectsV2Page> {
    ESPER_ASSIGN_OR_RETURN(ListObjectsV2Page p, ParseListObjectsV2(b));
    if (p.is_truncated && p.next_continuation_token.empty()) {
      return Error::Unavailable("S3 ListObjectsV2: a truncated page without a NextContinuationToken");
    }
    return p;
  });
  Status st = s.Send(ctx, std::move(ex), [parsed, done = s.Complete(ctx, std::move(done))](Result<http::Response> r) {
    if (!r) return done(r.error());
    storage::ListPage page;
    page.objects.reserve(parsed->contents.size());
    for (ObjectInfo& o : parsed->contents) {
      page.objects.push_back(storage::ObjectInfo{.key = std::move(o.key),
                                                 .size = o.size,
                                                 .etag = std::string(storage::UnquoteEtag(o.etag)),
                                                 .last_modified = o.last_modified});
    }
    page.common_prefixes = std::move(parsed->common_prefixes);
    if (parsed->is_truncated) page.next_continuation_token = std::move(parsed->next_continuation_token);
    done(std::move(page));
  });
  if (!st) s.Abandon();
  return st;
}

Status S3Store::StartDeleteMany(std::string bucket, std::vector<std::string> keys,
                                Callback<std::vector<storage::DeleteResult>> done) {
  Impl& s = *impl_;
  ESPER_RETURN_IF_ERROR(s.Admit("delete_many"));
  auto job = std::make_shared<DeleteJob>();
  job->ctx = Impl::Context(Op::kDeleteMany, std::move(bucket));
  job->results.resize(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) job->results[i].key = keys[i];
  // Batches of up to 1,000 keys XML can carry, in input order; the others one by one.
  size_t i = 0;
  while (i < keys.size()) {
    if (XmlCannotCarry(keys[i])) {
      job->parts.push_back({.first = i, .last = i + 1, .single = true});
      ++i;
      continue;
    }
    size_t j = i;
    while (j < keys.size() && j - i < kDeleteBatch && !XmlCannotCarry(keys[j])) ++j;
    job->parts.push_back({.first = i, .last = j});
    i = j;
  }
  job->keys = std::move(keys);
  job->done = s.Complete(job->ctx, std::move(done));
  // Every request starts from the loop, so a DeleteMany of no keys ends there too.
  s.Post([&s, job] {
    if (job->parts.empty()) return job->done(std::move(job->results));
    if (s.stopping()) return job->done(s.CancelledError(job->ctx));
    SendDeleteParts(s, job);
  });
  return OkStatus();
}

Status S3Store::StartCreateBucket(std::string bucket, Callback<void> done) {
  Impl& s = *impl_;
  ESPER_RETURN_IF_ERROR(s.Admit("create_bucket"));
  OpContext ctx = Impl::Context(Op::kCreateBucket, std::move(bucket));
  Exchange ex;
  std::string body;
  if (s.region_ != "us-east-1") {
    body = fmt::format(
        "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>{}"
        "</LocationConstraint></CreateBucketConfiguration>",
        XmlEscape(s.region_));
  }
  ex.payload_hash = Sha256Hex(body);
  ex.request = http::Request::Put(s.addressing_.ObjectUrl(ctx.bucket), http::Body::FromString(std::move(body)));
  ex.bodyless_404 = "NoSuchBucket";
  Status st = s.Send(ctx, std::move(ex), [done = s.Complete(ctx, std::move(done))](Result<http::Response> r) {
    if (!r) return done(r.error());
    done(OkStatus());
  });
  if (!st) s.Abandon();
  return st;
}

Status S3Store::StartDeleteBucket(std::string bucket, Callback<void> done) {
  Impl& s = *impl_;
  ESPER_RETURN_IF_ERROR(s.Admit("delete_bucket"));
  OpContext ctx = Impl::Context(Op::kDeleteBucket, std::move(bucket));
  Exchange ex;
  ex.request = http::Request::Delete(s.addressing_.ObjectUrl(ctx.bucket));
  ex.bodyless_404 = "NoSuchBucket";
  Status st = s.Send(ctx, std::move(ex), [done = s.Complete(ctx, std::move(done))](Result<http::Response> r) {
    if (!r) return done(r.error());
    done(OkStatus());
  });
  if (!st) s.Abandon();
  return st;
}

Status S3Store::StartListBuckets(Callback<std::vector<storage::BucketInfo>> done) {
  Impl& s = *impl_;
  ESPER_RETURN_IF_ERROR(s.Admit("list_buckets"));
  OpContext ctx = Impl::Context(Op::kListBuckets, "");
  Exchange ex;
  ex.request = http::Request::Get(s.addressing_.ObjectUrl(""));
  auto parsed = std::make_shared<std::vector<BucketInfo>>();
  ex.verify = ParseInto(parsed, [](std::string_view b) { return ParseListBuckets(b); });
  Status st = s.Send(ctx, std::move(ex), [parsed, done = s.Complete(ctx, std::move(done))](Result<http::Response> r) {
    if (!r) return done(r.error());
    std::vector<storage::BucketInfo> out;
    out.reserve(parsed->size());
    for (BucketInfo& b : *parsed) out.push_back({.name = std::move(b.name), .creation_date = b.creation_date});
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    done(std::move(out));
  });
  if (!st) s.Abandon();
  return st;
}

}  // namespace esper::s3
