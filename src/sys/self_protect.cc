#include "sys/self_protect.h"

#include <fcntl.h>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>

#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

namespace reaperd::sys {

SelfProtection ProtectSelf(bool lock_memory) noexcept {
  SelfProtection out{{}, {}};
  int fd = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    out.oom_score_adj = Fail(Error::Sys(errno, "open /proc/self/oom_score_adj"));
  } else {
    if (::write(fd, "-1000", 5) != 5) {
      out.oom_score_adj = Fail(Error::Sys(errno, "write oom_score_adj -1000"));
    }
    ::close(fd);
  }
  // One malloc arena for every thread: they allocate rarely (the warm kill path never), and
  // each extra arena would map 64 MiB and touch (and, locked, pin) pages of its own. Set
  // before mlockall and before any thread starts.
  ::mallopt(M_ARENA_MAX, 1);
  if (lock_memory && ::mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0) {
    out.mlock = Fail(Error::Sys(errno, "mlockall"));
  }
  return out;
}

}  // namespace reaperd::sys
