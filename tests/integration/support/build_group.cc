#include "integration/support/build_group.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

namespace reaperd::itest {

namespace {

constexpr std::uint64_t kMiB = 1 << 20;

void Touch(std::uint64_t mib) {
  void* p = ::mmap(nullptr, mib * kMiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) ::_exit(10);
  std::memset(p, 0x5a, mib * kMiB);
}

[[noreturn]] void Pause() {
  for (;;) ::syscall(SYS_pause);
}

}  // namespace

BuildGroup BuildGroup::Start(const CgroupSandbox& sb, const BuildSpec& spec) {
  BuildGroup b;
  b.own_group_ = spec.own_group;
  int go[2], grow[2];
  if (::pipe2(go, O_CLOEXEC) != 0) return b;
  if (::pipe2(grow, O_CLOEXEC) != 0) {
    ::close(go[0]);
    ::close(go[1]);
    return b;
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::close(go[1]);
    ::close(grow[1]);
    char c;
    if (::read(go[0], &c, 1) != 1) ::_exit(11);
    if (spec.own_group && ::setpgid(0, 0) != 0) ::_exit(12);
    for (int j = 0; j < spec.jobs; ++j) {
      if (::fork() != 0) continue;
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      Touch(spec.start_mib);
      while (::read(grow[0], &c, 1) > 0) {
      }
      for (std::uint64_t i = 0; i < spec.grow_mib; ++i) {
        Touch(1);
        timespec ts{0, spec.ns_per_mib};
        ::nanosleep(&ts, nullptr);
      }
      Pause();
    }
    Pause();
  }
  ::close(go[0]);
  ::close(grow[0]);
  b.parent_ = pid;
  b.go_ = go[1];
  b.grow_ = grow[1];
  char c = 'g';
  if (pid <= 0 || !sb.AddProcess(pid) || ::write(b.go_, &c, 1) != 1) {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    b.parent_ = 0;
  }
  return b;
}

BuildGroup::BuildGroup(BuildGroup&& o) noexcept
    : parent_(o.parent_), own_group_(o.own_group_), go_(o.go_), grow_(o.grow_) {
  o.parent_ = 0;
  o.go_ = o.grow_ = -1;
}

void BuildGroup::ReleaseGrowth() {
  if (grow_ >= 0) ::close(grow_);
  grow_ = -1;
}

BuildGroup::~BuildGroup() {
  if (go_ >= 0) ::close(go_);
  if (grow_ >= 0) ::close(grow_);
  if (parent_ > 0) {
    if (own_group_) ::kill(-parent_, SIGKILL);
    ::kill(parent_, SIGKILL);  // its jobs follow (PR_SET_PDEATHSIG)
    ::waitpid(parent_, nullptr, 0);
  }
}

}  // namespace reaperd::itest
