// The scanner turns a SystemView into a policy::Snapshot of one scope. It is the only
// code that reads per-process files. A process that vanishes mid-scan is dropped (counted
// in Snapshot::vanished); an unreadable file leaves its fields at their defaults and is
// counted in Snapshot::unreadable.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/error.h"
#include "config/config.h"
#include "policy/snapshot.h"
#include "sys/clock.h"
#include "sys/system_view.h"

namespace reaperd::scan {

struct ScanOptions {
  std::uint32_t cmdline_max = 4096;
  bool read_exe = true;
  bool read_kernel_oom_score = true;
};

class Scanner {
 public:
  Scanner(sys::SystemView& view, const sys::Clock& clock) : view_(view), clock_(clock) {}

  // Reads every process of the scope. Fails only when /proc itself cannot be listed or
  // the scope's totals cannot be read.
  Result<policy::Snapshot> Scan(const policy::Scope& scope, const ScanOptions& options);

  // Reads one process (pid) into p; false if it vanished or is unreadable (then counted in
  // *unreadable, which may be null).
  bool ReadProcess(pid_t pid, const ScanOptions& options, policy::Process& p, int* unreadable);

  // The scope's totalpages (see Snapshot::total_pages) and the page size.
  Result<std::uint64_t> TotalPages(const policy::Scope& scope);

 private:
  sys::SystemView& view_;
  const sys::Clock& clock_;
};

}  // namespace reaperd::scan
