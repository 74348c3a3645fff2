# The "libcurl multi alone" reference loop calls libcurl directly.
find_package(CURL REQUIRED)
target_link_libraries(esper_bench PRIVATE CURL::libcurl)
