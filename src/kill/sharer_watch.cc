#include "kill/sharer_watch.h"

#include <algorithm>

#include "kill/victim.h"
#include "proc/loadavg.h"
#include "proc/parse_util.h"

namespace reaperd::kill {

SharerWatch::SharerWatch(sys::SystemView& view, ProcessOps& ops) : view_(view), ops_(ops) {
  char buf[32];
  if (auto r = view_.Read(sys::Root::kProc, "sys/kernel/pid_max", buf)) {
    auto v = proc::ParseU64(proc::Trim(std::string_view(buf, r->size)));
    if (v && *v > 1 && *v <= (1u << 30)) pid_max_ = static_cast<pid_t>(*v);
  }
  max_age_ns_ =
      std::clamp<sys::Nanos>(pid_max_ / kPidsPerSecond * sys::kSecond, kMinAgeNs, kMaxAgeNs);
}

Result<pid_t> SharerWatch::Cursor() noexcept {
  char buf[128];
  auto r = view_.Read(sys::Root::kProc, "loadavg", buf);
  if (!r) return Fail(r.error());
  return proc::ParseLoadavgLastPid(std::string_view(buf, r->size));
}

std::size_t SharerWatch::RangeLength(pid_t from, pid_t to) const noexcept {
  if (to >= from) return static_cast<std::size_t>(to - from);
  // Wrapped: from+1 .. pid_max-1, then 1 .. to.
  return static_cast<std::size_t>(std::max(0, pid_max_ - 1 - from)) + static_cast<std::size_t>(to);
}

const SharerWatch::Entry* SharerWatch::Vouching(const policy::ProcessId& id, sys::Nanos now,
                                                pid_t cursor, sys::Nanos max_age) const noexcept {
  for (const Entry& e : entries_) {
    if (!e.valid || !(e.id == id)) continue;
    if (now < e.walked_at || now - e.walked_at > max_age) return nullptr;
    if (RangeLength(e.cursor, cursor) > kMaxProbe) return nullptr;
    return &e;
  }
  return nullptr;
}

SharerWatch::Entry* SharerWatch::Slot(const policy::ProcessId& id,
                                      std::span<Entry* const> taken) noexcept {
  Entry* best = nullptr;
  for (Entry& e : entries_) {
    if (std::find(taken.begin(), taken.end(), &e) != taken.end()) continue;
    if (e.id == id) return &e;
    // An empty slot, else the one walked longest ago.
    if (best == nullptr || (best->valid && (!e.valid || e.walked_at < best->walked_at))) best = &e;
  }
  return best;
}

std::size_t SharerWatch::Watch(std::span<const policy::ProcessId> ids, sys::Nanos now,
                               std::vector<pid_t>& scratch) noexcept {
  auto cursor = Cursor();
  if (!cursor) return 0;
  std::array<Entry*, kEntries> walk{};
  std::size_t n = 0;
  for (const auto& id : ids) {
    if (n == kEntries) break;
    // Walked again at half its age, so that a kill between two watches finds it young.
    if (id.pid <= 1 || Vouching(id, now, *cursor, max_age_ns_ / 2) != nullptr) continue;
    Entry* e = Slot(id, {walk.data(), n});
    if (e == nullptr) break;
    *e = Entry{};
    e->id = id;
    e->walked_at = now;
    e->cursor = *cursor;  // read before the listing: a process made after it is in the range
    walk[n++] = e;
  }
  if (n == 0) return 0;
  ++walks_;
  scratch.clear();
  if (!view_.ListPids(scratch)) return 0;  // entries stay invalid: the kill walks itself
  std::array<bool, kEntries> overflow{};
  for (pid_t pid : scratch) {
    if (pid <= 1) continue;
    for (std::size_t i = 0; i < n; ++i) {
      Entry& e = *walk[i];
      if (pid == e.id.pid) continue;
      auto same = ops_.SameMm(e.id.pid, pid);
      if (!same || !*same) continue;
      if (e.count == kMaxSharers) {
        overflow[i] = true;
      } else {
        e.sharers[e.count++] = pid;
      }
    }
  }
  // The candidate must still be the process the ids named after the walk: had its PID been
  // reused during it, the kcmps above compared against the newcomer.
  for (std::size_t i = 0; i < n; ++i) {
    Entry& e = *walk[i];
    auto st = ReadStarttime(view_, e.id.pid);
    e.valid = !overflow[i] && st && *st == e.id.starttime;
  }
  return n;
}

}  // namespace reaperd::kill
