// Fuzzes the small per-process parsers (statm, oom_score_adj, oom_score, cmdline, cgroup):
// every input goes through all of them, since each is a few lines of the same shapes.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_util.h"
#include "proc/pid_misc.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace proc = reaperd::proc;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)proc::ParseStatm(text);
  if (auto adj = proc::ParseOomScoreAdj(text)) REAPERD_FUZZ_CHECK(*adj >= -1000 && *adj <= 1000);
  if (auto s = proc::ParseOomScore(text)) REAPERD_FUZZ_CHECK(*s >= 0 && *s <= 2000);

  // A small output buffer exercises truncation; one byte past it must stay untouched.
  std::array<char, 33> out;
  out.back() = '\x5a';
  std::size_t n = proc::FormatCmdline(text, std::span<char>(out.data(), out.size() - 1));
  REAPERD_FUZZ_CHECK(n <= out.size() - 1);
  REAPERD_FUZZ_CHECK(out.back() == '\x5a');

  if (auto cg = proc::ParsePidCgroup(text)) {
    REAPERD_FUZZ_CHECK(cg->v2_path.view().size() <= 512);
    REAPERD_FUZZ_CHECK(cg->v1_memory_path.view().size() <= 512);
  }
  return 0;
}
