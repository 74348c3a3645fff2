#include "proxy/http_framing.h"

#include <gtest/gtest.h>

#include <string>

namespace esper::proxy::detail {
namespace {

using K = BodyFraming::Kind;

TEST(HttpFraming, FindHeadEnd) {
  EXPECT_EQ(FindHeadEnd("GET / HTTP/1.1\r\nHost: x\r\n\r\nbody"), 27u);
  EXPECT_EQ(FindHeadEnd("GET / HTTP/1.1\r\nHost: x\r\n"), std::string_view::npos);
}

TEST(HttpFraming, RequestFramingAndConnection) {
  auto r = ParseRequestHead("POST /a?b=c HTTP/1.1\r\nHost: x\r\ncontent-length: 12\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->method, "POST");
  EXPECT_EQ(r->target, "/a?b=c");
  EXPECT_EQ(r->body.kind, K::kLength);
  EXPECT_EQ(r->body.length, 12u);
  EXPECT_TRUE(r->keep_alive);

  r = ParseRequestHead("PUT / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\nConnection: Close\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body.kind, K::kChunked);
  EXPECT_FALSE(r->keep_alive);

  r = ParseRequestHead("GET / HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->keep_alive);
  EXPECT_EQ(r->body.kind, K::kNone);
  r = ParseRequestHead("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->keep_alive);

  r = ParseRequestHead("PUT / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->expect_continue);
  EXPECT_EQ(r->body.kind, K::kNone);
}

TEST(HttpFraming, MalformedRequestsAreRejected) {
  for (const char* bad : {
           "GET /\r\n\r\n",                                                   // no version
           "GET  / HTTP/1.1\r\n\r\n",                                         // empty target
           "GET / HTTP/2.0\r\n\r\n",                                          // version
           "G(T / HTTP/1.1\r\n\r\n",                                          // method token
           "GET / HTTP/1.1\r\nNoColon\r\n\r\n",                               // header
           "GET / HTTP/1.1\r\n folded\r\n\r\n",                               // obs-fold
           "GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",                    // length
           "GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",                    // length
           "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",  // conflict
           "GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",                // not chunked last
           "GET / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",  // overflow
       }) {
    EXPECT_FALSE(ParseRequestHead(bad)) << bad;
  }
  // Same length twice is fine.
  EXPECT_TRUE(ParseRequestHead("GET / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n"));
}

TEST(HttpFraming, ResponseFraming) {
  auto r = ParseResponseHead("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(ResponseBodyFraming(*r, "GET").kind, K::kLength);
  EXPECT_EQ(ResponseBodyFraming(*r, "HEAD").kind, K::kNone);
  r = ParseResponseHead("HTTP/1.1 204 No Content\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(ResponseBodyFraming(*r, "GET").kind, K::kNone);
  r = ParseResponseHead("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n");
  EXPECT_EQ(ResponseBodyFraming(*r, "GET").kind, K::kNone);
  r = ParseResponseHead("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n");
  EXPECT_EQ(ResponseBodyFraming(*r, "GET").kind, K::kChunked);  // TE wins over CL
  r = ParseResponseHead("HTTP/1.1 200 OK\r\n\r\n");
  EXPECT_EQ(ResponseBodyFraming(*r, "GET").kind, K::kUntilClose);
  r = ParseResponseHead("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(ResponseBodyFraming(*r, "GET").kind, K::kNone);
  r = ParseResponseHead("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n");
  EXPECT_FALSE(r->keep_alive);
  r = ParseResponseHead("HTTP/1.1 100 Continue\r\n\r\n");
  EXPECT_EQ(ResponseBodyFraming(*r, "PUT").kind, K::kNone);
  r = ParseResponseHead("HTTP/1.1 200\r\n\r\n");  // empty reason phrase is legal
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_FALSE(ParseResponseHead("HTTP/1.1 2000 OK\r\n\r\n"));
  EXPECT_FALSE(ParseResponseHead("HTTP/1.1 abc OK\r\n\r\n"));
  EXPECT_FALSE(ParseResponseHead("SPDY/3 200 OK\r\n\r\n"));
}

// Feeds `wire` to a scanner in pieces of `step` bytes; returns how many bytes it claimed.
size_t FeedInPieces(BodyScanner& s, std::string_view wire, size_t step) {
  size_t used = 0;
  while (used < wire.size() && !s.done()) {
    auto n = s.Feed(wire.substr(used, std::min(step, wire.size() - used)));
    EXPECT_TRUE(n);
    if (!n) return used;
    used += *n;
    if (*n == 0) break;
  }
  return used;
}

TEST(HttpFraming, ChunkedScannerFindsTheEndWhateverThePieces) {
  const std::string body = "5\r\nhello\r\n1a;name=value\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nTrailer: x\r\n\r\n";
  const std::string next = "GET /next HTTP/1.1\r\n\r\n";
  for (size_t step : {1u, 2u, 3u, 7u, 1000u}) {
    BodyScanner s({K::kChunked, 0});
    EXPECT_EQ(FeedInPieces(s, body + next, step), body.size()) << step;
    EXPECT_TRUE(s.done());
  }
}

TEST(HttpFraming, ChunkedScannerRejectsGarbage) {
  for (const char* bad : {"zz\r\n", "5\r\nhelloXX\r\n", "-1\r\n", "fffffffffffffffffff\r\n"}) {
    BodyScanner s({K::kChunked, 0});
    auto n = s.Feed(bad);
    EXPECT_FALSE(n) << bad;
  }
  BodyScanner s({K::kChunked, 0});
  std::string long_line(9000, '1');
  EXPECT_FALSE(s.Feed(long_line));
}

TEST(HttpFraming, LengthScanner) {
  BodyScanner s({K::kLength, 10});
  EXPECT_EQ(*s.Feed("12345"), 5u);
  EXPECT_FALSE(s.done());
  EXPECT_EQ(*s.Feed("67890abc"), 5u);
  EXPECT_TRUE(s.done());
  EXPECT_EQ(*s.Feed("more"), 0u);
  BodyScanner u({K::kUntilClose, 0});
  EXPECT_EQ(*u.Feed("anything"), 8u);
  EXPECT_FALSE(u.done());
  BodyScanner none({K::kNone, 0});
  EXPECT_TRUE(none.done());
}

}  // namespace
}  // namespace esper::proxy::detail
