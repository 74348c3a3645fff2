// esper bench s3, the transfer cases of issue 20: `esper s3 cp` beside `aws s3 cp` (Debian's
// awscli) and rclone, each a whole process run to completion in the same run against the same
// s3rver 4.0.4 (s3_transfers.cpp says what is measured and how); and its reliability rows.
#pragma once

#include "esper/core/result.h"
#include "frame.h"

namespace esper::testing {
class S3TestServer;
}

namespace esper::bench {

/// Adds the rows of the transfer cases. A peer that is not installed gets rows that say so.
Status RunS3Transfers(Context& ctx, const testing::S3TestServer& server);

/// Adds the reliability rows: issue 20's stress workload on fauxqs and s3rver through faults
/// (s3_reliability.cpp). Starts its own servers.
Status RunS3Reliability(Context& ctx);

}  // namespace esper::bench
