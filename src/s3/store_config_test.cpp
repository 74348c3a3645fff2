// FromConfig and get_s3_client: a configuration's `s3` section as the store's options.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "esper/config/loader.h"
#include "esper/config/snapshot.h"
#include "esper/s3/s3_store.h"

namespace esper::s3 {
namespace {

std::shared_ptr<const config::Snapshot> Load(std::string yaml, std::map<std::string, std::string> env = {}) {
  config::LoadOptions o;
  o.texts = {{.name = "test.yaml", .text = "service:\n  name: tamiyo\n" + yaml}};
  o.environment = std::move(env);
  auto snap = config::Load(o);
  EXPECT_TRUE(snap) << snap.error();
  return snap ? *snap : nullptr;
}

TEST(FromConfig, TakesWhatTheSectionSets) {
  auto snap = Load(
      "s3:\n"
      "  endpoint_url: http://127.0.0.1:9000\n"
      "  region: eu-central-1\n"
      "  addressing_style: virtual\n"
      "  max_connections: 7\n"
      "  max_attempts: 6\n"
      "  connect_timeout: 2s\n"
      "  request_timeout: 9s\n"
      "  verify_tls: false\n"
      "  access_key_id: AKIDEXAMPLE\n"
      "  secret_access_key: from-the-file\n");
  ASSERT_TRUE(snap);
  auto o = FromConfig(*snap);
  ASSERT_TRUE(o) << o.error();
  EXPECT_EQ(o->endpoint_url, "http://127.0.0.1:9000");
  EXPECT_EQ(o->region, "eu-central-1");
  EXPECT_EQ(o->addressing, AddressingStyle::kVirtualHosted);
  EXPECT_EQ(o->http.max_connections, 7);
  EXPECT_EQ(o->max_attempts, 6) << "attempts, as the store counts them";
  EXPECT_EQ(o->http.connect_timeout, std::chrono::seconds(2));
  EXPECT_EQ(o->request_timeout, std::chrono::seconds(9));
  EXPECT_FALSE(o->http.verify_tls);
  ASSERT_TRUE(o->credentials);
  EXPECT_EQ(o->credentials->access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(o->credentials->secret_access_key.reveal(), "from-the-file");
  EXPECT_EQ(o->credentials->source.find("from-the-file"), std::string::npos);
}

TEST(FromConfig, SchemaDefaultsLeaveAwsResolutionInCharge) {
  auto snap = Load("");
  ASSERT_TRUE(snap);
  auto o = FromConfig(*snap);
  ASSERT_TRUE(o) << o.error();
  EXPECT_EQ(o->endpoint_url, "") << "AWS_ENDPOINT_URL_S3, …, the profile, AWS decide";
  EXPECT_EQ(o->region, "") << "the schema's us-east-1 must not hide AWS_REGION or the profile";
  EXPECT_EQ(o->addressing, AddressingStyle::kAuto);
  EXPECT_EQ(o->max_attempts, 0) << "AWS_MAX_ATTEMPTS, else 3";
  EXPECT_FALSE(o->credentials);
}

TEST(FromConfig, TheConfigsEnvironmentLayerWinsOverItsFile) {
  auto snap = Load("s3:\n  region: eu-central-1\n  endpoint_url: http://file:1\n",
                   {{"AWS_REGION", "ap-south-1"}, {"AWS_ENDPOINT_URL_S3", "http://env:2"}});
  ASSERT_TRUE(snap);
  auto o = FromConfig(*snap);
  ASSERT_TRUE(o) << o.error();
  EXPECT_EQ(o->region, "ap-south-1");
  EXPECT_EQ(o->endpoint_url, "http://env:2");
}

// One test: the store is process-wide. A broken configuration is the error (and not kept), a
// good one makes the store, and the next call returns the same store.
TEST(GetS3Client, FromEsperConfigOnceThenTheSameStore) {
  const std::string bad = ::testing::TempDir() + "esper_get_s3_client_bad.yaml";
  std::ofstream(bad) << "service:\n  name: urza\ns3:\n  max_connections: many\n";
  ASSERT_EQ(::setenv("ESPER_CONFIG", bad.c_str(), 1), 0);
  auto broken = get_s3_client();
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().code(), ErrorCode::kInvalidArgument) << broken.error();

  const std::string path = ::testing::TempDir() + "esper_get_s3_client.yaml";
  std::ofstream(path) << "service:\n  name: urza\ns3:\n  endpoint_url: http://127.0.0.1:1\n  region: eu-west-3\n";
  ASSERT_EQ(::setenv("ESPER_CONFIG", path.c_str(), 1), 0);
  auto first = get_s3_client();
  ASSERT_TRUE(first) << first.error();
  EXPECT_EQ((*first)->endpoint_url(), "http://127.0.0.1:1");
  EXPECT_EQ((*first)->region(), "eu-west-3");
  auto second = get_s3_client();
  ASSERT_TRUE(second);
  EXPECT_EQ(first->get(), second->get());
  ::unsetenv("ESPER_CONFIG");
  std::filesystem::remove(path);
  std::filesystem::remove(bad);
}

}  // namespace
}  // namespace esper::s3
