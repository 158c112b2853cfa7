// Pre-faulting of stacks: with mlockall(MCL_ONFAULT) a page is locked only once touched, and
// a stack page first touched on the kill path, when memory is at its worst, would have to be
// allocated then (direct reclaim, or worse). Each thread of the kill path touches the depth
// of stack it may use once, at startup, so those pages are allocated and locked up front.
#pragma once

#include <cstddef>

namespace reaperd::sys {

// Touches `bytes` of the calling thread's stack below the current frame (and returns,
// leaving the pages resident: locked under mlockall). Keep `bytes` well inside the thread's
// stack size: the guard page below it ends the process.
void PrefaultStack(std::size_t bytes) noexcept;

// How much of a thread's stack of `stack_bytes` to pre-fault: all but a margin for the
// thread's own bookkeeping (TLS, the pthread descriptor) and the frames above the call.
inline constexpr std::size_t PrefaultDepth(std::size_t stack_bytes) noexcept {
  constexpr std::size_t kMargin = 16 * 1024;
  return stack_bytes > 2 * kMargin ? stack_bytes - kMargin : stack_bytes / 2;
}

// The main thread's pre-faulted depth: the loop's deepest path (scan, rank, a kill line
// formatted in a 4 KiB stack buffer, the victim build) uses well under this.
inline constexpr std::size_t kMainThreadPrefaultBytes = 128 * 1024;

}  // namespace reaperd::sys
