// Helper processes for the live reclaim and watchdog tests.
// Holder: a process of a known size and a chosen comm that frees its whole buffer
// (munmap) when it receives its trim signal, and tells the test when and how much; a
// holder nobody signals is plain ballast. VforkStall: the parent of a vfork child kept
// stopped, which waits in state D (wchan kernel_clone on 6.18) until the child goes.
// Both are killed and reaped by their destructors.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace reaperd::itest {

class CgroupSandbox;

struct TrimReport {
  std::uint64_t bytes = 0;        // what it unmapped
  std::int64_t signalled_ns = 0;  // CLOCK_MONOTONIC when the signal was taken
  std::int64_t freed_ns = 0;      // CLOCK_MONOTONIC when munmap returned
};

class Holder {
 public:
  // Forks, names the child `comm` (at most 15 bytes), moves it into `sandbox`, then has it
  // touch `mib` MiB. pid() <= 0 on failure.
  Holder(const CgroupSandbox& sandbox, std::uint64_t mib, const std::string& comm, int trim_signal);
  ~Holder();
  Holder(const Holder&) = delete;
  Holder& operator=(const Holder&) = delete;

  pid_t pid() const { return pid_; }
  bool Alive() const;
  // The holder's report that it freed its buffer, once, if it comes within timeout_ms.
  std::optional<TrimReport> WaitTrimmed(int timeout_ms);

 private:
  pid_t pid_ = -1;
  int report_fd_ = -1;
};

class VforkStall {
 public:
  VforkStall();
  ~VforkStall();
  VforkStall(const VforkStall&) = delete;
  VforkStall& operator=(const VforkStall&) = delete;
  pid_t pid() const { return parent_; }
  // Waits up to timeout_ms until the parent shows state D.
  bool WaitInD(int timeout_ms) const;

 private:
  pid_t parent_ = -1;
};

// /proc/PID/stat's state letter, '?' if gone.
char TaskState(pid_t pid);
// /proc/PID/wchan, "" if unreadable.
std::string Wchan(pid_t pid);

}  // namespace reaperd::itest
