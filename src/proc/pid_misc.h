// The small per-process files: statm, oom_score_adj, oom_score, cmdline, cgroup.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "base/error.h"
#include "base/small_string.h"

namespace reaperd::proc {

struct Statm {  // pages
  std::uint64_t size = 0;
  std::uint64_t resident = 0;
  std::uint64_t shared = 0;
  std::uint64_t text = 0;
  std::uint64_t data = 0;
};
Result<Statm> ParseStatm(std::string_view text) noexcept;

// -1000..1000; anything else is kRange.
Result<int> ParseOomScoreAdj(std::string_view text) noexcept;
// 0..2000 (the kernel's /proc/PID/oom_score).
Result<int> ParseOomScore(std::string_view text) noexcept;

// Turns the NUL-separated argv in raw into a display string in out: arguments joined by
// one space, trailing NULs dropped. Returns the length written (truncated at out.size()).
std::size_t FormatCmdline(std::string_view raw, std::span<char> out) noexcept;

struct PidCgroup {
  SmallString<512> v2_path;         // the "0::PATH" line
  SmallString<512> v1_memory_path;  // the "N:...memory...:PATH" line
  bool has_v2 = false;
  bool has_v1_memory = false;
};
Result<PidCgroup> ParsePidCgroup(std::string_view text) noexcept;

}  // namespace reaperd::proc
