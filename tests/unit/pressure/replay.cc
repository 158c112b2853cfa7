#include "unit/pressure/replay.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "pressure/trace.h"

namespace reaperd::pressure::replay {

std::vector<PressureSample> LoadTrace(const std::string& name) {
  const std::string path = std::string(REAPERD_FIXTURES) + "/traces/" + name + ".trace";
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = ParseTrace(text.str());
  EXPECT_TRUE(parsed.has_value()) << path << ": " << parsed.error().ToString();
  if (!parsed) return {};
  EXPECT_GT(parsed->size(), 20u) << path;
  return *parsed;
}

Replay ReplayTrace(const std::vector<PressureSample>& trace, Detector& d, const KillModel& model) {
  Replay r;
  std::int64_t due_ns = 0;
  for (std::size_t i = 0; i < trace.size(); ++i) {
    const PressureSample& s = trace[i];
    // The capture ran every ~50 ms with jitter: the capture nearest the due time counts as
    // the one the daemon's timer would have taken (a chased fall asks for less than 50 ms).
    if (!r.seen.empty() && s.t_ns < due_ns) {
      const bool next_nearer =
          i + 1 < trace.size() && trace[i + 1].t_ns - due_ns <= due_ns - s.t_ns;
      if (i + 1 == trace.size() || trace[i + 1].t_ns < due_ns || next_nearer) continue;
    }
    const Decision dec = d.Update(s);
    r.seen.push_back({s, dec});
    due_ns = s.t_ns + static_cast<std::int64_t>(dec.next_interval_ms) * 1'000'000;
    if (dec.level == Level::kKill) {
      r.kills.push_back({s, dec});
      if (model.note_kills) {
        d.NoteKill(s.t_ns, model.victim_bytes,
                   s.t_ns + static_cast<std::int64_t>(model.deadline_ms) * 1'000'000);
      }
    }
  }
  return r;
}

std::uint64_t PeakTaken(const std::vector<PressureSample>& trace) {
  if (trace.empty()) return 0;
  std::uint64_t lowest = trace.front().available_bytes;
  for (const auto& s : trace) lowest = std::min(lowest, s.available_bytes);
  return trace.front().available_bytes - lowest;
}

double AvailablePercent(const PressureSample& s) {
  const double cap = static_cast<double>(s.total_bytes + s.swap_total_bytes);
  return static_cast<double>(s.available_bytes + s.swap_free_bytes) / cap * 100.0;
}

}  // namespace reaperd::pressure::replay
