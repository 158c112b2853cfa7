// Reading a process's /proc files, shared by the scanner's whole read (Scanner::ReadProcess)
// and its re-read through held files (Scanner::RereadHeld, scanner_held.cc): the same
// checks (a file is taken only when read whole), the same fields.
#pragma once

#include <sys/types.h>

#include <array>
#include <string_view>

#include "base/error.h"
#include "policy/snapshot.h"
#include "proc/pid_misc.h"
#include "proc/pid_stat.h"
#include "sys/system_view.h"

namespace reaperd::scan::files {

// ENOENT or ESRCH: the process is gone, a normal event.
bool Vanished(const Error& e) noexcept;

// The kernel ends stat, status, oom_score_adj and cgroup with '\n'. Without it the read was
// cut short, and a cut number reads as a smaller one ("-1000" as "-10"), a cut path as
// another cgroup: such a process is left out of the scan rather than misjudged.
bool Complete(std::string_view text) noexcept;

// pid as the name of its /proc directory, in buf.
std::string_view PidName(pid_t pid, std::array<char, 16>& buf) noexcept;

// stat, oom_score_adj and cgroup parsed only when read whole.
Result<proc::PidStat> StatOf(std::string_view text) noexcept;
Result<int> AdjOf(std::string_view text) noexcept;
Result<proc::PidCgroup> CgroupOf(std::string_view text, bool truncated) noexcept;

// The fields of stat that may change while a process lives (its identity aside).
void TakeStat(const proc::PidStat& stat, policy::Process& p) noexcept;

// status's uid and memory breakdown into p, when read whole and naming pid's own process;
// false (p untouched) otherwise, with *thread (if given) set when the status, read whole,
// names another thread group: pid is a thread's, not a process's (/proc/TID is there to be
// opened, though /proc's listing never shows it).
bool TakeStatus(std::string_view text, bool truncated, pid_t pid, policy::Process& p,
                bool* thread = nullptr) noexcept;

// The cgroup that holds the process's memory: v1's memory controller line, else v2's, as a
// path under the view's cgroup root: rebased from reaperd's cgroup namespace onto
// view.cgroup_ns_base() (proc/cgroup_path.h), in out. Empty when that mount cannot show it
// (a cgroup outside the namespace's part of the tree): the process is then in no cgroup scope
// and matches no cgroup rule, rather than being taken for whatever "/../x" would name.
std::string_view MemoryCgroup(const proc::PidCgroup& cg, const sys::SystemView& view,
                              SmallString<512>& out) noexcept;

}  // namespace reaperd::scan::files
