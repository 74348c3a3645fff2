#include "esper/s3/settings.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace esper::s3 {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class SettingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("esper_s3_settings_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_ / ".aws");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& rel, const std::string& text) { std::ofstream(dir_ / rel) << text; }
  std::map<std::string, std::string, std::less<>> Base() { return {{"HOME", dir_.string()}}; }
  fs::path dir_;
};

TEST_F(SettingsTest, EndpointOrder) {
  auto vars = Base();
  Write(".aws/config", "[default]\nendpoint_url = http://from-profile:1\n");
  EXPECT_EQ(*ResolveEndpoint("", "", MapEnvironment(vars)), "http://from-profile:1");
  vars["S3_ENDPOINT_URL"] = "http://seed:2";
  EXPECT_EQ(*ResolveEndpoint("", "", MapEnvironment(vars)), "http://seed:2");
  vars["AWS_ENDPOINT_URL"] = "http://generic:3";
  EXPECT_EQ(*ResolveEndpoint("", "", MapEnvironment(vars)), "http://generic:3");
  vars["AWS_ENDPOINT_URL_S3"] = "http://s3-specific:4";
  EXPECT_EQ(*ResolveEndpoint("", "", MapEnvironment(vars)), "http://s3-specific:4");
  EXPECT_EQ(*ResolveEndpoint("http://explicit:5", "", MapEnvironment(vars)), "http://explicit:5");
  // An empty variable counts as unset.
  vars = Base();
  vars["AWS_ENDPOINT_URL_S3"] = "";
  vars["AWS_ENDPOINT_URL"] = "http://generic:3";
  EXPECT_EQ(*ResolveEndpoint("", "", MapEnvironment(vars)), "http://generic:3");
  fs::remove(dir_ / ".aws/config");
  EXPECT_EQ(*ResolveEndpoint("", "", MapEnvironment(Base())), "");
}

TEST_F(SettingsTest, RegionOrder) {
  auto vars = Base();
  EXPECT_EQ(*ResolveRegion("", "", MapEnvironment(vars)), "us-east-1");
  Write(".aws/config", "[default]\nregion = eu-north-1\n[profile dev]\nregion = ap-south-1\n");
  EXPECT_EQ(*ResolveRegion("", "", MapEnvironment(vars)), "eu-north-1");
  EXPECT_EQ(*ResolveRegion("", "dev", MapEnvironment(vars)), "ap-south-1");
  vars["AWS_PROFILE"] = "dev";
  EXPECT_EQ(*ResolveRegion("", "", MapEnvironment(vars)), "ap-south-1");
  vars["AWS_DEFAULT_REGION"] = "us-west-1";
  EXPECT_EQ(*ResolveRegion("", "", MapEnvironment(vars)), "us-west-1");
  vars["AWS_REGION"] = "us-west-2";
  EXPECT_EQ(*ResolveRegion("", "", MapEnvironment(vars)), "us-west-2");
  EXPECT_EQ(*ResolveRegion("sa-east-1", "", MapEnvironment(vars)), "sa-east-1");
}

TEST_F(SettingsTest, ProfilesFromBothFilesCredentialsWin) {
  Write(".aws/config",
        "# comment\n[profile dev]\nregion = eu-west-3\naws_access_key_id = FROM_CONFIG\n"
        "s3 =\n  max_concurrent_requests = 20\n  addressing_style = path\n"
        "output = json\n[profile other]\nregion = x\n");
  Write(".aws/credentials", "[dev]\naws_access_key_id = FROM_CREDENTIALS\n; another comment\n"
                            "AWS_Secret_Access_Key = s3cr3t\n");
  auto p = LoadProfile("dev", MapEnvironment(Base()));
  ASSERT_TRUE(p) << p.error();
  EXPECT_TRUE(p->found);
  EXPECT_EQ(p->Get("region"), "eu-west-3");
  EXPECT_EQ(p->Get("aws_access_key_id"), "FROM_CREDENTIALS");
  EXPECT_EQ(p->Get("aws_secret_access_key"), "s3cr3t");  // keys are lower-cased
  EXPECT_EQ(p->Get("output"), "json");                   // after a nested block
  EXPECT_EQ(p->Get("max_concurrent_requests"), std::nullopt);
}

TEST_F(SettingsTest, FilesFromTheirVariables) {
  Write("cfg", "[profile ci]\nregion = me-south-1\n");
  Write("creds", "[ci]\naws_access_key_id = AKIDCI\n");
  auto vars = Base();
  vars["AWS_CONFIG_FILE"] = (dir_ / "cfg").string();
  vars["AWS_SHARED_CREDENTIALS_FILE"] = (dir_ / "creds").string();
  vars["AWS_PROFILE"] = "ci";
  auto p = LoadProfile("", MapEnvironment(vars));
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->name, "ci");
  EXPECT_EQ(p->Get("region"), "me-south-1");
  EXPECT_EQ(p->Get("aws_access_key_id"), "AKIDCI");
}

TEST_F(SettingsTest, Errors) {
  // A chosen profile that does not exist is an error; "default" missing is not.
  EXPECT_TRUE(LoadProfile("", MapEnvironment(Base())));
  auto r = LoadProfile("nope", MapEnvironment(Base()));
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("'nope'"));
  EXPECT_THAT(r.error().message(), HasSubstr(".aws/config"));
  Write(".aws/config", "[default]\nregion = x\nthis line is wrong\n");
  auto bad = ResolveRegion("", "", MapEnvironment(Base()));
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message(), HasSubstr(".aws/config:3"));
}

}  // namespace
}  // namespace esper::s3
