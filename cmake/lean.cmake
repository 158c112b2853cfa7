# REAPERD_LEAN (issue 8, the footprint): build the reaperd executable so that it maps as little
# as possible once running locked. fmt and toml++ are used header-only (no libfmt.so, no
# libtomlplusplus.so, which would otherwise pull the shared libstdc++ back in beside a static
# one), libstdc++ and libgcc are linked statically, and unused sections are dropped by the
# linker. REAPERD_STATIC (with REAPERD_LEAN) links the executable fully static as a static PIE
# (glibc included, no ld.so and no shared library, ASLR kept): the executable is locked whole
# but no shared library's fault-around is paid for. The daemon uses no NSS function
# (getpwnam & co.), which static glibc could not serve; the linker would warn.
# Both are on by default (idle VmRSS 3456 kB against 5852 kB without them, issue 8's bound
# being 4 MiB; tests/install/footprint.sh asserts it), and off under the sanitizers and
# fuzzing, which need the dynamic runtime. The compile side (header-only, -ffunction-sections)
# applies to every target of the build, since the layers' static libraries are shared by the
# executable and the tests; the link side applies to the reaperd executable only. docs/architecture.md
# ("Footprint") has the figures. Included from CMakeLists.txt after find_package(fmt), the
# toml++ pkg-config and the REAPERD_SANITIZE / REAPERD_FUZZ options.
set(reaperd_lean_default ON)
if(REAPERD_SANITIZE OR REAPERD_FUZZ)
  set(reaperd_lean_default OFF)
endif()
option(REAPERD_LEAN "Link reaperd lean: header-only fmt and toml++, static libstdc++"
       ${reaperd_lean_default})
option(REAPERD_STATIC "With REAPERD_LEAN, link reaperd as a fully static PIE"
       ${reaperd_lean_default})

if(REAPERD_LEAN)
  set(REAPERD_FMT fmt::fmt-header-only)
  # The pkg-config target says TOML_HEADER_ONLY=0 and links libtomlplusplus.so: only its
  # include directory is kept.
  add_library(reaperd_tomlpp_header_only INTERFACE)
  target_include_directories(reaperd_tomlpp_header_only SYSTEM INTERFACE ${TOMLPP_INCLUDE_DIRS})
  target_compile_definitions(reaperd_tomlpp_header_only INTERFACE TOML_HEADER_ONLY=1)
  set(REAPERD_TOML reaperd_tomlpp_header_only)
  add_compile_options(-ffunction-sections -fdata-sections)
else()
  set(REAPERD_FMT fmt::fmt)
  set(REAPERD_TOML PkgConfig::TOMLPP)
endif()

# The link side, for the reaperd executable only.
function(reaperd_lean_link target)
  if(NOT REAPERD_LEAN)
    return()
  endif()
  target_link_options(${target} PRIVATE -Wl,--gc-sections -Wl,-O1,--as-needed
                      -Wl,-T,${CMAKE_SOURCE_DIR}/cmake/hot.ld)
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS ${CMAKE_SOURCE_DIR}/cmake/hot.ld)
  # The hot layers' archives first, whole, before the program's own objects: an inline or
  # template function (fmt, std::string, the containers) is kept from the first object the
  # linker loads that has it, and only that copy is placed. Loaded first, the hot layers'
  # copies are the ones kept, so they land in the hot section (cmake/hot.ld) and not in the
  # trimmed .text beside the command line's code. --gc-sections drops what nothing uses.
  set(hot_archives)
  foreach(lib kill scan proc policy pressure sys base reclaim watchdog daemon report)
    list(APPEND hot_archives $<TARGET_FILE:reaperd_${lib}>)
  endforeach()
  target_link_options(${target} PRIVATE -Wl,--whole-archive ${hot_archives}
                      -Wl,--no-whole-archive)
  if(REAPERD_STATIC)
    # -static-pie implies static libstdc++ and libgcc; naming them too made g++ 12 link a PIE
    # without an interpreter that crashed at once.
    target_link_options(${target} PRIVATE -static-pie)
  else()
    # Still maps libm.so: libstdc++.a's floating_from_chars.o names fesetround, and ld.bfd
    # decides --as-needed before --gc-sections drops that reference (ld.lld does not).
    target_link_options(${target} PRIVATE -static-libstdc++ -static-libgcc)
  endif()
endfunction()
