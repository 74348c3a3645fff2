# The "libcurl multi alone" reference loops (libcurl_alone.cpp) call libcurl directly.
find_package(CURL REQUIRED)
target_sources(esper_bench PRIVATE ${CMAKE_CURRENT_LIST_DIR}/libcurl_alone.cpp)
target_link_libraries(esper_bench PRIVATE CURL::libcurl)
