#include "sys/self_protect.h"

#include <fcntl.h>
#include <link.h>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

namespace reaperd::sys {

namespace {

struct LockState {
  std::size_t bytes = 0;
  int error = 0;
};

// dl_iterate_phdr visits the main program first; its PT_LOAD segments are the executable.
int LockFirstObject(dl_phdr_info* info, std::size_t, void* data) noexcept {
  auto* st = static_cast<LockState*>(data);
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || ph.p_memsz == 0) continue;
    const std::uintptr_t start = (info->dlpi_addr + ph.p_vaddr) & ~(page - 1);
    const std::uintptr_t end = (info->dlpi_addr + ph.p_vaddr + ph.p_memsz + page - 1) & ~(page - 1);
    // Plain mlock (not MLOCK_ONFAULT) populates the range: every page is read in now.
    if (::mlock(reinterpret_cast<const void*>(start), end - start) != 0) {
      st->error = errno;
      return 1;
    }
    st->bytes += end - start;
  }
  return 1;  // the main program only
}

}  // namespace

Result<std::size_t> LockExecutable() noexcept {
  LockState st;
  ::dl_iterate_phdr(LockFirstObject, &st);
  if (st.error != 0) return Fail(Error::Sys(st.error, "mlock(executable)"));
  return st.bytes;
}

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
  // MCL_ONFAULT: a page of a shared library is locked when first touched, not all of every
  // library at once (libc's whole text alone is 1.8 MiB).
  if (lock_memory) {
    if (::mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0) {
      out.mlock = Fail(Error::Sys(errno, "mlockall"));
    } else if (auto exe = LockExecutable(); !exe) {
      out.mlock = Fail(exe.error());
    }
  }
  return out;
}

Result<void> SetThreadNice(int nice) noexcept {
  if (::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), nice) != 0) {
    return Fail(Error::Sys(errno, "setpriority"));
  }
  return {};
}

}  // namespace reaperd::sys
