// The soak of issue 18, in `make test` (label stress): `esper bench soak --seconds 120` drives the
// logger, http through the fault proxy, config reloads and S3 against s3rver together, and its
// process's RSS and open fds must not grow after warm-up. The bar is the rows' own (RSS slope
// < 50 MB/min, the seed's; the fewest open fds in the last quarter of the steady window at most 2
// above the fewest in its first quarter); every part must have done work, or the flat figures would
// mean nothing.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "testing/process.h"

namespace esper::cli {
namespace {

TEST(Soak, TwoMinutesOfEveryPartGrowNeitherMemoryNorFds) {
  const auto json = std::filesystem::temp_directory_path() / fmt::format("esper_soak_test_{}.json", getpid());
  auto r = testing::RunProcess({testing::EsperBinary(), "bench", "soak", "--seconds", "120", "--json", json.string()},
                               {"AWS_EC2_METADATA_DISABLED=true"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json doc = nlohmann::json::parse(std::ifstream(json), nullptr, /*allow_exceptions=*/false);
  std::filesystem::remove(json);
  ASSERT_TRUE(doc.is_object()) << r.out;
  int growth_rows = 0, rate_rows = 0;
  for (const auto& row : doc["rows"]) {
    if (row["part"] != "soak") continue;
    const std::string metric = row["metric"];
    if (metric.ends_with("growth after warm-up")) {
      ++growth_rows;
      EXPECT_EQ(row["pass"], true) << metric << ": " << row["value"] << " " << row["unit"] << "; " << row["note"];
    } else {
      ++rate_rows;
      EXPECT_GT(row["value"].get<double>(), 0) << metric << " (" << row["case"] << "): " << row["note"];
    }
  }
  EXPECT_EQ(growth_rows, 2) << r.out;
  EXPECT_EQ(rate_rows, 4) << r.out;  // log, http, config, s3
}

}  // namespace
}  // namespace esper::cli
