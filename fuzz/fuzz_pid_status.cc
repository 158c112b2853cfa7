// Fuzzes proc::ParsePidStatus (/proc/PID/status).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_util.h"
#include "proc/pid_status.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto s = reaperd::proc::ParsePidStatus(text)) {
    REAPERD_FUZZ_CHECK(s->name.view().size() <= 64);
    if (!s->has_mm) REAPERD_FUZZ_CHECK(s->vm_rss == 0 && s->rss_anon == 0);
  }
  return 0;
}
