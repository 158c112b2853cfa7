# libFuzzer targets (REAPERD_FUZZ=ON, clang only). Everything in this build, the parsers and
# the config loader included, is compiled with coverage instrumentation and ASan+UBSan, so a
# memory error or undefined behaviour stops the fuzzer with the input that caused it.
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "REAPERD_FUZZ needs clang (e.g. -DCMAKE_CXX_COMPILER=clang++-16)")
endif()
# libstdc++ 12 offers <expected> only when __cpp_concepts >= 202002L. Clang before 19 does not
# claim that value although clang 16 implements what <expected> needs (conditionally trivial
# special members, P0848); clang 14 and 15 do not, and cannot build reaperd at all.
if(CMAKE_CXX_COMPILER_VERSION VERSION_LESS 16)
  message(FATAL_ERROR "REAPERD_FUZZ needs clang >= 16 for std::expected with libstdc++ 12")
elseif(CMAKE_CXX_COMPILER_VERSION VERSION_LESS 19)
  add_compile_options(-Wno-builtin-macro-redefined -U__cpp_concepts -D__cpp_concepts=202002L)
endif()
add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
                    -fno-omit-frame-pointer)
add_link_options(-fsanitize=address,undefined)

file(GLOB REAPERD_FUZZ_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/fuzz/fuzz_*.cc)
foreach(src ${REAPERD_FUZZ_SOURCES})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_compile_options(${name} PRIVATE ${REAPERD_WARNINGS})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  target_link_libraries(${name} PRIVATE reaperd_proc reaperd_config)
endforeach()
