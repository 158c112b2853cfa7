#include "sys/self_protect.h"

#include <fcntl.h>
#include <link.h>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <span>

#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

// The hot section's bounds (cmake/hot.ld): the kill path's own code, kept resident whole.
// Weak: a build linked without the script (sanitizers, fuzzing, tests) has neither.
extern "C" {
extern const char __reaperd_hot_start __attribute__((weak, visibility("hidden")));
extern const char __reaperd_hot_end __attribute__((weak, visibility("hidden")));
// Its groups of string-function variants, one per CPU class (cmake/hot.ld).
extern const char __reaperd_hot_rtm_start __attribute__((weak, visibility("hidden")));
extern const char __reaperd_hot_rtm_end __attribute__((weak, visibility("hidden")));
extern const char __reaperd_hot_v4_start __attribute__((weak, visibility("hidden")));
extern const char __reaperd_hot_v4_end __attribute__((weak, visibility("hidden")));
extern const char __reaperd_hot_v3_start __attribute__((weak, visibility("hidden")));
extern const char __reaperd_hot_v3_end __attribute__((weak, visibility("hidden")));
extern const char __reaperd_hot_v2_start __attribute__((weak, visibility("hidden")));
extern const char __reaperd_hot_v2_end __attribute__((weak, visibility("hidden")));
// The program's dynamic section (<link.h> declares it; a static PIE has one, a static
// executable none): where its IRELATIVE relocations are; and its ELF header, at its load
// address.
#pragma weak _DYNAMIC
extern const ElfW(Ehdr) __ehdr_start __attribute__((weak, visibility("hidden")));
}

namespace reaperd::sys {

namespace {

// What the program's IFUNC resolvers picked: the value of each IRELATIVE relocation's slot
// among its PLT's relocations (none without a dynamic section), into out as far as it goes.
// Returns how many there are, which may be more than out holds.
std::size_t IfuncPicks(std::span<std::uintptr_t> out) noexcept {
  if (_DYNAMIC == nullptr || &__ehdr_start == nullptr) return 0;
  // The load address: the ELF header is at address 0 of a PIE.
  const auto base = reinterpret_cast<std::uintptr_t>(&__ehdr_start);
  // The PLT's relocations only (DT_JMPREL), where the linker puts a static PIE's IRELATIVE
  // ones: reading DT_RELA's too would make its pages (over 100 KiB here) resident for good.
  // tests/install/hot_variants.sh reads every section's, and fails if one was missed.
  std::uintptr_t table = 0;
  std::size_t size = 0;
  for (const ElfW(Dyn)* d = _DYNAMIC; d->d_tag != DT_NULL; ++d) {
    if (d->d_tag == DT_JMPREL) table = d->d_un.d_ptr;
    if (d->d_tag == DT_PLTRELSZ) size = d->d_un.d_val;
  }
  if (table == 0) return 0;
  // The start-up relocates the section's pointers in place, or not: either way, absolute.
  const std::uintptr_t at = table < base ? base + table : table;
  const auto* rela = reinterpret_cast<const ElfW(Rela)*>(at);
  std::size_t n = 0;
  for (std::size_t i = 0; i < size / sizeof(ElfW(Rela)); ++i) {
    if (ELF64_R_TYPE(rela[i].r_info) != R_X86_64_IRELATIVE) continue;
    // The slot holds what the resolver picked, written at start.
    const std::uintptr_t pick = *reinterpret_cast<const std::uintptr_t*>(base + rela[i].r_offset);
    if (n < out.size()) out[n] = pick;
    ++n;
  }
  return n;
}

// The variant groups (cmake/hot.ld) none of the picks is in, as whole pages (see HotVariants).
HotVariants UnusedHotVariants() noexcept {
  HotVariants v;
  struct Group {
    const char* start;
    const char* end;
    const char* name;
  };
  const Group groups[] = {{&__reaperd_hot_rtm_start, &__reaperd_hot_rtm_end, "rtm"},
                          {&__reaperd_hot_v4_start, &__reaperd_hot_v4_end, "v4"},
                          {&__reaperd_hot_v3_start, &__reaperd_hot_v3_end, "v3"},
                          {&__reaperd_hot_v2_start, &__reaperd_hot_v2_end, "v2"}};
  std::array<std::uintptr_t, 256> picks;
  const std::size_t n = IfuncPicks(picks);
  if (n == 0 || n > picks.size()) return v;  // none read, or not all: leave every group in
  const std::span<const std::uintptr_t> read(picks.data(), n);
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  for (const Group& g : groups) {
    if (g.start == nullptr || g.end == nullptr) continue;
    const auto start = reinterpret_cast<std::uintptr_t>(g.start);
    const auto end = reinterpret_cast<std::uintptr_t>(g.end);
    if (std::any_of(read.begin(), read.end(),
                    [&](std::uintptr_t a) { return a >= start && a < end; })) {
      continue;
    }
    // Whole pages only: a page shared with a neighbour stays.
    const std::uintptr_t s = (start + page - 1) & ~(page - 1);
    const std::uintptr_t e = end & ~(page - 1);
    if (e <= s) continue;
    v.ranges[v.count] = {s, e, g.name};
    v.bytes += e - s;
    ++v.count;
  }
  return v;
}

// dl_iterate_phdr visits the main program first; its PT_LOAD segments are the executable.
// With a hot section (cmake/hot.ld), only it and the writable segments are locked whole: the
// rest of the code is locked as it is touched (see TrimColdCode). Without one (builds not
// linked with the script), every segment is.
struct LockState {
  std::uintptr_t hot_start = 0;
  std::uintptr_t hot_end = 0;
  HotVariants left_out;  // inside the hot section, ascending
  std::size_t bytes = 0;
  int error = 0;
};

bool LockRange(std::uintptr_t start, std::uintptr_t end, LockState& st) noexcept {
  if (end <= start) return true;
  // Plain mlock (not MLOCK_ONFAULT) populates the range: every page is read in now.
  if (::mlock(reinterpret_cast<const void*>(start), end - start) != 0) {
    st.error = errno;
    return false;
  }
  st.bytes += end - start;
  return true;
}

int LockFirstObject(dl_phdr_info* info, std::size_t, void* data) noexcept {
  auto* st = static_cast<LockState*>(data);
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const bool hot = st->hot_end > st->hot_start;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || ph.p_memsz == 0) continue;
    const std::uintptr_t start = (info->dlpi_addr + ph.p_vaddr) & ~(page - 1);
    const std::uintptr_t end = (info->dlpi_addr + ph.p_vaddr + ph.p_memsz + page - 1) & ~(page - 1);
    if (!hot || (ph.p_flags & PF_W) != 0) {
      if (!LockRange(start, end, *st)) return 1;
      continue;
    }
    std::uintptr_t hs = std::clamp(st->hot_start, start, end);
    const std::uintptr_t he = std::clamp(st->hot_end, hs, end);
    // The hot section less the variant groups no CPU pick is in.
    for (std::size_t g = 0; g < st->left_out.count; ++g) {
      const HotVariants::Range& r = st->left_out.ranges[g];
      if (r.start < hs || r.end > he) continue;
      if (!LockRange(hs, r.start, *st)) return 1;
      hs = r.end;
    }
    if (!LockRange(hs, he, *st)) return 1;
  }
  return 1;  // the main program only
}

void HotBounds(std::uintptr_t& start, std::uintptr_t& end) noexcept {
  start = end = 0;
  if (&__reaperd_hot_start != nullptr && &__reaperd_hot_end != nullptr) {
    start = reinterpret_cast<std::uintptr_t>(&__reaperd_hot_start);
    end = reinterpret_cast<std::uintptr_t>(&__reaperd_hot_end);
  }
}

// The cold code's trim: every read-only, non-writable segment of the main program, less the
// hot section, is unlocked, dropped from memory and locked again on fault.
struct TrimState {
  std::uintptr_t hot_start = 0;
  std::uintptr_t hot_end = 0;
  bool relock = true;
  int exe_fd = -1;  // the executable's file, to drop the range from the page cache too
  std::size_t bytes = 0;
  int error = 0;
};

bool TrimRange(std::uintptr_t start, std::uintptr_t end, std::uintptr_t file_offset,
               TrimState& st) noexcept {
  if (end <= start) return true;
  void* p = reinterpret_cast<void*>(start);
  const std::size_t n = end - start;
  // Not writable, so never written: the file's pages, which a fault brings back unchanged.
  // MADV_DONTNEED unmaps every one of them from this process (MADV_PAGEOUT, used before, let
  // pages the munlock had not yet put back on the evictable lists stay mapped: whole 64 KiB
  // windows of start-up code stayed resident). Then the range leaves the page cache too
  // (POSIX_FADV_DONTNEED drops the clean pages no one maps): a later fault maps the cached
  // pages of the 64 KiB around it (fault-around, which no advice turns off), and with nothing
  // cached around it, it maps the one page it reads (MADV_RANDOM: no readahead; kernels from
  // 6.16 read around a fault in executable code all the same, which is why the code that
  // runs after start is gathered in the hot section, cmake/hot.ld).
  if (st.relock && ::munlock(p, n) != 0) {
    st.error = errno;
    return false;
  }
  int error = 0;
  if (::madvise(p, n, MADV_RANDOM) != 0 || ::madvise(p, n, MADV_DONTNEED) != 0) error = errno;
  if (error == 0 && st.exe_fd >= 0) {  // best effort: the page cache is not ours to demand
    (void)::posix_fadvise(st.exe_fd, static_cast<off_t>(file_offset), static_cast<off_t>(n),
                          POSIX_FADV_DONTNEED);
  }
  // Locked again on fault whatever the advice did (a seccomp filter may refuse madvise):
  // the range must not stay unlocked.
  if (st.relock && ::mlock2(p, n, MLOCK_ONFAULT) != 0 && error == 0) error = errno;
  if (error != 0) {
    st.error = error;
    return false;
  }
  st.bytes += n;
  return true;
}

int TrimFirstObject(dl_phdr_info* info, std::size_t, void* data) noexcept {
  auto* st = static_cast<TrimState*>(data);
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    // Only segments the program cannot have written: a writable one (data, and RELRO, which
    // the relocations wrote before it became read-only) would lose its contents.
    if (ph.p_type != PT_LOAD || ph.p_memsz == 0 || (ph.p_flags & PF_W) != 0) continue;
    // Whole pages inside the segment only: a page shared with a writable segment is kept.
    const std::uintptr_t start = (info->dlpi_addr + ph.p_vaddr + page - 1) & ~(page - 1);
    const std::uintptr_t end = (info->dlpi_addr + ph.p_vaddr + ph.p_filesz) & ~(page - 1);
    if (end <= start) continue;
    const std::uintptr_t hs = std::clamp(st->hot_start, start, end);
    const std::uintptr_t he = std::clamp(st->hot_end, hs, end);
    const std::uintptr_t seg = info->dlpi_addr + ph.p_vaddr;  // at file offset p_offset
    if (!TrimRange(start, hs, ph.p_offset + (start - seg), *st) ||
        !TrimRange(he, end, ph.p_offset + (he - seg), *st)) {
      return 1;
    }
  }
  return 1;  // the main program only
}

// The variant groups left out of the lock are dropped like the cold code (LockExecutable).
struct VariantTrim {
  TrimState trim;
  const HotVariants* left_out = nullptr;
};

int TrimVariantsFirstObject(dl_phdr_info* info, std::size_t, void* data) noexcept {
  auto* vt = static_cast<VariantTrim*>(data);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || (ph.p_flags & PF_W) != 0) continue;
    const std::uintptr_t seg = info->dlpi_addr + ph.p_vaddr;
    for (std::size_t g = 0; g < vt->left_out->count; ++g) {
      const HotVariants::Range& r = vt->left_out->ranges[g];
      if (r.start < seg || r.end > seg + ph.p_filesz) continue;
      if (!TrimRange(r.start, r.end, ph.p_offset + (r.start - seg), vt->trim)) return 1;
    }
  }
  return 1;  // the main program only
}

}  // namespace

Result<std::size_t> TrimColdCode(bool relock) noexcept {
  TrimState st;
  HotBounds(st.hot_start, st.hot_end);
  if (st.hot_end <= st.hot_start) return 0;  // no hot section: everything stays locked
  st.relock = relock;
  st.exe_fd = ::open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  ::dl_iterate_phdr(TrimFirstObject, &st);
  if (st.exe_fd >= 0) ::close(st.exe_fd);
  if (st.error != 0) return Fail(Error::Sys(st.error, "trim(executable)"));
  return st.bytes;
}

Result<std::size_t> LockExecutable(HotVariants* left_out) noexcept {
  LockState st;
  HotBounds(st.hot_start, st.hot_end);
  if (st.hot_end > st.hot_start) st.left_out = UnusedHotVariants();
  if (st.left_out.count > 0) {
    // Dropped before the lock reads the rest in: their own mapping from here on (the advice
    // splits it), so the lock's faults cannot map them around the pages they read.
    VariantTrim vt;
    vt.left_out = &st.left_out;
    vt.trim.exe_fd = ::open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    ::dl_iterate_phdr(TrimVariantsFirstObject, &vt);
    if (vt.trim.exe_fd >= 0) ::close(vt.trim.exe_fd);
    if (vt.trim.error != 0) return Fail(Error::Sys(vt.trim.error, "trim(hot variants)"));
  }
  ::dl_iterate_phdr(LockFirstObject, &st);
  if (st.error != 0) return Fail(Error::Sys(st.error, "mlock(executable)"));
  if (left_out != nullptr) *left_out = st.left_out;
  return st.bytes;
}

Result<int> ReserveFdTable() noexcept {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0) return Fail(Error::Sys(errno, "getrlimit NOFILE"));
  const int slots = r.rlim_cur == RLIM_INFINITY
                        ? kFdTableSlots
                        : static_cast<int>(std::min<rlim_t>(r.rlim_cur, kFdTableSlots));
  const int base = ::open("/", O_PATH | O_CLOEXEC);
  if (base < 0) return Fail(Error::Sys(errno, "open /"));
  // A duplicate at the table's last slot makes the kernel grow the table to hold it.
  const int top = ::fcntl(base, F_DUPFD_CLOEXEC, slots - 1);
  const int err = errno;
  ::close(base);
  if (top < 0) return Fail(Error::Sys(err, "fcntl F_DUPFD"));
  ::close(top);
  return slots;
}

SelfProtection ProtectSelf(bool lock_memory) noexcept {
  SelfProtection out{{}, {}, ReserveFdTable()};
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
  if (lock_memory && ::mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0) {
    out.mlock = Fail(Error::Sys(errno, "mlockall"));
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
