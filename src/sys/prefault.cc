#include "sys/prefault.h"

#include <cstring>

namespace reaperd::sys {

// noinline: the alloca'd block must belong to this frame, freed on return.
[[gnu::noinline]] void PrefaultStack(std::size_t bytes) noexcept {
  auto* p = static_cast<volatile char*>(__builtin_alloca(bytes));
  // One write per page is enough to fault it in; the stack grows down, so go from the top.
  for (std::size_t off = bytes; off >= 4096; off -= 4096) p[off - 1] = 0;
  p[0] = 0;
}

}  // namespace reaperd::sys
