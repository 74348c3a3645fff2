# The http suite holds 10,000 requests in flight against the loopback test server (run in a
# forked child process so its memory is not counted), so it links the test server.
target_sources(esper_bench PRIVATE ${PROJECT_SOURCE_DIR}/tests/common/http_test_server.cpp)
target_include_directories(esper_bench PRIVATE ${PROJECT_SOURCE_DIR}/tests)
# The "libcurl multi alone" reference loop calls libcurl directly.
find_package(CURL REQUIRED)
target_link_libraries(esper_bench PRIVATE CURL::libcurl)
