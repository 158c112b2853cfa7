// Recorded pressure traces: one PressureSample per line, as written by
// tools/capture_trace.py, so the detector can be replayed against real runs in tests and
// benchmarks. Format (whitespace-separated decimal integers; '#' starts a comment):
//   t_ns total_bytes available_bytes swap_total swap_free psi_some_us psi_full_us refault scan
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "pressure/sample.h"

namespace reaperd::pressure {

// One line: a sample, nullopt for a blank or comment line, or a parse error.
Result<std::optional<PressureSample>> ParseTraceLine(std::string_view line) noexcept;
// A whole trace. Samples must not go back in time.
Result<std::vector<PressureSample>> ParseTrace(std::string_view text);

}  // namespace reaperd::pressure
