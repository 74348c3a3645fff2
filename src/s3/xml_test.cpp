// The S3 bodies as the S3 API reference shows them (namespaces, declarations and all), plus the
// shapes that go wrong: errors inside a 200, url-encoded keys, truncated and foreign bodies.
#include "esper/s3/xml.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pugixml.hpp>

#include "esper/s3/errors.h"

namespace esper::s3 {
namespace {

using ::testing::HasSubstr;
using std::chrono::system_clock;

Timestamp At(int y, int mo, int d, int h, int mi, int s, int ms = 0) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return system_clock::from_time_t(timegm(&tm)) + std::chrono::milliseconds(ms);
}

TEST(Timestamps, Iso8601AndHttpDate) {
  EXPECT_EQ(ParseIso8601("2009-10-12T17:50:30.000Z"), At(2009, 10, 12, 17, 50, 30));
  EXPECT_EQ(ParseIso8601("2009-10-12T17:50:30.123456Z"), At(2009, 10, 12, 17, 50, 30, 123));
  EXPECT_EQ(ParseIso8601("2009-10-12T17:50:30Z"), At(2009, 10, 12, 17, 50, 30));
  for (const char* bad : {"", "2009-10-12", "2009-13-12T17:50:30Z", "2009-10-12T17:50:30", "2009-10-12T17:50:30.Z",
                          "2009-10-12T17:50:30.000Zjunk", "20x9-10-12T17:50:30Z"})
    EXPECT_FALSE(ParseIso8601(bad)) << bad;
  EXPECT_EQ(ParseHttpDate("Wed, 21 Oct 2015 07:28:00 GMT"), At(2015, 10, 21, 7, 28, 0));
  EXPECT_FALSE(ParseHttpDate("Wed, 21 Foo 2015 07:28:00 GMT"));
  EXPECT_FALSE(ParseHttpDate("2015-10-21T07:28:00Z"));
}

constexpr std::string_view kListV2 = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
    <Name>bucket</Name>
    <Prefix/>
    <KeyCount>2</KeyCount>
    <MaxKeys>2</MaxKeys>
    <IsTruncated>true</IsTruncated>
    <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
    <Contents>
        <Key>happyface.jpg</Key>
        <LastModified>2014-11-21T19:40:05.000Z</LastModified>
        <ETag>&quot;70ee1738b6b21e2c8a43f3a5ab0eee71&quot;</ETag>
        <Size>11</Size>
        <StorageClass>STANDARD</StorageClass>
    </Contents>
    <Contents>
        <Key>dir/a &amp; b &lt;c&gt;.txt</Key>
        <LastModified>2014-05-02T04:51:50.000Z</LastModified>
        <ETag>"becf17f89c30367a9a44495d62ed521a-1"</ETag>
        <Size>1111374</Size>
        <StorageClass>STANDARD</StorageClass>
    </Contents>
    <CommonPrefixes><Prefix>photos/</Prefix></CommonPrefixes>
    <CommonPrefixes><Prefix>videos/</Prefix></CommonPrefixes>
</ListBucketResult>)";

TEST(ListObjectsV2, DocumentedPage) {
  auto p = ParseListObjectsV2(kListV2);
  ASSERT_TRUE(p) << p.error();
  ASSERT_EQ(p->contents.size(), 2u);
  EXPECT_EQ(p->contents[0].key, "happyface.jpg");
  EXPECT_EQ(p->contents[0].size, 11u);
  EXPECT_EQ(p->contents[0].etag, "\"70ee1738b6b21e2c8a43f3a5ab0eee71\"");
  EXPECT_EQ(p->contents[0].last_modified, At(2014, 11, 21, 19, 40, 5));
  EXPECT_EQ(p->contents[0].storage_class, "STANDARD");
  EXPECT_EQ(p->contents[1].key, "dir/a & b <c>.txt");
  EXPECT_EQ(p->contents[1].size, 1111374u);
  EXPECT_EQ(p->common_prefixes, (std::vector<std::string>{"photos/", "videos/"}));
  EXPECT_TRUE(p->is_truncated);
  EXPECT_EQ(p->next_continuation_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
  EXPECT_EQ(p->key_count, 2);
}

TEST(ListObjectsV2, UrlEncodedKeysAreDecoded) {
  auto p = ParseListObjectsV2(R"(<ListBucketResult><EncodingType>url</EncodingType><Prefix>a%2Bb+</Prefix>
    <Delimiter>%2F</Delimiter><IsTruncated>false</IsTruncated>
    <Contents><Key>a%2Bb+c%25d%01%E6%97%A5/x</Key><Size>0</Size></Contents>
    <CommonPrefixes><Prefix>sub+dir%2F</Prefix></CommonPrefixes></ListBucketResult>)");
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->contents.at(0).key, "a+b c%d\x01\xE6\x97\xA5/x");
  EXPECT_EQ(p->prefix, "a+b ");
  EXPECT_EQ(p->delimiter, "/");
  EXPECT_EQ(p->common_prefixes.at(0), "sub dir/");
  // Without EncodingType nothing is decoded.
  auto raw = ParseListObjectsV2("<ListBucketResult><Contents><Key>a+b%20</Key></Contents></ListBucketResult>");
  EXPECT_EQ(raw->contents.at(0).key, "a+b%20");
}

TEST(ListObjectsV2, ForeignTruncatedAndErrorBodies) {
  for (std::string_view bad : {std::string_view(""), std::string_view("<html><body>502</body></html>"),
                               std::string_view("not xml at all"), kListV2.substr(0, 40)}) {
    auto p = ParseListObjectsV2(bad);
    ASSERT_FALSE(p) << bad;
    EXPECT_EQ(p.error().code(), ErrorCode::kUnavailable);
    EXPECT_TRUE(p.error().retryable());
    EXPECT_THAT(p.error().message(), HasSubstr("ListBucketResult"));
  }
  auto truncated = ParseListObjectsV2("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>");
  ASSERT_FALSE(truncated);
  EXPECT_THAT(truncated.error().message(), HasSubstr("NextContinuationToken"));
  auto err = ParseListObjectsV2("<Error><Code>NoSuchBucket</Code><Message>gone</Message></Error>");
  ASSERT_FALSE(err);
  EXPECT_EQ(err.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(err.error().service_code(), "NoSuchBucket");
}

TEST(ListBuckets, DocumentedBody) {
  auto b = ParseListBuckets(R"(<?xml version="1.0" encoding="UTF-8"?>
<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Owner><ID>bcaf1ffd86f461ca5fb16fd081034f</ID><DisplayName>webfile</DisplayName></Owner>
  <Buckets>
    <Bucket><Name>quotes</Name><CreationDate>2006-02-03T16:45:09.000Z</CreationDate></Bucket>
    <Bucket><Name>samples</Name><CreationDate>2006-02-03T16:41:58.000Z</CreationDate></Bucket>
  </Buckets>
</ListAllMyBucketsResult>)");
  ASSERT_TRUE(b) << b.error();
  ASSERT_EQ(b->size(), 2u);
  EXPECT_EQ((*b)[0].name, "quotes");
  EXPECT_EQ((*b)[1].creation_date, At(2006, 2, 3, 16, 41, 58));
}

TEST(DeleteObjects, RequestEscapesKeysAndResultReportsEachKey) {
  const std::string req = BuildDeleteObjectsRequest({"a&b", "<c>", "d\"e'f", "日本"}, true);
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(req.c_str()));
  const pugi::xml_node del = doc.child("Delete");
  EXPECT_STREQ(del.child("Quiet").text().as_string(), "true");
  std::vector<std::string> keys;
  for (auto o : del.children("Object")) keys.push_back(o.child("Key").text().as_string());
  EXPECT_EQ(keys, (std::vector<std::string>{"a&b", "<c>", "d\"e'f", "日本"}));
  EXPECT_FALSE(doc.child("Delete").child("Quiet") && BuildDeleteObjectsRequest({"k"}).find("Quiet") != std::string::npos);

  auto r = ParseDeleteObjectsResult(R"(<?xml version="1.0" encoding="UTF-8"?>
<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Deleted><Key>sample1.txt</Key></Deleted>
  <Error><Key>sample2.txt</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>
</DeleteResult>)");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->deleted, std::vector<std::string>{"sample1.txt"});
  ASSERT_EQ(r->errors.size(), 1u);
  EXPECT_EQ(r->errors[0].key, "sample2.txt");
  EXPECT_EQ(r->errors[0].code, "AccessDenied");
  EXPECT_EQ(r->errors[0].message, "Access Denied");
}

TEST(CopyObject, ResultAndTheErrorInsideA200) {
  auto ok = ParseCopyObjectResult(R"(<CopyObjectResult><LastModified>2009-10-12T17:50:30.000Z</LastModified>
    <ETag>"9b2cf535f27731c974343645a3985328"</ETag></CopyObjectResult>)");
  ASSERT_TRUE(ok) << ok.error();
  EXPECT_EQ(ok->etag, "\"9b2cf535f27731c974343645a3985328\"");
  EXPECT_EQ(ok->last_modified, At(2009, 10, 12, 17, 50, 30));
  // "If the error occurs during the copy operation, the error response is embedded in the 200 OK
  // response" (S3 API reference, CopyObject).
  auto err = ParseCopyObjectResult(R"(<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message>
<RequestId>656c76696e6727732072657175657374</RequestId><HostId>Uuag1LuByRx9e6j5Onimru9pO4ZVKnJ2Qz7/C1NPcfTWAtRPfTaOFg==</HostId></Error>)");
  ASSERT_FALSE(err);
  EXPECT_EQ(err.error().code(), ErrorCode::kUnavailable);
  EXPECT_TRUE(err.error().retryable());
  EXPECT_EQ(err.error().http_status(), 200);
  EXPECT_EQ(err.error().service_code(), "InternalError");
  EXPECT_EQ(err.error().request_id(), "656c76696e6727732072657175657374");
}

TEST(Multipart, InitiateCompleteAndTheErrorInsideA200) {
  auto init = ParseInitiateMultipartUploadResult(R"(<?xml version="1.0" encoding="UTF-8"?>
<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Bucket>example-bucket</Bucket><Key>example-object</Key>
  <UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>
</InitiateMultipartUploadResult>)");
  ASSERT_TRUE(init) << init.error();
  EXPECT_EQ(init->bucket, "example-bucket");
  EXPECT_EQ(init->key, "example-object");
  EXPECT_EQ(init->upload_id, "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA");
  EXPECT_FALSE(ParseInitiateMultipartUploadResult("<InitiateMultipartUploadResult/>"));

  const std::string body = BuildCompleteMultipartUploadRequest({{1, "\"a54357aff0632cce46d942af68356b38\""},
                                                                {2, "\"0c78aef83f66abc1fa1e8477f296d394\""}});
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(body.c_str()));
  std::vector<std::pair<int, std::string>> parts;
  for (auto p : doc.child("CompleteMultipartUpload").children("Part"))
    parts.emplace_back(p.child("PartNumber").text().as_int(), p.child("ETag").text().as_string());
  EXPECT_EQ(parts, (std::vector<std::pair<int, std::string>>{{1, "\"a54357aff0632cce46d942af68356b38\""},
                                                             {2, "\"0c78aef83f66abc1fa1e8477f296d394\""}}));

  auto done = ParseCompleteMultipartUploadResult(R"(<CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Location>http://Example-Bucket.s3.amazonaws.com/Example-Object</Location><Bucket>Example-Bucket</Bucket>
  <Key>Example-Object</Key><ETag>"3858f62230ac3c915f300c664312c11f-9"</ETag></CompleteMultipartUploadResult>)");
  ASSERT_TRUE(done) << done.error();
  EXPECT_EQ(done->etag, "\"3858f62230ac3c915f300c664312c11f-9\"");
  EXPECT_EQ(done->key, "Example-Object");
  auto failed = ParseCompleteMultipartUploadResult(
      "<Error><Code>InvalidPart</Code><Message>One or more of the specified parts could not be found.</Message></Error>");
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(failed.error().retryable());
  EXPECT_EQ(failed.error().service_code(), "InvalidPart");
}

TEST(Multipart, ListUploadsAndParts) {
  auto u = ParseListMultipartUploads(R"(<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Bucket>bucket</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>
  <NextKeyMarker>my-movie.m2ts</NextKeyMarker><NextUploadIdMarker>YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ</NextUploadIdMarker>
  <MaxUploads>3</MaxUploads><IsTruncated>true</IsTruncated>
  <Upload><Key>my-divisor</Key><UploadId>XMgbGlrZSBlbHZpbmcncyBub3QgaGF2aW5nIG11Y2ggbHVjaw</UploadId>
    <Initiated>2010-11-10T20:48:33.000Z</Initiated></Upload>
  <Upload><Key>my-movie.m2ts</Key><UploadId>VXBsb2FkIElEIGZvciBlbHZpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>
    <Initiated>2010-11-10T20:48:33.000Z</Initiated></Upload>
</ListMultipartUploadsResult>)");
  ASSERT_TRUE(u) << u.error();
  ASSERT_EQ(u->uploads.size(), 2u);
  EXPECT_EQ(u->uploads[1].key, "my-movie.m2ts");
  EXPECT_EQ(u->uploads[0].initiated, At(2010, 11, 10, 20, 48, 33));
  EXPECT_TRUE(u->is_truncated);
  EXPECT_EQ(u->next_key_marker, "my-movie.m2ts");
  EXPECT_EQ(u->next_upload_id_marker, "YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ");

  auto p = ParseListParts(R"(<ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Bucket>example-bucket</Bucket><Key>example-object</Key><UploadId>XXBsb2FkIElEIGZvciBlbHZpbmcncyVcdS1tb3ZpZS5tMnRzEEEwbG9hZA</UploadId>
  <PartNumberMarker>1</PartNumberMarker><NextPartNumberMarker>3</NextPartNumberMarker><MaxParts>2</MaxParts>
  <IsTruncated>true</IsTruncated>
  <Part><PartNumber>2</PartNumber><LastModified>2010-11-10T20:48:34.000Z</LastModified>
    <ETag>"7778aef83f66abc1fa1e8477f296d394"</ETag><Size>10485760</Size></Part>
  <Part><PartNumber>3</PartNumber><LastModified>2010-11-10T20:48:33.000Z</LastModified>
    <ETag>"aaaa18db4cc2f85cedef654fccc4a4x8"</ETag><Size>10485760</Size></Part>
</ListPartsResult>)");
  ASSERT_TRUE(p) << p.error();
  ASSERT_EQ(p->parts.size(), 2u);
  EXPECT_EQ(p->parts[0].part_number, 2);
  EXPECT_EQ(p->parts[0].size, 10485760u);
  EXPECT_EQ(p->parts[1].etag, "\"aaaa18db4cc2f85cedef654fccc4a4x8\"");
  EXPECT_TRUE(p->is_truncated);
  EXPECT_EQ(p->next_part_number_marker, 3);
}

TEST(XmlEscape, Specials) { EXPECT_EQ(XmlEscape("a&<>\"'\rb"), "a&amp;&lt;&gt;&quot;&apos;&#13;b"); }

}  // namespace
}  // namespace esper::s3
