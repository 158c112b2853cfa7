# What `make install` (cmake --install BUILD --prefix PREFIX, honouring DESTDIR) puts where:
#   PREFIX/sbin/reaperd
#   PREFIX/lib/systemd/system/reaperd.service  (systemd searches /usr/lib and /usr/local/lib)
#   SYSCONFDIR/reaperd/reaperd.toml            every key commented out ("all defaults")
#   PREFIX/share/man/man8/reaperd.8, PREFIX/share/man/man5/reaperd.toml.5
# SYSCONFDIR follows GNUInstallDirs (CMAKE_INSTALL_SYSCONFDIR, default "etc"): /etc for
# PREFIX /usr, /etc/opt/P for PREFIX /opt/P, else PREFIX/etc. It is worked out at install
# time (cmake/install_config.cmake), since `cmake --install --prefix` may differ from the
# prefix the build was configured with. Included from CMakeLists.txt after the reaperd target.
include(GNUInstallDirs)
find_program(REAPERD_AWK NAMES awk mawk gawk REQUIRED)
set(REAPERD_PKG_DIR ${CMAKE_BINARY_DIR}/packaging)
set(REAPERD_PKG_SRC ${CMAKE_SOURCE_DIR}/packaging)
file(MAKE_DIRECTORY ${REAPERD_PKG_DIR})

# The installed config: the documented default with every key commented out.
add_custom_command(
  OUTPUT ${REAPERD_PKG_DIR}/reaperd.toml
  COMMAND ${CMAKE_COMMAND} -DAWK=${REAPERD_AWK} -DSCRIPT=${REAPERD_PKG_SRC}/config/comment_keys.awk
          -DIN=${REAPERD_DEFAULT_CONFIG} -DOUT=${REAPERD_PKG_DIR}/reaperd.toml
          -P ${CMAKE_SOURCE_DIR}/cmake/run_awk.cmake
  DEPENDS ${REAPERD_DEFAULT_CONFIG} ${REAPERD_PKG_SRC}/config/comment_keys.awk
          ${CMAKE_SOURCE_DIR}/cmake/run_awk.cmake)
# reaperd.toml(5): its KEYS section generated from the same documented default.
add_custom_command(
  OUTPUT ${REAPERD_PKG_DIR}/reaperd.toml.5
  COMMAND ${CMAKE_COMMAND} -DAWK=${REAPERD_AWK} -DSCRIPT=${REAPERD_PKG_SRC}/man/toml_to_man.awk
          -DIN=${REAPERD_DEFAULT_CONFIG} -DIN2=${REAPERD_PKG_SRC}/man/reaperd.toml.5.in
          -DVERSION=${PROJECT_VERSION} -DOUT=${REAPERD_PKG_DIR}/reaperd.toml.5
          -P ${CMAKE_SOURCE_DIR}/cmake/run_awk.cmake
  DEPENDS ${REAPERD_DEFAULT_CONFIG} ${REAPERD_PKG_SRC}/man/toml_to_man.awk
          ${REAPERD_PKG_SRC}/man/reaperd.toml.5.in ${CMAKE_SOURCE_DIR}/cmake/run_awk.cmake)
configure_file(${REAPERD_PKG_SRC}/man/reaperd.8.in ${REAPERD_PKG_DIR}/reaperd.8 @ONLY)
add_custom_target(reaperd_packaging ALL
  DEPENDS ${REAPERD_PKG_DIR}/reaperd.toml ${REAPERD_PKG_DIR}/reaperd.toml.5)
# `ninja reaperd` alone leaves a tree that `cmake --install` can install.
add_dependencies(reaperd reaperd_packaging)

install(TARGETS reaperd RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
install(FILES ${REAPERD_PKG_DIR}/reaperd.8 DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${REAPERD_PKG_DIR}/reaperd.toml.5 DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
install(CODE "
  set(REAPERD_SBINDIR [[${CMAKE_INSTALL_SBINDIR}]])
  set(REAPERD_SYSCONFDIR [[${CMAKE_INSTALL_SYSCONFDIR}]])
  set(REAPERD_UNIT [[${REAPERD_PKG_SRC}/systemd/reaperd.service]])
  set(REAPERD_CONFIG [[${REAPERD_PKG_DIR}/reaperd.toml]])
  set(REAPERD_PKG_DIR [[${REAPERD_PKG_DIR}]])")
install(SCRIPT ${CMAKE_SOURCE_DIR}/cmake/install_config.cmake)
