# The log suite measures spdlog's async logger as its peer, in the same run.
find_package(spdlog CONFIG QUIET)
if(spdlog_FOUND)
  target_link_libraries(esper_bench PRIVATE spdlog::spdlog)
  target_compile_definitions(esper_bench PRIVATE ESPER_BENCH_HAVE_SPDLOG=1)
else()
  message(STATUS "esper bench log: spdlog not found; the peer rows will say so")
endif()
