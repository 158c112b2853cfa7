// systemd's service notification protocol (sd_notify(3)) without libsystemd: one datagram of
// "KEY=VALUE\n..." lines to the AF_UNIX socket named by $NOTIFY_SOCKET ("@name" is in the
// abstract namespace). libsystemd alone pulled six more shared libraries into the daemon, each
// with pages of its own to fault in and lock (issue 8); the protocol is a few lines.
// Thread-safe: every call opens, uses and closes its own socket.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string_view>

#include "base/error.h"

namespace reaperd::sys {

// Sends state (e.g. "READY=1", "WATCHDOG=1", "STATUS=text") to the datagram socket at
// socket_path: a filesystem path ("/run/systemd/notify") or "@name" for the abstract
// namespace. Errors: kInvalid for an empty, relative or too long path; kSys from socket/sendto.
// With wait false, a full queue (systemd itself stalled, under the memory pressure being
// handled, say) gives kSys EAGAIN at once: the loop's WATCHDOG=1 must not hold a kill.
Result<void> NotifyTo(std::string_view socket_path, std::string_view state,
                      bool wait = true) noexcept;

// NotifyTo($NOTIFY_SOCKET, state, wait). Returns false (and sends nothing) when
// NOTIFY_SOCKET is unset, as when reaperd runs by hand or under a test.
Result<bool> Notify(std::string_view state, bool wait = true) noexcept;

// sd_watchdog_enabled(3): the watchdog interval in microseconds that systemd asks this
// process to keep (WATCHDOG_USEC), or 0 when it asks none, the value is malformed, or
// WATCHDOG_PID names another process.
std::uint64_t WatchdogUsec() noexcept;
// The same from the two variables' values (null when unset) and this process's pid.
std::uint64_t ParseWatchdogUsec(const char* usec, const char* pid, pid_t self) noexcept;

}  // namespace reaperd::sys
