// Fuzzes proc::ParseVmStat (/proc/vmstat).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proc/vmstat.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)reaperd::proc::ParseVmStat(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
