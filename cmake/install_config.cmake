# Install-time part of cmake/install.cmake: the systemd unit (its paths rewritten for the
# prefix) and the commented config. Here CMAKE_INSTALL_PREFIX is the prefix given to
# `cmake --install --prefix`; file(INSTALL) adds DESTDIR.
set(prefix "${CMAKE_INSTALL_PREFIX}")
string(REGEX REPLACE "/+$" "" prefix "${prefix}")

# GNUInstallDirs' rule for the full sysconfdir, applied to the install-time prefix.
if(IS_ABSOLUTE "${REAPERD_SYSCONFDIR}")
  set(etc "${REAPERD_SYSCONFDIR}")
elseif(prefix STREQUAL "" OR prefix STREQUAL "/usr")
  set(etc "/${REAPERD_SYSCONFDIR}")
elseif(prefix MATCHES "^/opt/")
  set(etc "/${REAPERD_SYSCONFDIR}${prefix}")
else()
  set(etc "${prefix}/${REAPERD_SYSCONFDIR}")
endif()
if(IS_ABSOLUTE "${REAPERD_SBINDIR}")
  set(sbin "${REAPERD_SBINDIR}")
else()
  set(sbin "${prefix}/${REAPERD_SBINDIR}")
endif()

# The unit in the source tree names /usr/sbin/reaperd and /etc/reaperd/ (PREFIX=/usr).
file(READ "${REAPERD_UNIT}" unit)
string(REPLACE "/usr/sbin/reaperd" "${sbin}/reaperd" unit "${unit}")
string(REPLACE "/etc/reaperd/" "${etc}/reaperd/" unit "${unit}")
file(WRITE "${REAPERD_PKG_DIR}/unit/reaperd.service" "${unit}")
file(INSTALL DESTINATION "${prefix}/lib/systemd/system" TYPE FILE
     FILES "${REAPERD_PKG_DIR}/unit/reaperd.service")

# An existing, edited config is never overwritten: the new one goes beside it.
set(existing "$ENV{DESTDIR}${etc}/reaperd/reaperd.toml")
set(name reaperd.toml)
if(EXISTS "${existing}")
  file(READ "${existing}" old)
  file(READ "${REAPERD_CONFIG}" new)
  if(NOT old STREQUAL new)
    set(name reaperd.toml.dist)
    message(STATUS "Keeping the edited ${existing}; the new default is ${name}")
  endif()
endif()
file(INSTALL DESTINATION "${etc}/reaperd" TYPE FILE FILES "${REAPERD_CONFIG}" RENAME ${name})
