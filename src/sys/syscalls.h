// Thin wrappers for the syscalls glibc 2.36 may lack. Each returns the raw result as a
// Result; none allocates, so all are safe in the kill path.
#pragma once

#include <sys/types.h>

#include "base/error.h"
#include "sys/unique_fd.h"

namespace reaperd::sys {

// pidfd_open(2) (Linux 5.3). flags may be 0 or PIDFD_NONBLOCK.
Result<UniqueFd> PidfdOpen(pid_t pid, unsigned flags = 0) noexcept;
// pidfd_send_signal(2) (Linux 5.1).
Result<void> PidfdSendSignal(int pidfd, int sig) noexcept;
// process_mrelease(2) (Linux 5.15). Errors keep errno: EINVAL (not dying yet), ESRCH
// (gone), EAGAIN and EINTR (retry), ENOSYS (old kernel).
Result<void> ProcessMrelease(int pidfd) noexcept;
// kcmp(2) with KCMP_VM: true when the two processes share one mm.
Result<bool> SameMm(pid_t a, pid_t b) noexcept;
// Waits up to timeout_ms for the process behind pidfd to exit; true if it has.
Result<bool> PidfdWaitExit(int pidfd, int timeout_ms) noexcept;

// Opens /proc/PID/mem read-only. The fd holds the mm_struct the process has now (not its
// memory: /proc/PID/mem takes mm_count, not mm_users), so ProcMemGone can tell later whether
// that mm still has users. Needs ptrace-attach rights (CAP_SYS_PTRACE for other processes).
Result<UniqueFd> OpenProcMem(pid_t pid) noexcept;
// True once the mm behind a /proc/PID/mem fd has no users left (a read returns 0: the kernel's
// mem_rw finds mm_users at zero); false while it lives (reading address 0, never mapped, fails
// with EIO). Other errors are returned.
Result<bool> ProcMemGone(int fd) noexcept;

}  // namespace reaperd::sys
