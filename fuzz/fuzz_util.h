// Shared by the libFuzzer targets: an invariant check that aborts (so libFuzzer records a
// crash with the input) even in builds where assert() is compiled out.
#pragma once

#include <cstdio>
#include <cstdlib>

#define REAPERD_FUZZ_CHECK(cond)                                                         \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)
