// Fuzzes the cgroup memory parsers (v2 memory.events/memory.stat, v1 memory.stat, the
// sampler's file LRU by key, memory.oom_control, single values): every input goes through
// all of them.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proc/cgroup_memory.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace proc = reaperd::proc;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)proc::ParseCgroupValue(text);
  (void)proc::ParseMemoryEvents(text);
  (void)proc::ParseMemoryStatV2(text);
  (void)proc::ParseMemoryStatV1(text);
  (void)proc::ParseMemoryStatFileLru(text, false);
  (void)proc::ParseMemoryStatFileLru(text, true);
  (void)proc::ParseOomControl(text);
  return 0;
}
