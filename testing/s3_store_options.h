// The S3StoreOptions of a store on one of the S3 test servers (s3_test_server.h): its endpoint,
// the region and credentials the servers take, nothing from this machine's AWS_* variables or
// ~/.aws, and no metrics (a test's or the bench's stores publish into no registry unless the
// caller gives one). Each caller adds its own tweaks:
//
//   esper::s3::S3StoreOptions o = esper::testing::StoreOptionsFor(*server);
//   o.part_size = 5 << 20;
//   auto store = esper::s3::S3Store::Create(std::move(o));
//
// Header-only on purpose: esper_testing compiles only testing/*.cpp (its glob) and links no part
// above core, so it does not link esper::s3; a test or the bench that includes this header
// links esper::s3 itself.
#pragma once

#include <string>
#include <utility>

#include "esper/core/secret.h"
#include "esper/s3/s3_store.h"
#include "testing/s3_test_server.h"

namespace esper::testing {

inline s3::S3StoreOptions StoreOptionsFor(std::string endpoint) {
  s3::S3StoreOptions o;
  o.endpoint_url = std::move(endpoint);
  o.region = S3TestServer::kRegion;
  o.credentials = s3::Credentials{.access_key_id = S3TestServer::kAccessKey,
                                  .secret_access_key = Secret(S3TestServer::kSecretKey)};
  o.env = s3::MapEnvironment({});
  o.metrics = nullptr;
  o.http.metrics = nullptr;
  return o;
}

inline s3::S3StoreOptions StoreOptionsFor(const S3TestServer& server) { return StoreOptionsFor(server.endpoint()); }

}  // namespace esper::testing
