// Fuzzes proc::ParsePidStat and proc::ParsePidStatState (/proc/PID/stat; comm may hold ')'
// and newlines): when both parse a line, they find the same state.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_util.h"
#include "proc/pid_stat.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto state = reaperd::proc::ParsePidStatState(text);
  if (auto s = reaperd::proc::ParsePidStat(text)) {
    REAPERD_FUZZ_CHECK(s->comm.view().size() <= 64);
    // comm is a substring of the input, so it can never be longer than it.
    REAPERD_FUZZ_CHECK(s->comm.view().size() <= size);
    if (state) REAPERD_FUZZ_CHECK(*state == s->state);
  }
  return 0;
}
