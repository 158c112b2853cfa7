// /proc/PID/stat. comm runs from the first '(' to the LAST ')', so it may hold ')' , spaces
// and newlines; it is kept raw here (escaping is the reporter's job).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string_view>

#include "base/error.h"
#include "base/small_string.h"

namespace reaperd::proc {

constexpr std::uint32_t kPfExiting = 0x00000004;
constexpr std::uint32_t kPfKthread = 0x00200000;

struct PidStat {
  pid_t pid = 0;
  SmallString<64> comm;  // 15 chars for tasks; kernel threads may show longer names
  char state = '?';      // R S D Z T t X x K W P I
  pid_t ppid = 0;
  pid_t pgrp = 0;
  pid_t session = 0;
  std::uint32_t flags = 0;       // field 9
  std::int64_t num_threads = 0;  // field 20
  std::uint64_t starttime = 0;   // field 22, clock ticks since boot
  std::uint64_t vsize = 0;       // field 23, bytes
  std::int64_t rss_pages = 0;    // field 24
};

// Needs at least fields 1..24; extra trailing fields are ignored.
Result<PidStat> ParsePidStat(std::string_view text) noexcept;

// The state alone (field 3, after the comm's last ')'), for a walk that looks for one state
// (the watchdog's tasks in D) and parses a whole line only for the tasks in it.
Result<char> ParsePidStatState(std::string_view text) noexcept;

}  // namespace reaperd::proc
