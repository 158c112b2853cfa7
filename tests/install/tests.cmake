# The installation checks (ctest -L install): scripts that take the build directory, the
# source directory and the reaperd binary. Exit 77 is a skip (a tool or kernel feature
# missing on this machine), with the reason on stderr. Included from CMakeLists.txt once
# testing is enabled.
foreach(check tree unit man capabilities footprint trust hot_layout hot_variants)
  add_test(NAME install_${check}
           COMMAND ${CMAKE_SOURCE_DIR}/tests/install/${check}.sh ${CMAKE_BINARY_DIR}
                   ${CMAKE_SOURCE_DIR} $<TARGET_FILE:reaperd>)
  set_tests_properties(install_${check} PROPERTIES LABELS install SKIP_RETURN_CODE 77
                       RUN_SERIAL TRUE TIMEOUT 180)
endforeach()
# The Debian package's contents (tests/install/deb.sh): skipped (77) unless `make deb` has
# built BUILD/reaperd_VERSION_amd64.deb, so `make test` never pays for a package build;
# `make deb` runs the script itself, and `ctest -L deb` reruns it.
add_test(NAME install_deb
         COMMAND ${CMAKE_SOURCE_DIR}/tests/install/deb.sh ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR}
                 $<TARGET_FILE:reaperd>)
set_tests_properties(install_deb PROPERTIES LABELS "install;deb" SKIP_RETURN_CODE 77
                     RUN_SERIAL TRUE TIMEOUT 180)
