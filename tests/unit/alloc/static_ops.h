// Fake process operations for the alloc tests, without a map or a growing vector, so the fake
// itself never allocates: processes 100..107 exist, a process "dies" on SIGKILL and
// process_mrelease then succeeds. Revive() brings them back for the next cycle.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>

#include "kill/process_ops.h"
#include "unit/alloc/counting.h"

namespace reaperd::alloc_test {

class StaticOps final : public kill::ProcessOps {
 public:
  std::atomic<int> signals{0};
  std::array<std::atomic<bool>, 8> killed{};
  // The allocation count (counting.h) when the first SIGKILL arrived since the test set it to
  // -1: what the path from the kill decision to the signal allocated.
  std::atomic<long> allocs_at_kill{-1};

  Result<sys::UniqueFd> Open(pid_t pid) noexcept override {
    if (pid < 100 || pid >= 108) return Fail(Error::Sys(ESRCH, "static open"));
    // fd -> pid: an fd of /dev/null per open, its number mapped through a table.
    int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && fd < static_cast<int>(owner_.size())) owner_[fd] = pid;
    return sys::UniqueFd(fd);
  }
  Result<void> Send(int pidfd, int sig) noexcept override {
    if (sig == SIGKILL) {
      long unset = -1;
      allocs_at_kill.compare_exchange_strong(unset, AllocsSoFar());
      killed[Index(pidfd)] = true;
    }
    ++signals;
    return {};
  }
  Result<void> Mrelease(int pidfd) noexcept override {
    if (!killed[Index(pidfd)]) return Fail(Error::Sys(EINVAL, "static mrelease"));
    return {};
  }
  Result<bool> WaitExit(int pidfd, int) noexcept override { return killed[Index(pidfd)].load(); }
  Result<bool> SameMm(pid_t, pid_t) noexcept override { return false; }
  void Boost(pid_t) noexcept override {}
  bool Unfreeze(pid_t) noexcept override { return false; }
  void Revive() noexcept {
    for (auto& k : killed) k = false;
  }

 private:
  std::size_t Index(int fd) const noexcept {
    if (fd < 0 || fd >= static_cast<int>(owner_.size())) return 0;
    return static_cast<std::size_t>(owner_[fd] - 100) % killed.size();
  }
  std::array<std::atomic<pid_t>, 4096> owner_{};
};

}  // namespace reaperd::alloc_test
