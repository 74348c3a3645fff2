#include "esper/s3/checksum.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace esper::s3 {
namespace {

TEST(Md5, KnownDigestsAndIncremental) {
  EXPECT_EQ(Hex(Md5::Of("")), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(Hex(Md5::Of("The quick brown fox jumps over the lazy dog")), "9e107d9d372bb6826bd81d3542a419d6");
  Md5 m;
  m.Update("The quick brown ");
  m.Update("fox jumps over the lazy dog");
  EXPECT_EQ(Hex(m.Final()), "9e107d9d372bb6826bd81d3542a419d6");
  // Final() starts over.
  m.Update("");
  EXPECT_EQ(Hex(m.Final()), "d41d8cd98f00b204e9800998ecf8427e");
  // Content-MD5 as S3 documents it for an empty body.
  EXPECT_EQ(Base64(Md5::Of("")), "1B2M2Y8AsgTpgAmY7PhCfg==");
}

TEST(Sha256, KnownDigestsAndIncremental) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 s;
  for (char c : std::string("abc")) s.Update(std::string_view(&c, 1));
  EXPECT_EQ(Hex(s.Final()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// The CRC catalogue's check values (CRC of "123456789"): CRC-32/ISCSI and CRC-64/NVME.
TEST(Crc32c, CatalogueCheckValueAndIncremental) {
  EXPECT_EQ(Crc32c::Of("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c::Of(""), 0u);
  Crc32c c;
  c.Update("1234");
  c.Update("");
  c.Update("56789");
  EXPECT_EQ(c.value(), 0xE3069283u);
  EXPECT_EQ(c.HeaderValue(), "4waSgw==");  // base64 of E3 06 92 83
}

TEST(Crc64Nvme, CatalogueCheckValueAndIncremental) {
  EXPECT_EQ(Crc64Nvme::Of("123456789"), 0xAE8B14860A799888ull);
  EXPECT_EQ(Crc64Nvme::Of(""), 0u);
  Crc64Nvme c;
  c.Update("123");
  c.Update("456789");
  EXPECT_EQ(c.value(), 0xAE8B14860A799888ull);
  EXPECT_EQ(c.HeaderValue(), "rosUhgp5mIg=");  // base64 of AE 8B 14 86 0A 79 98 88
}

// The x-amz-checksum-* header values of the body "Hello world", computed independently with
// Debian's python3-crcmod (crc-32c; poly 0x1ad93d23594c93659 reflected, xorOut all ones) and
// hashlib.
TEST(Checksums, HeaderValuesOfHelloWorld) {
  Crc32c c;
  c.Update("Hello world");
  EXPECT_EQ(c.HeaderValue(), "crUfeA==");
  Crc64Nvme n;
  n.Update("Hello world");
  EXPECT_EQ(n.HeaderValue(), "OOJZ0D8xKts=");
  EXPECT_EQ(Base64(Sha256::Of("Hello world")), "ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw=");
}

TEST(Base64, RoundTripAndErrors) {
  for (const std::string& s : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar", std::string("\0\xff\x10", 3)}) {
    auto d = Base64Decode(Base64(s));
    ASSERT_TRUE(d) << d.error();
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(Base64("foobar"), "Zm9vYmFy");
  EXPECT_FALSE(Base64Decode("Zm9"));
  EXPECT_FALSE(Base64Decode("Zm=v"));
  EXPECT_FALSE(Base64Decode("Zm9v!A=="));
}

}  // namespace
}  // namespace esper::s3
