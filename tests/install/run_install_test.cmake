# Installs the build tree into a fresh prefix, then configures, builds and runs a consumer project
# that uses find_package(esper_utils CONFIG REQUIRED) and pkg-config. Run by ctest (label install).
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGV}\n${out}\n${err}")
  endif()
  set(LAST_OUT "${out}" PARENT_SCOPE)
endfunction()

run(${CMAKE_COMMAND} --install ${BINARY_DIR} --prefix ${prefix})
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/install/consumer -B ${WORK_DIR}/build
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build -j 2)
run(${WORK_DIR}/build/consumer)
if(NOT LAST_OUT MATCHES "consumer ok")
  message(FATAL_ERROR "consumer printed: ${LAST_OUT}")
endif()
if(NOT EXISTS ${prefix}/bin/esper)
  message(FATAL_ERROR "esper was not installed")
endif()
# The pkg-config file names the libraries and include dir.
set(ENV{PKG_CONFIG_PATH} ${prefix}/lib/pkgconfig)
run(pkg-config --cflags --libs esper_utils)
if(NOT LAST_OUT MATCHES "-lesper_core")
  message(FATAL_ERROR "pkg-config output lacks -lesper_core: ${LAST_OUT}")
endif()
message(STATUS "install test ok: ${LAST_OUT}")
