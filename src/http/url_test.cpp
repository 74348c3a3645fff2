#include "esper/http/url.h"

#include <gtest/gtest.h>


namespace esper::http {
namespace {

TEST(EncodeQueryComponent, LeavesOnlyUnreservedAlone) {
  EXPECT_EQ(EncodeQueryComponent("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(EncodeQueryComponent("a b"), "a%20b");
  EXPECT_EQ(EncodeQueryComponent("a+b=c&d/e?f#g"), "a%2Bb%3Dc%26d%2Fe%3Ff%23g");
  EXPECT_EQ(EncodeQueryComponent("*'()!$,;:@[]"), "%2A%27%28%29%21%24%2C%3B%3A%40%5B%5D");
  EXPECT_EQ(EncodeQueryComponent("%"), "%25");
  EXPECT_EQ(EncodeQueryComponent("é"), "%C3%A9");  // UTF-8 bytes, upper-case hex
  EXPECT_EQ(EncodeQueryComponent(std::string("\0\x7f\xff", 3)), "%00%7F%FF");
  EXPECT_EQ(EncodeQueryComponent(""), "");
}

TEST(DecodeQueryComponent, RoundTripsEveryByte) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  EXPECT_EQ(DecodeQueryComponent(EncodeQueryComponent(all)), all);
  EXPECT_EQ(DecodeQueryComponent("a+b%2"), "a+b%2");  // '+' is not a space; bad escape kept
  EXPECT_EQ(DecodeQueryComponent("%zz"), "%zz");
}

TEST(AppendQuery, AddsSeparatorsAndKeepsFragment) {
  EXPECT_EQ(AppendQuery("http://h/x", {{"a", "1"}, {"b c", "d/e"}}), "http://h/x?a=1&b%20c=d%2Fe");
  EXPECT_EQ(AppendQuery("http://h/x?z=0", {{"a", "1"}}), "http://h/x?z=0&a=1");
  EXPECT_EQ(AppendQuery("http://h/x?", {{"a", ""}}), "http://h/x?a=");
  EXPECT_EQ(AppendQuery("http://h/x#frag", {{"a", "1"}}), "http://h/x?a=1#frag");
  EXPECT_EQ(AppendQuery("http://h/x", {}), "http://h/x");
  EXPECT_EQ(AppendQuery("http://h/x", {{"k", "v"}, {"k", "w"}}), "http://h/x?k=v&k=w");
}

TEST(ResolveUrl, JoinsWithOneSlash) {
  EXPECT_EQ(*ResolveUrl("http://h:1", "/a"), "http://h:1/a");
  EXPECT_EQ(*ResolveUrl("http://h:1/", "/a"), "http://h:1/a");
  EXPECT_EQ(*ResolveUrl("http://h:1/api", "a"), "http://h:1/api/a");
  EXPECT_EQ(*ResolveUrl("http://h:1/api/", "a"), "http://h:1/api/a");
  EXPECT_EQ(*ResolveUrl("http://h:1/api", "https://other/x"), "https://other/x");
  EXPECT_EQ(*ResolveUrl("", "http://h/x"), "http://h/x");
  auto r = ResolveUrl("", "/relative");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message().find("base_url"), std::string::npos);
  EXPECT_FALSE(ResolveUrl("not-a-url", "/x"));
}

TEST(HostKey, NormalisesSchemeHostPort) {
  EXPECT_EQ(*HostKey("http://Example.COM/x"), "http://example.com:80");
  EXPECT_EQ(*HostKey("https://example.com/x?y"), "https://example.com:443");
  // The client takes the scheme (https or not: TLS, proxy variable) from this key.
  EXPECT_EQ(*HostKey("HTTPS://example.com/"), "https://example.com:443");
  EXPECT_EQ(*HostKey("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
  EXPECT_EQ(*HostKey("http://user:pw@h:9/"), "http://h:9");
  auto ftp = HostKey("ftp://h/x");
  ASSERT_FALSE(ftp);
  EXPECT_NE(ftp.error().message().find("scheme 'ftp'"), std::string::npos);
  auto bad = HostKey("http://");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
}

TEST(HostKey, FastPathAgreesWithCurlOrDefersToIt) {
  const char* urls[] = {
      "http://Example.COM/x", "HTTPS://example.com", "http://127.0.0.1:8080/a?b#c", "http://h:0080/",
      "http://a-b.c-d.example:65535", "https://s3.eu-west-1.amazonaws.com/bucket/key%20x?uploads",
      "http://localhost?x=1", "http://localhost#frag", "http://255.255.255.255:1/",
      // curl's territory: each must be left to it (nullopt) — or, if taken, agree with it.
      "http://127.1/", "http://0x7f.0.0.1/", "http://2130706433/", "http://010.0.0.1/", "http://256.0.0.1/",
      "http://1.2.3.4.5/", "http://[::1]:8080/", "http://user:pw@h:9/", "http://h_1/", "http://h:/",
      "http://h:0/", "http://h:65536/", "http://h:123456/", "http://h/a b", "http://h/\x01", "http://h./",
      "http://.h/", "http://", "ftp://h/x", "http://h%41/", "http://h:8o/", "http://h/\xc3\xa9"};
  int fast = 0;
  for (const char* u : urls) {
    auto quick = detail::HostKeyFast(u);
    auto slow = detail::HostKeyByCurl(u);
    if (!quick) continue;
    ++fast;
    ASSERT_TRUE(slow) << u << ": the fast path accepted what curl rejects: " << slow.error().message();
    EXPECT_EQ(*quick, *slow) << u;
  }
  EXPECT_GE(fast, 9);  // the plain forms above do take the fast path
  EXPECT_FALSE(detail::HostKeyFast("http://127.1/"));
  EXPECT_FALSE(detail::HostKeyFast("http://user:pw@h:9/"));
  EXPECT_FALSE(HostKey("http://h/a b"));  // deferred to curl, which rejects it
}

// curl connects "http://%31/" and "http://1/" both to 0.0.0.1 but, normalising numeric hosts before
// decoding %-escapes, reports them as "1" and "0.0.0.1": one host must still get one key.
TEST(HostKey, APercentEncodedNumericHostHasTheKeyOfItsPlainForm) {
  EXPECT_EQ(*HostKey("http://1/"), "http://0.0.0.1:80");
  EXPECT_EQ(*HostKey("http://%31/"), "http://0.0.0.1:80");
  EXPECT_EQ(*HostKey("http://%31%32%37.1:8080/x"), *HostKey("http://127.0.0.1:8080/y"));
  EXPECT_EQ(*HostKey("https://0x%37f.1/"), "https://127.0.0.1:443");
  EXPECT_EQ(*HostKey("http://u:p@%31%32%37.0.0.1/"), "http://127.0.0.1:80");
  EXPECT_EQ(*HostKey("http://%61bc.de/"), "http://abc.de:80");  // hex-looking name: stays a name
  EXPECT_EQ(*HostKey("http://LOCAL%68ost:9/"), "http://localhost:9");
}

}  // namespace
}  // namespace esper::http
