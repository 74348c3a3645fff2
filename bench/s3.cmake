# The s3 suite's transfer cases (esper s3 cp beside awscli and rclone, run as whole processes).
target_sources(esper_bench PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/s3_transfers.cpp)
# The reliability rows: issue 20's stress workload (testing/stress/s3_stress.h) through faults.
target_sources(esper_bench PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/s3_reliability.cpp)
target_link_libraries(esper_bench PRIVATE esper_testing_s3_stress)
