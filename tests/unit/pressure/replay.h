// Replays recorded pressure traces through Detectors the way the daemon would: a detector
// sees a sample only when the interval it asked for has passed, and every kill decision is
// reported back with NoteKill (the victim's size and deadline come from the caller).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pressure/detector.h"
#include "pressure/sample.h"

namespace reaperd::pressure::replay {

// Reads tests/fixtures/traces/NAME.trace; fails the test on error.
std::vector<PressureSample> LoadTrace(const std::string& name);

struct Seen {
  PressureSample sample;
  Decision decision;
};

struct Replay {
  std::vector<Seen> seen;   // every sample the detector was given, with its decision
  std::vector<Seen> kills;  // the kill decisions among them
};

struct KillModel {
  bool note_kills = true;          // report each kill back with NoteKill
  std::uint64_t victim_bytes = 0;  // what NoteKill is told the victim holds
  int deadline_ms = 5000;          // config::KillConfig's default
};

// Feeds `trace` to `d`, honouring Decision::next_interval_ms.
Replay ReplayTrace(const std::vector<PressureSample>& trace, Detector& d, const KillModel& model);

// Bytes the scope's workload took at its peak: the fall of available from the first sample
// to the lowest one. The recorded workload is the victim a kill would choose.
std::uint64_t PeakTaken(const std::vector<PressureSample>& trace);

double AvailablePercent(const PressureSample& s);

}  // namespace reaperd::pressure::replay
