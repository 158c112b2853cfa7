// The alloc tests' counting allocator: global operator new/delete are replaced in the
// unit_alloc binary (counting.cc), and while counting is on every allocation through them is
// counted, on any thread. malloc called directly (e.g. by opendir inside libc) is not seen.
#pragma once

#include <atomic>

namespace reaperd::alloc_test {

struct Counted {
  long allocs;
  long bytes;
};

void StartCounting() noexcept;
Counted StopCounting() noexcept;
// The allocations counted so far (while counting is on), without stopping: a fake reads it at
// the moment it receives the kill signal.
long AllocsSoFar() noexcept;

// Counts what f allocates (on every thread) while it runs.
template <class F>
Counted Count(F&& f) {
  StartCounting();
  f();
  return StopCounting();
}

}  // namespace reaperd::alloc_test
