# The s3 suite's transfer cases (esper s3 cp beside awscli and rclone, run as whole processes).
target_sources(esper_bench PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/s3_transfers.cpp)
