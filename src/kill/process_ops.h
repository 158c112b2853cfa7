// The narrow OS interface of the kill layer: everything the killer and the reaper do to a
// process goes through ProcessOps, so unit tests swap in a recording fake and never send a
// real signal. RealProcessOps forwards to sys/ (pidfds, process_mrelease, kcmp) and to
// cgroupfs views for unfreezing. Thread safety: RealProcessOps is safe from several threads.
#pragma once

#include <sys/types.h>

#include <optional>

#include "base/error.h"
#include "sys/system_view.h"
#include "sys/unique_fd.h"

namespace reaperd::kill {

// The one call the kill path needs; split out so a test can wrap just the signalling.
class Signaller {
 public:
  virtual ~Signaller() = default;
  virtual Result<void> Send(int pidfd, int sig) noexcept = 0;
};

class ProcessOps : public Signaller {
 public:
  virtual Result<sys::UniqueFd> Open(pid_t pid) noexcept = 0;
  // process_mrelease(2): errno kept (EINVAL not dying yet, ESRCH gone, EAGAIN/EINTR retry).
  virtual Result<void> Mrelease(int pidfd) noexcept = 0;
  // True once the process behind pidfd has exited. Waits up to timeout_ms (0: just looks).
  virtual Result<bool> WaitExit(int pidfd, int timeout_ms) noexcept = 0;
  // kcmp(KCMP_VM): the two processes share one mm.
  virtual Result<bool> SameMm(pid_t a, pid_t b) noexcept = 0;
  // Helps a dying process run: raises its scheduling priority (best effort).
  virtual void Boost(pid_t pid) noexcept = 0;
  // Thaws the v1 freezer cgroup or the v2 cgroup.freeze of pid if frozen; true if it did.
  virtual bool Unfreeze(pid_t pid) noexcept = 0;
  // A handle on pid's mm as it is now (sys::OpenProcMem), for MmGone. Unsupported unless
  // overridden: the reaper then judges release on exit and process_mrelease alone.
  virtual Result<sys::UniqueFd> OpenMm(pid_t) noexcept {
    return Fail(Error::Of(Errc::kUnsupported, "OpenMm"));
  }
  // True once the mm behind an OpenMm handle has no users left (its memory is freed).
  virtual Result<bool> MmGone(int) noexcept {
    return Fail(Error::Of(Errc::kUnsupported, "MmGone"));
  }
};

class RealProcessOps final : public ProcessOps {
 public:
  // proc: the /proc view. The freezer views are opened here (absent ones are skipped).
  explicit RealProcessOps(sys::SystemView& proc);

  Result<void> Send(int pidfd, int sig) noexcept override;
  Result<sys::UniqueFd> Open(pid_t pid) noexcept override;
  Result<void> Mrelease(int pidfd) noexcept override;
  Result<bool> WaitExit(int pidfd, int timeout_ms) noexcept override;
  Result<bool> SameMm(pid_t a, pid_t b) noexcept override;
  void Boost(pid_t pid) noexcept override;
  bool Unfreeze(pid_t pid) noexcept override;
  Result<sys::UniqueFd> OpenMm(pid_t pid) noexcept override;
  Result<bool> MmGone(int fd) noexcept override;

 private:
  sys::SystemView& proc_;
  std::optional<sys::RealSystemView> freezer_v1_;  // /sys/fs/cgroup/freezer
  std::optional<sys::RealSystemView> unified_;     // the cgroup2 mount, for cgroup.freeze
};

// Nice value given to a victim (and to the reaper threads) when allowed.
constexpr int kBoostNice = -10;

}  // namespace reaperd::kill
