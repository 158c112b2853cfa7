// sd_notify(3) and sd_watchdog_enabled(3) for the callers that still use libsystemd's names
// (daemon/daemon.cc, daemon/engine_reclaim.cc), on top of sys/systemd_notify, so the daemon
// links no libsystemd (issue 8: its six libraries were pages to fault in and lock). Only
// the header <systemd/sd-daemon.h> is still used, to keep these signatures checked against
// it; once those callers call sys::Notify and sys::WatchdogUsec, this file goes.
#include <systemd/sd-daemon.h>

#include <cerrno>
#include <cstdlib>

#include "sys/systemd_notify.h"

extern "C" int sd_notify(int unset_environment, const char* state) {
  if (state == nullptr) return -EINVAL;
  auto r = reaperd::sys::Notify(state);
  if (unset_environment != 0) ::unsetenv("NOTIFY_SOCKET");
  if (!r) return r.error().sys_errno != 0 ? -r.error().sys_errno : -EINVAL;
  return *r ? 1 : 0;
}

extern "C" int sd_watchdog_enabled(int unset_environment, uint64_t* usec) {
  const std::uint64_t v = reaperd::sys::WatchdogUsec();
  if (unset_environment != 0) {
    ::unsetenv("WATCHDOG_USEC");
    ::unsetenv("WATCHDOG_PID");
  }
  if (v == 0) return 0;
  if (usec != nullptr) *usec = v;
  return 1;
}
