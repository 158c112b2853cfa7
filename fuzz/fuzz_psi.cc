// Fuzzes proc::ParsePsi (/proc/pressure/memory, memory.pressure). Seeds: pressure files.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_util.h"
#include "proc/psi.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto p = reaperd::proc::ParsePsi(text)) {
    // Averages feed comparisons in the detector: NaN would make every comparison false.
    for (double v : {p->some.avg10, p->some.avg60, p->some.avg300, p->full.avg10, p->full.avg60,
                     p->full.avg300}) {
      REAPERD_FUZZ_CHECK(!std::isnan(v));
    }
  }
  return 0;
}
