# reaperd-bus (issue 15): publishes the daemon's event stream on the D-Bus system bus with
# sd-bus. A separate executable, so reaperd itself links no D-Bus library. reaperd_bus holds
# the pure translation of events (tested in tests/unit/bus); without libsystemd's development
# files (`make deps` installs them) the executable is left out with a message.
add_library(reaperd_bus STATIC ${CMAKE_SOURCE_DIR}/src/bus/bus_events.cc
            ${CMAKE_SOURCE_DIR}/src/bus/managed_oom_units.cc)
target_include_directories(reaperd_bus PUBLIC ${CMAKE_SOURCE_DIR}/src)
target_compile_options(reaperd_bus PRIVATE ${REAPERD_WARNINGS})
target_link_libraries(reaperd_bus PUBLIC nlohmann_json::nlohmann_json reaperd_report)

option(REAPERD_BUS "Build and install reaperd-bus (needs libsystemd)" ON)
# reaperd-managed-oom: ManagedOOMMemoryPressure= of systemd's units, read with sd-bus and sent
# to the daemon (src/bus/managed_oom_main.cc). Packaged (debian/rules), unlike reaperd-bus.
option(REAPERD_MANAGED_OOM "Build and install reaperd-managed-oom (needs libsystemd)" ON)
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND AND (REAPERD_BUS OR REAPERD_MANAGED_OOM))
  pkg_check_modules(REAPERD_LIBSYSTEMD IMPORTED_TARGET libsystemd)
endif()
if(REAPERD_LIBSYSTEMD_FOUND AND REAPERD_MANAGED_OOM)
  add_executable(reaperd-managed-oom ${CMAKE_SOURCE_DIR}/src/bus/managed_oom_main.cc)
  target_compile_options(reaperd-managed-oom PRIVATE ${REAPERD_WARNINGS})
  target_link_libraries(reaperd-managed-oom PRIVATE reaperd_bus reaperd_sys PkgConfig::REAPERD_LIBSYSTEMD)
  install(TARGETS reaperd-managed-oom RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
  install(CODE "
    file(READ [[${CMAKE_SOURCE_DIR}/packaging/systemd/reaperd-managed-oom.service]] unit)
    string(REPLACE /usr/sbin/reaperd-managed-oom \${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_SBINDIR}/reaperd-managed-oom
           unit \"\${unit}\")
    file(WRITE \$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/lib/systemd/system/reaperd-managed-oom.service
         \"\${unit}\")")
elseif(REAPERD_MANAGED_OOM)
  message(WARNING "libsystemd not found (apt-get install libsystemd-dev): reaperd-managed-oom is not built")
endif()
if(REAPERD_LIBSYSTEMD_FOUND AND REAPERD_BUS)
  add_executable(reaperd-bus ${CMAKE_SOURCE_DIR}/src/bus/main.cc ${CMAKE_SOURCE_DIR}/src/bus/user_notice.cc)
  target_compile_options(reaperd-bus PRIVATE ${REAPERD_WARNINGS})
  target_link_libraries(reaperd-bus PRIVATE reaperd_bus reaperd_report PkgConfig::REAPERD_LIBSYSTEMD)
  install(TARGETS reaperd-bus RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
  # The unit names /usr/sbin/reaperd-bus; written with the install prefix's sbin instead.
  install(CODE "
    file(READ [[${CMAKE_SOURCE_DIR}/packaging/systemd/reaperd-bus.service]] unit)
    string(REPLACE /usr/sbin/reaperd-bus \${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_SBINDIR}/reaperd-bus
           unit \"\${unit}\")
    file(WRITE \$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/lib/systemd/system/reaperd-bus.service
         \"\${unit}\")")
  install(FILES ${CMAKE_SOURCE_DIR}/packaging/dbus/org.freedesktop.LowMemoryMonitor.conf
          DESTINATION ${CMAKE_INSTALL_DATADIR}/dbus-1/system.d)
elseif(REAPERD_BUS)
  message(WARNING "libsystemd not found (apt-get install libsystemd-dev): reaperd-bus is not built")
endif()
