// Fuzzes proc::ParseMemInfo (/proc/meminfo). Seeds: tests/fixtures/**/meminfo*.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_util.h"
#include "proc/meminfo.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto m = reaperd::proc::ParseMemInfo(text);
  if (m && !m->has_mem_available) {
    // The estimate never exceeds what it is made of (saturating, so it may equal the cap).
    REAPERD_FUZZ_CHECK(m->mem_available >= m->mem_free || m->mem_available == UINT64_MAX);
  }
  return 0;
}
