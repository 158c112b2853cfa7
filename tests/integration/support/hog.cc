#include "integration/support/hog.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <utility>

#include "integration/support/cgroup_sandbox.h"

namespace reaperd::itest {

namespace {

constexpr std::size_t kMiB = 1 << 20;

[[noreturn]] void SleepForever() {
  for (;;) ::syscall(SYS_pause);
}

int SharerMain(void*) { SleepForever(); }

void Touch(std::uint64_t mib) {
  if (mib == 0) return;
  void* p = ::mmap(nullptr, mib * kMiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) ::_exit(10);
  std::memset(p, 0x5a, mib * kMiB);
}

// The child's whole life: wait for "go" (it is in its cgroup by then), touch, report
// ready (with the sharer's PID), then grow or sleep.
[[noreturn]] void HogMain(const HogSpec& spec, int go, int ready) {
  char c;
  if (::read(go, &c, 1) != 1) ::_exit(11);
  Touch(spec.touch_mib);
  pid_t sharer = 0;
  auto clone_vm_child = [&] {
    void* stack = ::mmap(nullptr, 64 * 1024, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) ::_exit(12);
    sharer = ::clone(&SharerMain, static_cast<char*>(stack) + 64 * 1024,
                     CLONE_VM | CLONE_PARENT | SIGCHLD, nullptr);
    if (sharer < 0) ::_exit(13);
  };
  if (spec.clone_vm_child) clone_vm_child();
  for (int i = 0; i < spec.clone_vm_extra; ++i) {
    void* stack = ::mmap(nullptr, 64 * 1024, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) ::_exit(17);
    if (::clone(&SharerMain, static_cast<char*>(stack) + 64 * 1024, CLONE_VM | SIGCHLD, nullptr) <
        0) {
      ::_exit(18);
    }
  }
  if (::write(ready, &sharer, sizeof sharer) != sizeof sharer) ::_exit(14);
  if (spec.clone_vm_child_later) {
    if (::read(go, &c, 1) != 1) ::_exit(15);
    clone_vm_child();
    if (::write(ready, &sharer, sizeof sharer) != sizeof sharer) ::_exit(16);
  }
  if (spec.stop_when_ready) ::raise(SIGSTOP);
  if (spec.grow_mib_per_s > 0) {
    long ns_per_mib = static_cast<long>(1e9 / spec.grow_mib_per_s);
    for (std::uint64_t i = 0; i < spec.grow_max_mib; ++i) {
      Touch(1);
      timespec ts{ns_per_mib / 1000000000L, ns_per_mib % 1000000000L};
      ::nanosleep(&ts, nullptr);
    }
  }
  SleepForever();
}

void KillPid(pid_t pid) {
  if (pid <= 0) return;
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return;
  ::syscall(SYS_pidfd_send_signal, fd, SIGKILL, nullptr, 0);
  ::close(fd);
}

}  // namespace

std::uint64_t StartTime(pid_t pid) {
  std::string s = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  auto rp = s.rfind(')');
  if (rp == std::string::npos) return 0;
  const char* p = s.c_str() + rp + 2;
  for (int field = 3; field < 22; ++field) {
    p = std::strchr(p, ' ');
    if (p == nullptr) return 0;
    ++p;
  }
  return std::strtoull(p, nullptr, 10);
}

Hog Hog::Spawn(const HogSpec& spec, const CgroupSandbox* sandbox) {
  return SpawnPlaced(
      spec, [sandbox](pid_t pid) { return sandbox == nullptr || sandbox->AddProcess(pid); });
}

Hog Hog::SpawnIn(const HogSpec& spec, const std::string& cgroup_dir) {
  return SpawnPlaced(spec, [&cgroup_dir](pid_t pid) {
    return WriteFile(cgroup_dir + "/cgroup.procs", std::to_string(pid));
  });
}

Hog Hog::SpawnPlaced(const HogSpec& spec, const std::function<bool(pid_t)>& place) {
  Hog h;
  int go[2], ready[2];
  if (::pipe2(go, O_CLOEXEC) != 0) return h;
  if (::pipe2(ready, O_CLOEXEC) != 0) {
    ::close(go[0]);
    ::close(go[1]);
    return h;
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    // Never outlive a crashed test (an orphan would hold ctest's output pipe open).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::close(go[1]);
    ::close(ready[0]);
    HogMain(spec, go[0], ready[1]);
  }
  ::close(go[0]);
  ::close(ready[1]);
  h.pid_ = pid;
  bool ok = pid > 0 && place(pid);
  char c = 'g';
  ok = ok && ::write(go[1], &c, 1) == 1;
  pid_t sharer = 0;
  ok = ok && ::read(ready[0], &sharer, sizeof sharer) == sizeof sharer;
  if (ok && spec.clone_vm_child_later) {
    h.later_go_ = go[1];
    h.later_ready_ = ready[0];
  } else {
    ::close(go[1]);
    ::close(ready[0]);
  }
  h.sharer_ = sharer;
  if (!ok) {
    h.Kill();
    h.pid_ = -1;
  }
  if (ok && spec.stop_when_ready) {
    int st;
    ::waitpid(pid, &st, WUNTRACED);  // until it has stopped
  }
  return h;
}

Hog::Hog(Hog&& o) noexcept
    : pid_(std::exchange(o.pid_, 0)),
      sharer_(std::exchange(o.sharer_, 0)),
      later_go_(std::exchange(o.later_go_, -1)),
      later_ready_(std::exchange(o.later_ready_, -1)) {}

pid_t Hog::CloneVmChildNow() {
  if (later_go_ < 0) return 0;
  char c = 'c';
  pid_t sharer = 0;
  if (::write(later_go_, &c, 1) != 1) return 0;
  if (::read(later_ready_, &sharer, sizeof sharer) != sizeof sharer) return 0;
  sharer_ = sharer;
  return sharer;
}

Hog& Hog::operator=(Hog&& o) noexcept {
  if (this != &o) {
    Kill();
    pid_ = std::exchange(o.pid_, 0);
    sharer_ = std::exchange(o.sharer_, 0);
    later_go_ = std::exchange(o.later_go_, -1);
    later_ready_ = std::exchange(o.later_ready_, -1);
  }
  return *this;
}

Hog::~Hog() { Kill(); }

bool Hog::Dead(pid_t which) const {
  siginfo_t si{};
  if (::waitid(P_PID, static_cast<id_t>(which), &si, WEXITED | WNOHANG | WNOWAIT) != 0) {
    return errno == ECHILD;
  }
  // WNOWAIT: the zombie is left for Kill() to reap, so its PID cannot be reused (and
  // then signalled by mistake) while this Hog still holds it.
  return si.si_pid == which;
}

bool Hog::WaitDead(pid_t which, int timeout_ms) const {
  for (int i = 0; i < timeout_ms; ++i) {
    if (Dead(which)) return true;
    ::usleep(1000);
  }
  return Dead(which);
}

void Hog::Kill() {
  for (pid_t p : {sharer_, pid_}) {
    if (p <= 0) continue;
    KillPid(p);
    ::waitpid(p, nullptr, 0);
  }
  pid_ = sharer_ = 0;
  for (int* fd : {&later_go_, &later_ready_}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

}  // namespace reaperd::itest
