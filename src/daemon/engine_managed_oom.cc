// The engine's ManagedOOMMemoryPressure=kill stage: reaperd's counterpart of systemd-oomd for
// the units that opted in (policy/managed_oom.h has the rules). Once a second it reads each
// opted-in cgroup's memory.pressure and memory.stat; while the pressure is above the limit it
// also follows the candidates below it (leaf cgroups, or ones with memory.oom.group=1, as
// systemd-oomd does) and their reclaim scanning; when the pressure has stayed above for the
// duration it kills the chosen candidate whole (every process of that cgroup, protected ones
// left alone), with reasons=managed_oom_pressure. systemd-oomd running beside reaperd keeps
// these cgroups: reaperd then only says so.

#include <algorithm>
#include <charconv>
#include <map>
#include <string>
#include <vector>

#include "daemon/engine.h"
#include "daemon/engine_internal.h"
#include "kill/path_util.h"
#include "proc/cgroup_memory.h"
#include "proc/psi.h"
#include "scan/cgroup_prefs.h"

namespace reaperd::daemon {

namespace {

constexpr sys::Nanos kManagedOomPeriodNs = sys::kSecond;  // systemd-oomd's interval
constexpr int kMaxDepth = 16;
constexpr std::size_t kMaxCandidates = 1024;

// Reads cgroup/name into buf; the text, or empty on any error (a cgroup that went away).
std::string_view ReadCgroupFile(sys::SystemView& view, std::string_view cgroup,
                                std::string_view name, std::span<char> buf) {
  char path[1024];
  auto file = kill::CgroupPath(cgroup, name, path);
  if (file.empty()) return {};
  auto r = view.Read(sys::Root::kCgroup, file, buf);
  if (!r) return {};
  return {buf.data(), r->size};
}

// systemd-oomd's candidates below cgroup: the leaves, and a cgroup with memory.oom.group=1
// instead of what is below it (it is killed as one).
void CollectCandidates(sys::SystemView& view, const std::string& cgroup, int depth,
                       std::vector<std::string>& out) {
  if (depth > kMaxDepth || out.size() >= kMaxCandidates) return;
  char path[1024];
  auto rel = kill::CgroupPath(cgroup, "", path);
  std::vector<std::string> subs;
  if (!view.ListDirs(sys::Root::kCgroup, rel, subs)) return;
  if (subs.empty()) {
    if (depth > 0) out.push_back(cgroup);
    return;
  }
  std::sort(subs.begin(), subs.end());
  for (const auto& s : subs) {
    std::string child = cgroup + "/" + s;
    char buf[16];
    const std::string_view group = ReadCgroupFile(view, child, "memory.oom.group", buf);
    if (!group.empty() && group[0] == '1') {
      out.push_back(std::move(child));
    } else {
      CollectCandidates(view, child, depth + 1, out);
    }
  }
}

}  // namespace

struct Engine::ManagedOomEntry {
  policy::ManagedOomCgroup settings;
  policy::ManagedOomTrigger trigger;
  ScopeStatus status;  // the opted-in cgroup as the kill line's scope
  double full_avg10 = 0;
  double some_avg10 = 0;
  bool left_to_oomd = false;  // said once per stretch that systemd-oomd runs
  bool no_candidate_logged = false;
  std::map<std::string, std::uint64_t, std::less<>> pgscan;  // candidate -> pgscan last seen
};

struct Engine::ManagedOomState {
  std::vector<ManagedOomEntry> entries;
  sys::Nanos last_ns = 0;
  scan::CgroupPrefs prefs;
  pressure::Decision decision;
  pressure::PressureSample sample;
};

std::size_t Engine::managed_oom_cgroups() const noexcept {
  return managed_ ? managed_->entries.size() : 0;
}

std::string Engine::SetManagedOom(std::vector<policy::ManagedOomCgroup> table, int skipped) {
  if (view_.cgroup_version() != sys::CgroupVersion::kV2) {
    // systemd-oomd itself needs cgroup v2 (memory.pressure per cgroup); so does this.
    if (!table.empty() && !managed_) {
      log_.Log(LogLevel::kNotice, "managed_oom", "outcome=unsupported reason=cgroup_v1 cgroups={}",
               table.size());
      managed_ = std::make_shared<ManagedOomState>();
    }
    return "ignored reason=cgroup_v1\n";
  }
  if (!managed_) managed_ = std::make_shared<ManagedOomState>();
  std::vector<ManagedOomEntry> next;
  next.reserve(table.size());
  bool changed = table.size() != managed_->entries.size();
  std::string paths;
  for (auto& g : table) {
    auto old = std::find_if(managed_->entries.begin(), managed_->entries.end(),
                            [&](const ManagedOomEntry& e) { return e.settings.path == g.path; });
    ManagedOomEntry e;
    if (old != managed_->entries.end()) {
      changed = changed || !(old->settings == g);
      e = std::move(*old);  // its trigger keeps the time above the limit so far
    } else {
      changed = true;
      e.status.scope = policy::Scope{policy::ScopeKind::kCgroup, g.path};
      e.status.name = e.status.scope.Name();
    }
    if (!paths.empty()) paths += ',';
    paths += fmt::format("{}:{}.{:02}%:{}s", g.path, g.limit_permyriad / 100,
                         g.limit_permyriad % 100, g.duration_ns / sys::kSecond);
    e.settings = std::move(g);
    next.push_back(std::move(e));
  }
  managed_->entries = std::move(next);
  if (changed) {
    log_.Log(LogLevel::kNotice, "managed_oom", "outcome=table cgroups={} skipped={} watching={}",
             managed_->entries.size(), skipped, Q{paths.empty() ? std::string("none") : paths});
  }
  return fmt::format("ok cgroups={}\n", managed_->entries.size());
}

int Engine::ManagedOomTick(sys::Nanos now) {
  if (!managed_ || managed_->entries.empty() || view_.cgroup_version() != sys::CgroupVersion::kV2) {
    return -1;
  }
  ManagedOomState& m = *managed_;
  if (m.last_ns != 0 && now - m.last_ns < kManagedOomPeriodNs) {
    return static_cast<int>((m.last_ns + kManagedOomPeriodNs - now) / sys::kMilli) + 1;
  }
  m.last_ns = now;
  for (ManagedOomEntry& e : m.entries) {
    char buf[4096];
    const std::string_view psi_text =
        ReadCgroupFile(view_, e.settings.path, "memory.pressure", buf);
    auto psi = proc::ParsePsi(psi_text);
    if (psi_text.empty() || !psi || !psi->has_full) continue;  // not there (yet), or no PSI
    e.full_avg10 = psi->full.avg10;
    e.some_avg10 = psi->some.avg10;
    std::uint64_t pgscan = 0;
    if (auto st =
            proc::ParseMemoryStatV2(ReadCgroupFile(view_, e.settings.path, "memory.stat", buf))) {
      pgscan = st->pgscan;
    }
    const bool due = e.trigger.Observe(now, e.full_avg10, pgscan, e.settings);
    if (e.trigger.above_since_ns() == 0) {
      e.pgscan.clear();
      e.no_candidate_logged = false;
      continue;
    }
    ManagedOomDue(e, due ? now : 0);
  }
  return static_cast<int>(kManagedOomPeriodNs / sys::kMilli);
}

// Above the limit: the candidates' scanning since the last look; when due (now != 0), the kill.
void Engine::ManagedOomDue(ManagedOomEntry& e, sys::Nanos now) {
  ManagedOomState& m = *managed_;
  std::vector<std::string> paths;
  CollectCandidates(view_, e.settings.path, 0, paths);
  std::map<std::string, std::uint64_t, std::less<>> seen;
  std::vector<policy::ManagedOomCandidate> candidates;
  candidates.reserve(paths.size());
  // user.oomd_* are trusted on cgroups owned by root or by the opted-in cgroup's owner.
  char rel[1024];
  auto owner = view_.Owner(sys::Root::kCgroup, kill::CgroupPath(e.settings.path, "", rel));
  m.prefs.Clear();
  for (const auto& p : paths) {
    char buf[4096];
    auto st = proc::ParseMemoryStatV2(ReadCgroupFile(view_, p, "memory.stat", buf));
    if (!st) continue;
    std::uint64_t current = 0;
    const std::string_view cur = ReadCgroupFile(view_, p, "memory.current", buf);
    (void)std::from_chars(cur.data(), cur.data() + cur.size(), current);
    auto old = e.pgscan.find(p);
    const std::uint64_t delta =
        old != e.pgscan.end() && st->pgscan > old->second ? st->pgscan - old->second : 0;
    seen.emplace(p, st->pgscan);
    auto own = proc::ParsePsi(ReadCgroupFile(view_, p, "memory.pressure", buf));
    const bool stalled = own && own->has_full &&
                         own->full.avg10 * 100.0 > static_cast<double>(e.settings.limit_permyriad);
    candidates.push_back(
        {p, delta, current, m.prefs.Lookup(view_, p, owner ? *owner : 0), stalled});
  }
  e.pgscan = std::move(seen);
  if (now == 0) return;
  if (coexist_.Check(view_, log_); coexist_.systemd_oomd()) {
    if (!e.left_to_oomd) {
      log_.Log(
          LogLevel::kNotice, "managed_oom",
          "cgroup={} outcome=left_to other=\"systemd-oomd\" psi_full_pct={:.2f} limit_pct={:.2f}",
          Q{e.settings.path}, e.full_avg10, e.settings.limit_permyriad / 100.0);
    }
    e.left_to_oomd = true;
    e.trigger.NoteKill(now);  // look again after the delay, not every second
    return;
  }
  e.left_to_oomd = false;
  const std::ptrdiff_t chosen = policy::SelectManagedOomVictim(candidates);
  if (chosen < 0) {
    if (!e.no_candidate_logged) {
      log_.Log(LogLevel::kNotice, "managed_oom",
               "cgroup={} outcome=no_candidate candidates={} psi_full_pct={:.2f} limit_pct={:.2f}",
               Q{e.settings.path}, candidates.size(), e.full_avg10,
               e.settings.limit_permyriad / 100.0);
      e.no_candidate_logged = true;
    }
    return;
  }
  const auto& c = candidates[static_cast<std::size_t>(chosen)];
  const std::string child(c.path);
  const bool killed = ManagedOomKill(e, child, now);
  log_.Log(killed ? LogLevel::kWarning : LogLevel::kNotice, "managed_oom",
           "cgroup={} victim_cgroup={} outcome={} psi_full_pct={:.2f} limit_pct={:.2f} "
           "above_s={:.1f} victim_pgscan={} victim_stalled={} victim_memory_mib={:.1f} avoided={} "
           "candidates={}",
           Q{e.settings.path}, Q{child}, killed ? "killed" : "no_victim", e.full_avg10,
           e.settings.limit_permyriad / 100.0,
           static_cast<double>(now - e.trigger.above_since_ns()) / sys::kSecond, c.pgscan_delta,
           c.stalled ? 1 : 0, Mib(c.memory_current), (c.oomd & policy::kOomdAvoid) != 0 ? 1 : 0,
           candidates.size());
  // Killed or not (everything in it protected), back off: the pressure needs time to fall.
  e.trigger.NoteKill(now);
}

// Kills every process of child (a candidate below e's cgroup) but the protected ones: its
// largest killable process is the victim the kill line names, widened to the cgroup.
bool Engine::ManagedOomKill(ManagedOomEntry& e, std::string_view child, sys::Nanos now) {
  ManagedOomState& m = *managed_;
  stages_ = KillStages{};
  stages_.sharers = "walked";
  const policy::Scope scope{policy::ScopeKind::kCgroup, std::string(child)};
  policy::Snapshot& snap = snaps_[1 - standing_];
  if (auto r = scanner_.ScanInto(scope, scan::KillScanOptions(cfg_.rank), snap); !r) {
    log_.Log(LogLevel::kError, "kill", "scope={} outcome=scan_failed error={}", Q{e.status.name},
             Q{r.error().ToString()});
    return false;
  }
  const sys::Nanos t_scanned = clock_.Now();
  stages_.scan_ns = t_scanned - now;
  skip_.CopyTo(skipped_);
  policy::Ranking& ranking = kill_ranking_;
  ranker_->RankInto(snap, options_.self, skipped_, ranking);
  stages_.rank_ns = clock_.Now() - t_scanned;
  m.decision = pressure::Decision{};
  m.decision.level = pressure::Level::kKill;
  m.decision.reasons = pressure::kReasonManagedOomPressure;
  m.decision.psi_full_percent = e.full_avg10;
  m.decision.psi_some_percent = e.some_avg10;
  for (const auto& st : status_) {
    if (st.scope.kind == policy::ScopeKind::kSystem) {
      m.decision.available_percent = st.decision.available_percent;
      m.sample = st.sample;
    }
  }
  for (std::size_t c = 0; c < ranking.candidates.size() && c < 4; ++c) {
    const policy::Score& score = ranking.candidates[c];
    const policy::Process& p = snap.processes[score.index];
    kill::Victim victim;
    auto built = builder_.Build(snap, score.index, now, victim);
    if (!built || victim.main_stale) continue;
    // systemd-oomd kills the candidate cgroup whole; so does this (the killer re-walks it and
    // spares protected members).
    victim.widen_cgroup.Assign(child);
    victim.widen_version = sys::CgroupVersion::kV2;
    stages_.build_ns = clock_.Now() - t_scanned - stages_.rank_ns;
    KillDecision& record = kill_record_;
    record.members.clear();
    for (const auto& mem : victim.active()) record.members.push_back(mem.pid);
    const std::size_t members = victim.member_count;
    auto seq = SubmitVictim(std::move(victim));
    if (!seq) {
      log_.Log(LogLevel::kError, "kill", "scope={} pid={} outcome=submit_failed error={}",
               Q{e.status.name}, p.pid, Q{seq.error().ToString()});
      return false;
    }
    ++e.status.kills;
    if (watchdog_) watchdog_->NoteKill(p.pid);
    record.seq = *seq;
    record.scope = &e.status.scope;
    record.decision = &m.decision;
    record.sample = &m.sample;
    record.snapshot = &snap;
    record.ranking = &ranking;
    record.victim_rank = c;
    record.t_decision_ns = now;
    record.dry_run = options_.dry_run;
    LogKill(e.status, *seq, p, members, score, ranking, snap, m.decision);
    for (auto* o : observers_) o->OnKillDecision(record);
    return true;
  }
  log_.Log(LogLevel::kNotice, "kill", "scope={} outcome=no_candidate victim_cgroup={} protected={}",
           Q{e.status.name}, Q{child}, ranking.protected_processes.size());
  return false;
}

}  // namespace reaperd::daemon
