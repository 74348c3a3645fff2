# Helpers every part uses, so each part's CMakeLists.txt is a few lines.

# Warnings for our own code. -Werror comes from ESPER_WERROR (on in the CI presets).
function(esper_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough
    # Designated initializers that leave defaulted members out are our Options idiom.
    -Wno-missing-field-initializers
    $<$<BOOL:${ESPER_WERROR}>:-Werror>)
endfunction()

# esper_add_part(NAME <part> SOURCES ... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...])
# Creates library esper_<part>, alias esper::<part>, installed and exported.
function(esper_add_part)
  cmake_parse_arguments(P "" "NAME" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  set(t esper_${P_NAME})
  add_library(${t} ${P_SOURCES})
  add_library(esper::${P_NAME} ALIAS ${t})
  set_target_properties(${t} PROPERTIES EXPORT_NAME ${P_NAME} OUTPUT_NAME esper_${P_NAME})
  target_include_directories(${t} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/generated>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_include_directories(${t} PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_compile_features(${t} PUBLIC cxx_std_20)
  target_link_libraries(${t} PUBLIC ${P_PUBLIC_DEPS} PRIVATE ${P_PRIVATE_DEPS})
  esper_warnings(${t})
  install(TARGETS ${t} EXPORT esper_utilsTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
endfunction()

# esper_add_test(NAME <exe> SOURCES ... DEPS ... [LABELS unit|integration|stress] [SERIAL] [TIMEOUT s])
# Tests labelled stress, or marked SERIAL, run alone (RUN_SERIAL).
# A GoogleTest executable; each TEST becomes a ctest test carrying the labels. It links the
# testing library (testing/: "testing/http_server.h", "testing/wait.h", …).
function(esper_add_test)
  if(NOT ESPER_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(T "SERIAL" "NAME;TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  target_include_directories(${T_NAME} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(${T_NAME} PRIVATE ${T_DEPS} esper_testing GTest::gtest GTest::gmock GTest::gtest_main Threads::Threads)
  target_compile_definitions(${T_NAME} PRIVATE
    ESPER_SOURCE_DIR="${PROJECT_SOURCE_DIR}" ESPER_BINARY_DIR="${PROJECT_BINARY_DIR}")
  esper_warnings(${T_NAME})
  # A stress test loads the whole machine by design (thousands of operations, servers of its own):
  # it runs alone, so neither it nor the tests beside it fail for want of CPU. One label per test:
  # gtest_discover_tests flattens a list into the property pairs.
  list(LENGTH T_LABELS _n)
  if(_n GREATER 1)
    message(FATAL_ERROR "esper_add_test(${T_NAME}): one label, not ${T_LABELS}")
  endif()
  set(_serial FALSE)
  if(T_LABELS STREQUAL "stress" OR T_SERIAL)
    set(_serial TRUE)
  endif()
  gtest_discover_tests(${T_NAME}
    PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT} RUN_SERIAL ${_serial}
    DISCOVERY_TIMEOUT 60)
endfunction()
