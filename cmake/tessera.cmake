# Shared compile settings and helpers for every component.
add_compile_options(-Wall -Wextra -Werror -Wno-unused-parameter)
add_compile_definitions(BOOST_BEAST_USE_STD_STRING_VIEW BOOST_ASIO_NO_DEPRECATED
                        BOOST_ASIO_HAS_STD_INVOKE_RESULT=1)
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  add_compile_options(-Wthread-safety)
elseif(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12 at -O2/-O3 reports false -Wrestrict/-Wstringop-overflow/-Wmaybe-uninitialized on
  # inlined std::string code (GCC bugs 105329, 105651); the clang builds keep these checks.
  # GCC 12 also warns when a designated initializer leaves members to their defaults
  # (`{.column = c}`), which is what designated initializers are for; clang does not.
  add_compile_options(-Wno-restrict -Wno-stringop-overflow -Wno-maybe-uninitialized
                      -Wno-missing-field-initializers)
endif()

if(TESSERA_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
elseif(TESSERA_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    add_compile_options(-Wno-tsan)
  endif()
elseif(NOT TESSERA_SANITIZE STREQUAL "")
  message(FATAL_ERROR "TESSERA_SANITIZE must be empty, address or thread")
endif()

# tessera_library(NAME SOURCES ... DEPS ...): the component target tessera_<NAME>.
function(tessera_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(tessera_${name} STATIC ${ARG_SOURCES})
  target_include_directories(tessera_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(tessera_${name} PUBLIC ${ARG_DEPS})
endfunction()

# tessera_test(NAME SOURCES ... DEPS ... [LABELS ...]): a gtest binary registered with ctest.
function(tessera_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  if(NOT ARG_LABELS)
    set(ARG_LABELS fast)
  endif()
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}"
    ENVIRONMENT "TESSERA_SOURCE_DIR=${PROJECT_SOURCE_DIR};TESSERA_SHARED_DATA=${PROJECT_SOURCE_DIR}/../shared/data")
endfunction()

# tessera_fuzzers(CORE SOURCES ... DEPS ... FUZZERS a b ...): libFuzzer targets fuzz_<a> built
# from fuzz_<a>.cc and linked to a copy of the parsing core (SOURCES) compiled with coverage
# instrumentation, so the fuzzer sees its branches while tessera_core and the system libraries
# stay uninstrumented. ctest runs each for 20 s (label "fuzz"): new inputs go to a scratch
# directory first, the checked-in seed corpus fuzz/<a>/ is only read. Needs TESSERA_FUZZ and clang.
function(tessera_fuzzers core)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;FUZZERS" ${ARGN})
  if(NOT TESSERA_FUZZ)
    return()
  endif()
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(WARNING "TESSERA_FUZZ needs clang: ${core} fuzzers are not built")
    return()
  endif()
  set(flags -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  add_library(${core}_fuzz_core STATIC ${ARG_SOURCES})
  target_include_directories(${core}_fuzz_core PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(${core}_fuzz_core PRIVATE -fsanitize=fuzzer-no-link ${flags})
  target_link_libraries(${core}_fuzz_core PUBLIC ${ARG_DEPS})
  foreach(fuzzer ${ARG_FUZZERS})
    add_executable(fuzz_${fuzzer} fuzz_${fuzzer}.cc)
    target_compile_options(fuzz_${fuzzer} PRIVATE -fsanitize=fuzzer ${flags})
    target_link_options(fuzz_${fuzzer} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(fuzz_${fuzzer} PRIVATE ${core}_fuzz_core)
    set(scratch ${CMAKE_CURRENT_BINARY_DIR}/fuzz_${fuzzer}_corpus)
    file(MAKE_DIRECTORY ${scratch})
    add_test(NAME fuzz_${fuzzer}
      COMMAND fuzz_${fuzzer} -max_total_time=20 ${scratch} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/${fuzzer})
    set_tests_properties(fuzz_${fuzzer} PROPERTIES LABELS fuzz TIMEOUT 120)
  endforeach()
endfunction()
