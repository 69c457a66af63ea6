# Fuzz targets (tests/fuzz/fuzz_<target>.c, see fuzz.h), included by the top
# CMakeLists.txt. Every build has fuzz_replay_<target> (replay.c's main)
# and ctest fuzz/<target>, which replays tests/fuzz/corpus/<target>/;
# with -DDD_FUZZ=ON (clang) also the libFuzzer binaries fuzz_<target>
# (scripts/fuzz.sh TARGET SECONDS runs one).
set(DD_FUZZ_LIBS_request ddserver)
set(DD_FUZZ_LIBS_json ddclient)
set(DD_FUZZ_LIBS_csv ddclient)
set(DD_FUZZ_LIBS_readers ddquote)
set(DD_FUZZ_LIBS_ddlib ddquote ddpolicy)
set(DD_FUZZ_LIBS_policy ddserver PkgConfig::CMOCKA) # tests/unit/quote/fixture.h
file(GLOB DD_FUZZ_TARGETS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_*.c)
foreach(src ${DD_FUZZ_TARGETS})
  get_filename_component(name ${src} NAME_WE)
  string(REGEX REPLACE "^fuzz_" "" target ${name})
  set(builds fuzz_replay_${target})
  add_executable(fuzz_replay_${target} ${src} ${CMAKE_SOURCE_DIR}/tests/fuzz/replay.c)
  if(DD_FUZZ)
    add_executable(fuzz_${target} ${src})
    target_link_options(fuzz_${target} PRIVATE -fsanitize=fuzzer)
    list(APPEND builds fuzz_${target})
  endif()
  foreach(exe ${builds})
    target_include_directories(${exe} PRIVATE ${CMAKE_SOURCE_DIR}/src
                                              ${CMAKE_SOURCE_DIR}/tests/fuzz)
    target_compile_options(${exe} PRIVATE ${DD_WARN})
    target_link_libraries(${exe} PRIVATE ${DD_FUZZ_LIBS_${target}})
  endforeach()
  add_test(NAME fuzz/${target}
           COMMAND fuzz_replay_${target} ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${target})
  set_tests_properties(fuzz/${target} PROPERTIES TIMEOUT 300)
endforeach()
