// The engine: one pass of the daemon per tick, for every scope. Samples the scope, lets its
// detector decide, and on a kill decision scans the scope, ranks it, builds the victim group
// and hands it to the reaper (which signals at once and reaps on its own threads). Results
// of the reaper come back through OnReaperEvent(). The event loop (daemon.h) owns the fds
// and calls in; the engine makes no blocking call on a victim.
// Not thread-safe: called from the daemon's loop thread only.
// The kill path (decide, scan, rank, build, submit, log, and popping the reaper's result)
// makes no heap allocation once warm: the snapshot, ranking and decision record are reused
// members and log lines are formatted on the stack (tests/unit/alloc proves it).
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/log.h"
#include "base/small_string.h"
#include "config/config.h"
#include "daemon/coexist.h"
#include "daemon/observer.h"
#include "daemon/sampler.h"
#include "kill/last_resort.h"
#include "kill/process_ops.h"
#include "kill/reaper.h"
#include "kill/victim.h"
#include "policy/managed_oom.h"
#include "policy/rank.h"
#include "pressure/detector.h"
#include "reclaim/hook.h"
#include "reclaim/worker.h"
#include "scan/pod_names.h"
#include "scan/scanner.h"
#include "sys/spawn.h"
#include "watchdog/watchdog.h"

namespace reaperd::daemon {

// The fastest rate at which a process is expected to fill memory (pressure/detector.h).
using pressure::kMaxFillBytesPerSecond;
// The tick interval while a kill is held for the reclaim chain.
constexpr int kHoldTickMs = 20;

struct EngineOptions {
  bool dry_run = false;
  pid_t self = 0;  // reaperd's pid, protected from itself
  // At Start, run the kill path once on a child of reaperd's own (Engine::DrillKillPath).
  // Off for tests whose fakes have no such child; never in a dry run.
  bool kill_drill = false;
};

// What one tick saw in one scope, for status and tests.
struct ScopeStatus {
  policy::Scope scope;
  std::string name;  // scope.Name(), kept so a log line does not build it
  pressure::Decision decision;
  pressure::PressureSample sample;
  std::uint64_t kills = 0;
  std::uint64_t kill_decisions = 0;
  std::uint64_t sample_errors = 0;
  // Found by cgroup discovery (daemon/discovery.h): dropped quietly once its cgroup is gone,
  // where a scope named on the command line keeps warning instead.
  bool automatic = false;
  // Since when a kill in this scope waits for an exiting process to finish (0: not waiting).
  std::int64_t exit_hold_since_ns = 0;
  // When a cgroup scope's top candidates were last handed to the sharer watch (0: never).
  std::int64_t sharers_watched_ns = 0;
  // A cgroup scope's totalpages as its last scan that read them found them, and when (0:
  // never): the kill's scan takes them from here while they are young (Engine::ScopeScan).
  std::uint64_t total_pages = 0;
  std::int64_t total_read_ns = 0;
  // A v1 cgroup scope's usage alarm (see Engine::UsageAlarmAt): the usage the loop wants a
  // threshold at (0: none), and the one the loop's event sources registered (0: none).
  std::uint64_t usage_alarm_wanted = 0;
  std::uint64_t usage_alarm_armed = 0;
  // A v2 cgroup scope's polled alarm (Engine::UsagePollCovers): the usage at which its
  // memory.current, read alone at each tick while it is idle, asks for a whole sample (0: none;
  // every tick samples it whole).
  std::uint64_t usage_poll_at = 0;
  // The kill-size ladder of this scope's episode (kill/step_ladder.h): forgotten when the
  // episode ends, once the scope has stayed at ok for kEpisodeEndNs since ok_since_ns (0: not
  // at ok).
  kill::StepLadder ladder;
  std::int64_t ok_since_ns = 0;
  // When this scope is next due for a look (0: at the next tick), and the interval that due
  // time came from. A tick looks at it from half that interval before it is due on, so the
  // scopes share the fastest one's ticks and none is looked at faster than its own pace
  // asks (Engine::Due).
  std::int64_t due_ns = 0;
  std::int64_t due_interval_ns = 0;
};

// An episode (the ladder, the growth baseline) ends once its scope has stayed at ok this long.
// Not at the first ok: the sample right after a victim's memory came back sees the scope at
// ok while others go on growing, and the next one sees it at kill again (the lab's growers,
// session 18: the ladder started over at every kill of a burst).
constexpr std::int64_t kEpisodeEndNs = 1'000'000'000;

// The system scope's kill decides on a standing snapshot (see Engine::ScanForKill): how many
// top candidates a refresh re-reads; how often the snapshot is refreshed and read whole at
// warn and reclaim; the age of its last refresh past which a kill reads it whole again (its
// whole read may be up to kStandingWholeNs older).
constexpr std::size_t kRereadTop = 8;
// How a kill's snapshot was read (the kill line's read=): a scan; a refresh (new processes and
// the top candidates read again, the rest carried over); a refresh and then its rivals read
// again (it could not vouch for its first candidate: memory grew where it did not read); the
// refresh and then a whole read (too many rivals, or rivals still after theirs).
enum class KillRead : std::uint8_t { kWhole, kRefresh, kRefreshRivals, kWholeAfterRefresh };
// How many carried-over candidates a kill reads again when the refresh cannot vouch for its
// first (Engine::CheckRivals); past it the kill reads /proc whole.
constexpr std::size_t kMaxRivals = 32;
constexpr std::int64_t kStandingRefreshNs = 1000 * 1000 * 1000;
constexpr std::int64_t kStandingWholeNs = 10LL * 1000 * 1000 * 1000;
constexpr std::int64_t kStandingMaxAgeNs = 5LL * 1000 * 1000 * 1000;
// At ok, the standing snapshot is kept young enough for a kill while the detector's trend puts
// the kill floor at most this far away (time_to_exhaustion_ms): idle, nothing is read.
constexpr std::int64_t kStandingFallHorizonMs = 10'000;
// There, it is refreshed (read whole) when its refresh (whole read) is this much younger than
// a kill accepts (StandingMaxAgeNs, StandingWholeMaxAgeNs), not at warn's pace.
constexpr std::int64_t kStandingFallMarginNs = 2LL * 1000 * 1000 * 1000;
// With the kill near (Engine::KillNear), at ok, warn or reclaim, it is refreshed this often (or
// at a fifth of its period at warn, if longer): a burst of new processes that grew past the
// old top within a second (the lab's growers) is then read, ranked and held before the kill,
// which re-reads it through held files instead of reading it whole or as rivals by path.
constexpr std::int64_t kStandingNearRefreshNs = 200 * 1000 * 1000;
// A whole read of /proc may take the loop at most this share of its time at warn and reclaim:
// on a host where it takes 200 ms (10,000 processes) the refresh comes every 4 s, not every
// second, and the age a kill accepts grows with it.
constexpr std::int64_t kStandingDutyDivisor = 20;

// A cgroup scope at warn or above has its top candidates' mm sharers watched
// (kill::SharerWatch), so that its kill probes only the PIDs allocated since instead of
// walking /proc: this many candidates, looked at this often (a scan of the scope's own
// processes and a ranking; the walk of /proc only when the watch no longer vouches).
constexpr std::size_t kWatchedPerScope = 2;
constexpr std::int64_t kSharerWatchPeriodNs = 1000 * 1000 * 1000;

// How old a cgroup scope's totalpages (meminfo and the limits on its path) may be for its
// kill's scan to use them instead of reading them. The sharer watch reads them again at half
// this age, so that a scope at warn or above always has them young.
constexpr std::int64_t kScopeTotalMaxAgeNs = 10LL * 1000 * 1000 * 1000;

// How long a kill waits for a process of the scope that is already exiting (its memory is on
// its way back) before choosing a victim anyway: an exit can get stuck.
constexpr std::int64_t kExitHoldNs = 1000 * 1000 * 1000;

// The least distance between a cgroup scope's usage and its usage alarm (Engine::UsageAlarmAt).
constexpr std::uint64_t kUsageAlarmMinStep = 1024 * 1024;

class Engine {
 public:
  // cfg must outlive the engine (the reaper and killers keep references to cfg.kill).
  Engine(const config::Config& cfg, std::vector<policy::Scope> scopes, EngineOptions options,
         sys::SystemView& view, const sys::Clock& clock, Logger& log, kill::ProcessOps& ops,
         kill::SysrqWriter& sysrq);
  ~Engine();

  // Observers outlive the engine; called on the loop thread.
  void AddObserver(EngineObserver* o) { observers_.push_back(o); }
  // Pod names for the kill line (only Find(): nothing read or allocated); outlives the engine.
  void SetPodNames(const scan::PodNames* pods) { pods_ = pods; }

  // Start in two steps, so that the daemon can drop the executable's start-up code between
  // them (sys::TrimColdCode): Launch makes what only the start-up needs (the drill's child,
  // the stall watchdog's and the reaper's threads: fork, pthread_create and thread start-up
  // live in the trimmed code, and after the trim each faulted a window of it back in, about
  // 130 kB of the 2 MiB target); Start then warms the kill path and runs the drill. Start
  // launches first if Launch was not called.
  Result<void> Launch();
  Result<void> Start();
  void Stop() noexcept;

  // Samples and decides for every scope; kills where the detector says so. Returns the
  // interval until the next tick (the smallest any scope asks for).
  int Tick();
  // Drains the reaper's results: logs them and tells the detectors. True when a victim's
  // scope is to be sampled at once (its victim is done): the loop ticks now.
  bool OnReaperEvent();
  int reaper_fd() const noexcept { return reaper_->event_fd(); }

  // Adds a scope with its own sampler, detector and reclaim chain. False (nothing changes)
  // when a scope of that name exists. Logs "scope_added".
  bool AddScope(const policy::Scope& scope, bool automatic);
  // Removes a scope: its reclaim chain is stopped and joined, a kill held for its pre-kill
  // hook is dropped (the hook is left to the hook runner). Victims already with the reaper
  // keep their own scope key and finish as usual. Logs "scope_removed". False when absent.
  bool RemoveScope(std::string_view name, std::string_view reason);
  // Changes whenever a scope is added or removed (the loop then syncs its event sources).
  std::uint64_t scopes_generation() const noexcept { return scopes_generation_; }
  // Changes whenever a scope's usage alarm should move (the loop then moves it).
  std::uint64_t alarms_generation() const noexcept { return alarms_generation_; }
  // The event sources tell which usage alarm they registered for scope i (0: none, or it
  // failed). While a scope's usage is below its armed alarm, the kernel wakes the loop on
  // the crossing, so that an idle small cgroup is not sampled at interval_fast_ms.
  void SetUsageAlarmArmed(std::size_t i, std::uint64_t bytes) noexcept;
  // A PSI trigger or pressure-level event fired: the next tick samples every scope whole, a
  // v2 scope polled below its alarm included (the stall it reports does not move the usage).
  void SampleWholeNextTick() noexcept { sample_whole_ = true; }

  // Applies a reloaded config: live is the config the engine was built with (the same
  // object), fresh the file just read. The live sections (config/reload.h) are copied into
  // live and take effect now: detectors keep their history, post-kill holds and levels; the
  // reclaim chains are rebuilt when their section changed. Every other changed key keeps its
  // running value and is logged as restart_needed.
  void Reload(config::Config& live, const config::Config& fresh);

  const std::vector<ScopeStatus>& status() const noexcept { return status_; }
  std::size_t victims_in_flight() const noexcept { return reaper_->in_flight(); }
  const std::vector<Sampler>& samplers() const noexcept { return samplers_; }
  const pressure::Detector& detector(std::size_t i) const noexcept { return detectors_[i]; }
  const policy::Ranker& ranker() const noexcept { return *ranker_; }
  // The reclaim chain of scope i (null when it has no notifiers, or in a dry run).
  const reclaim::Worker* reclaimer(std::size_t i) const noexcept { return reclaimers_[i].get(); }
  watchdog::Watchdog* stall_watchdog() noexcept { return watchdog_.get(); }
  // Where "event" notifiers publish (the event stream of the status socket). Set before
  // Start(); the reclaim workers call it from their threads.
  void SetEventPost(reclaim::EventPost post) { event_post_ = std::move(post); }

  // ManagedOOMMemoryPressure=kill (engine_managed_oom.cc): the opted-in cgroups as
  // reaperd-managed-oom read them from systemd (the whole table; empty stops it). A cgroup
  // already followed keeps its history. Returns the reply line for the status socket.
  std::string SetManagedOom(std::vector<policy::ManagedOomCgroup> table, int skipped);
  std::size_t managed_oom_cgroups() const noexcept;

  // systemd's watchdog (WATCHDOG_USEC): pinged at half its period by every loop pass, not
  // only by ticks, since a tick may be up to interval_slow_ms (60 s) away. The loop waits at
  // most SystemdWatchdogWaitMs() (-1: no watchdog) so that a ping is never late.
  void PingSystemdWatchdog() noexcept { NotifySystemdWatchdog(clock_.Now()); }
  int SystemdWatchdogWaitMs() const noexcept;

 private:
  // The sampling interval that keeps up with a hog filling at kMaxFillBytesPerSecond.
  int CoverInterval(const pressure::PressureSample& s) const;
  // How soon a scope without an alarm to wake the loop asks to be looked at again: its
  // detector's interval (at least 10 ms), or sooner if a fast hog needs it (CoverInterval).
  int NextLook(const pressure::Decision& d, const pressure::PressureSample& s) const;
  // Where a v1 cgroup scope's usage alarm belongs: an eighth of its headroom (at least
  // kUsageAlarmMinStep) above its usage now, so that any process that starts to grow wakes
  // the loop early enough for the detector to see the trend; kept while the usage stays
  // below it and within two such steps. While the scope is busy (sampled fast), at the next
  // level boundary (warn, reclaim, kill) above its usage: a fast hog crosses a whole band
  // between two fast samples.
  // 0 for the system, a scope without a ceiling of its own or one whose parent's ceiling is
  // lower (its own usage would not see that parent fill), and a scope within a step of its
  // ceiling. `current` is the alarm wanted now (kept while it still fits). A v2 scope has no
  // usage threshold: its idle alarm is polled instead (UsagePollCovers).
  std::uint64_t UsageAlarmAt(std::size_t i, bool busy, std::uint64_t current) const noexcept;
  // True when the kernel will wake the loop before scope i's headroom gets small: its usage
  // is below its armed alarm, and no level above it has less headroom than the alarm leaves.
  bool AlarmCovers(std::size_t i, const pressure::PressureSample& s) const noexcept;
  // Whether scope i's own ceiling is above `alarm` and no level above it, nor the host, has
  // less room than the alarm leaves (in sample s): else they would fill unseen by it.
  bool RoomUnderAlarm(std::size_t i, std::uint64_t alarm,
                      const pressure::PressureSample& s) const noexcept;
  // The same promise for an idle v2 scope, kept by polling: its memory.current alone (one
  // pread) is below its polled alarm, its last whole sample is younger than interval_slow_ms
  // (a v1 scope under its alarm ticks that often) and no PSI event asked for one. Then the
  // tick takes no whole sample of it; *usage is the usage polled.
  bool UsagePollCovers(std::size_t i, sys::Nanos now, std::uint64_t* usage) noexcept;
  // Ends scope i's episode (its ladder and growth baseline) once it has stayed at ok for
  // kEpisodeEndNs.
  void EndEpisodeIfQuiet(std::size_t i, const pressure::Decision& d);
  void Decide(std::size_t i, const pressure::PressureSample& s, const pressure::Decision& d);
  void KillIn(std::size_t i, const pressure::Decision& d);
  // Scans and ranks the whole system once into the kill path's members, so that the first
  // kill does not grow them (a system scan holds every process any scope can hold).
  void WarmKillPath();
  // Ranks snap once with every process grown, so that the growth terms' grouping
  // (Ranker::AddGrowth: trees, cgroups, containers) has run before the first kill: no scan
  // before a kill sees growth, and under the lab's emulator that first run cost 0.6 ms of a
  // first kill's 0.7 ms rank. Into kill_ranking_, before WarmKillPath's own rank there:
  // nothing it ranks is kept, and it sizes nothing the kill path does not.
  void WarmGrowthTerms(const policy::Snapshot& snap);
  // The kill drill (engine_drill.cc): a forked child of reaperd's own goes through the system
  // scope's kill path up to the signal (the standing snapshot's refresh, the ranking, the
  // victim build with its pidfds and mm sharers), then is killed with pidfd_send_signal and
  // reaped with process_mrelease. A sandbox or kernel that refuses a step is found at start,
  // with its name, not at the first real kill; and every step has run once (its code and
  // the kernel's paths warm).
  void DrillKillPath();
  // The snapshot a kill in scope i decides on: a cgroup scope's members, or the system's
  // standing snapshot refreshed (a full scan when it is older than kStandingMaxAgeNs).
  // whole: read the system scope whole even with a fresh standing snapshot.
  Result<policy::Snapshot*> ScanForKill(std::size_t i, sys::Nanos now, bool whole = false);
  // Ranks snap into kill_ranking_ for a kill in scope i on decision d.
  // grow_table: the growth table may allocate to record new processes (never on the kill
  // path: there it records what fits).
  void RankForKill(std::size_t i, policy::Snapshot& snap, const pressure::Decision& d,
                   bool grow_table = false);
  // The carried-over candidates of a refreshed system snapshot that could have grown past
  // its first with the used memory no refresh or re-read accounts for since the whole read
  // (policy::CarriedRivals): named in rivals_ (up to kMaxRivals), and counted; 0 when the
  // ranking can be trusted. *unseen_mib (when not null): that growth, in MiB.
  std::size_t Rivals(std::size_t i, const policy::Snapshot& snap, const pressure::Decision& d,
                     double* unseen_mib);
  // After RankForKill on a refreshed system snapshot: whether its ranking can be trusted as
  // it is, or after its rivals were read again and it was ranked anew (when they are no more
  // than kMaxRivals). Not vouched: the caller reads /proc whole.
  struct RivalCheck {
    bool vouched = false;
    std::size_t rivals_read = 0;
    double unseen_mib = 0;
  };
  RivalCheck CheckRivals(std::size_t i, policy::Snapshot& snap, const pressure::Decision& d);
  // While the system scope is at warn or reclaim: the standing snapshot refreshed every
  // kStandingRefreshNs and read whole every kStandingWholeNs (or when a refresh cannot vouch
  // for its ranking), both stretched on a host where a whole read is slow.
  void RefreshStanding(sys::Nanos now);
  // Holds the top candidates' files open for the system scope's next kill (see Scanner::Hold).
  void HoldTop() noexcept;
  // At ok, memory falls fast enough to reach the kill floor within kStandingFallHorizonMs:
  // the standing snapshot is kept young and its top held, as at warn.
  static bool FallingAtOk(const pressure::Decision& d) noexcept {
    return d.level == pressure::Level::kOk && d.time_to_exhaustion_ms >= 0 &&
           d.time_to_exhaustion_ms <= kStandingFallHorizonMs;
  }
  void NoteTop(const policy::Ranking& ranking, const policy::Snapshot& snap) noexcept;
  // Reaper::Submit (the victim's mm taken, the signal sent, the job handed over), timed in
  // wall time into stages_.submit_ns; both kill paths submit through it.
  Result<std::uint64_t> SubmitVictim(kill::Victim&& victim) noexcept;
  // Every kSharerWatchPeriodNs, for each cgroup scope at warn or above (at ok, with the kill
  // floor within the kill level's time to exhaustion): scan and rank it and hand its top
  // kWatchedPerScope candidates to the victim builder's sharer watch.
  void WatchSharers(sys::Nanos now);
  // The scope's trend puts the kill floor within within_ms, counted from its last sample:
  // its kill may come at the next sample or two (the standing snapshot asks for twice the
  // kill level's time to exhaustion, the sharer watch of a cgroup scope for once).
  bool KillNear(const ScopeStatus& st, sys::Nanos now, std::int64_t within_ms) const noexcept;
  // Whether scope i is looked at in this tick (see ScopeStatus::due_ns), and when next.
  bool Due(std::size_t i, sys::Nanos now) const noexcept;
  void SetDue(std::size_t i, sys::Nanos now, int in_ms) noexcept;
  // The kill scan's options for scope i, with its totalpages when a scan read them less than
  // max_age ago; NoteScopeTotal keeps what a scan with those options read.
  scan::ScanOptions ScopeScan(std::size_t i, sys::Nanos now, sys::Nanos max_age) const noexcept;
  void NoteScopeTotal(std::size_t i, const scan::ScanOptions& used,
                      const policy::Snapshot& snap) noexcept;
  // True (and logged as cancelled) when the kernel's OOM killer killed in the scope since
  // oom_before, i.e. during the scan: its victim's memory is on its way back.
  bool CancelIfKernelKilled(std::size_t i, const Result<std::uint64_t>& oom_before);
  // Scope i's kernel OOM kill count, read for a kill (before and after its scan), its read
  // timed into stages_.oom_count_ns.
  Result<std::uint64_t> KillCountForKill(std::size_t i) noexcept;
  // True (and logged as held) while a process of the scope is exiting, for at most
  // kExitHoldNs.
  bool HoldForExiting(std::size_t i, const policy::Snapshot& snap, sys::Nanos now);
  void LogLevelChange(std::size_t i, pressure::Level from, const pressure::Decision& d);
  // Reclaim (engine_reclaim.cc): starts a chain pass when due; holds the first kill of an
  // episode while the chain runs, within kill_budget_ms; the warn and kill hooks.
  void BuildShared();
  std::unique_ptr<reclaim::Worker> MakeReclaimer(const policy::Scope& scope);
  // A scope's sampler, detector, status, episode, growth table and reclaim chain, appended
  // in step (the constructor's scopes and AddScope's).
  void AppendScope(const policy::Scope& scope, std::string name, bool automatic);
  void RemoveAt(std::size_t i, std::string_view reason);
  void NotifySystemdWatchdog(sys::Nanos now) noexcept;
  std::uint64_t ReclaimTarget(const pressure::PressureSample& s) const;
  // Hands every finished chain pass to the observers (metrics), whatever the level now.
  void CollectReclaimPasses();
  void MaybeReclaim(std::size_t i, const pressure::PressureSample& s, const pressure::Decision& d);
  bool HoldKill(std::size_t i, const pressure::PressureSample& s, const pressure::Decision& d);
  void OnWarn(std::size_t i, const pressure::Decision& d);
  reclaim::HookEnv PressureEnv(std::size_t i, const char* event, const pressure::Decision& d) const;
  // Starts the pre-kill hook; false when there is none (or it could not start): kill now.
  bool StartPreKill(std::size_t i, const policy::Process& p, const pressure::Decision& d);
  // Submits the kills whose pre-kill hook ended or timed out; the others keep ticking fast.
  void PollPendingKills();
  // Submits a built victim to the reaper, tells the observers and logs the kill.
  void Commit(std::size_t i, kill::Victim& victim, const policy::Snapshot& snap,
              const policy::Ranking& ranking, std::size_t rank, const pressure::Decision& d,
              sys::Nanos t_decision);
  // The kill line (after the signal): the victim, its score, and the largest protected process.
  void LogKill(const ScopeStatus& st, std::uint64_t seq, const policy::Process& p,
               std::size_t members, const policy::Score& score, const policy::Ranking& ranking,
               const policy::Snapshot& snap, const pressure::Decision& d);
  void QueuePostKill(const kill::KillResult& r);
  // Once a second while cgroups are opted in: samples each, and kills in the one whose
  // pressure is due (engine_managed_oom.cc). Returns the ms until it wants to look again
  // (-1: nothing opted in). Not the kill path of the scopes: it allocates (the candidates'
  // paths), and runs when memory is mostly there (a pressure stall, not an exhaustion).
  int ManagedOomTick(sys::Nanos now);
  struct ManagedOomState;
  struct ManagedOomEntry;
  void ManagedOomDue(ManagedOomEntry& e, sys::Nanos now);
  bool ManagedOomKill(ManagedOomEntry& e, std::string_view child, sys::Nanos now);

  // Where the time from a kill decision to its signal went, for the kill line: the scan
  // (or the standing snapshot's refresh), the ranking, and building the victim (pidfds, mm
  // sharers; passed-over candidates included). Set by KillIn; zero for a kill that waited
  // for its pre-kill hook (its time went to the hook).
  struct KillStages {
    sys::Nanos scan_ns = 0;
    sys::Nanos rank_ns = 0;
    sys::Nanos build_ns = 0;
    // The loop thread's own CPU time from the decision to the signal (ThreadCpuNow): what of
    // the wall time was the decision's work, and not the thread waiting to run. -1 ms when
    // not measured (a kill that waited for its pre-kill hook).
    sys::Nanos cpu_at_decision = 0;
    sys::Nanos cpu_ns = -sys::kMilli;
    // The loop thread's major page faults from the decision to the signal (-1: not measured):
    // code or constants of the kill path read from disk before the signal (session 19).
    long majflt_at_decision = 0;
    long majflt = -1;
    // How the victim's mm sharers were found: "snapshot" (the system scope's snapshot holds
    // every process), "watched" (the sharer watch vouched), "walked" (a walk of /proc).
    const char* sharers = "snapshot";
    // How the snapshot was read (KillRead).
    KillRead read = KillRead::kWhole;
    std::size_t rivals_read = 0;   // kRefreshRivals: how many
    double unseen_growth_mib = 0;  // used memory no refreshed entry accounts for
    // The victim's slowest member check (Victim::slowest_check), taken before Submit.
    kill::MemberCheck slowest_check;
    sys::Nanos checks_ns = 0;     // Victim::checks_ns
    sys::Nanos oom_group_ns = 0;  // Victim::oom_group_ns
    // The two reads of the scope's kernel OOM kill count around the scan (/proc/vmstat for
    // the system scope: an allocation in the kernel at each read), together.
    sys::Nanos oom_count_ns = 0;
    // Reaper::Submit: the victim's mm taken (/proc/PID/mem opened), the signal sent, the
    // reaper handed the job: the part of the window after the build.
    sys::Nanos submit_ns = 0;
  };
  KillStages stages_;

  // Per scope: where the current reclaim/kill episode stands (reset below kReclaim).
  struct Episode {
    sys::Nanos hold_until = 0;  // the first kill waits for the chain until then
    bool hold_done = false;     // the first kill of the episode is no longer held
    bool rechecked = false;     // one fresh sample taken after the chain ended
  };

  // A kill waiting for its pre-kill hook, per scope: submitted when the hook ends or its
  // timeout passes, whichever comes first, so the loop never waits on a hook. The victim is
  // held by pidfd meanwhile; the snapshot and ranking are kept for the observers.
  struct PendingKill {
    bool active = false;
    sys::Child hook;
    sys::Nanos started = 0;
    sys::Nanos deadline = 0;
    kill::Victim victim;
    policy::Snapshot snap;
    policy::Ranking ranking;
    std::size_t rank = 0;
    pressure::Decision decision;
    sys::Nanos t_decision = 0;
  };

  const config::Config& cfg_;
  EngineOptions options_;
  sys::SystemView& view_;
  const sys::Clock& clock_;
  Logger& log_;
  kill::ProcessOps& ops_;
  std::vector<Sampler> samplers_;
  std::vector<pressure::Detector> detectors_;
  std::vector<ScopeStatus> status_;
  std::unique_ptr<policy::Ranker> ranker_;
  scan::Scanner scanner_;
  kill::SkipList skip_;
  kill::LastResortLadder ladder_;
  std::unique_ptr<kill::Reaper> reaper_;
  bool launched_ = false;
  Result<sys::Child> drill_child_ = Fail(Error::Of(Errc::kMissing, "not launched"));
  kill::VictimBuilder builder_;
  std::vector<policy::ProcessId> skipped_;  // reused buffer for Rank()
  // The kill path's working set, reused by every kill decision of every scope (one at a time,
  // on the loop thread) so that none allocates once warm. A kill held for its pre-kill hook
  // copies the snapshot and ranking into its PendingKill.
  // Two snapshot buffers: the system scope's standing snapshot (snaps_[standing_]) and a
  // spare. A kill in the system scope refreshes the standing one into the spare (reading
  // only new processes and the top candidates: Scanner::RefreshInto) and the spare becomes
  // the standing one; a cgroup scope's kill scans its members into the spare.
  std::array<policy::Snapshot, 2> snaps_;
  std::size_t standing_ = 0;
  // The system scope's top candidates at the last ranking: re-read at the next kill.
  std::int64_t standing_scan_ns_ = 0;  // how long the last whole read took
  // The system's used memory (RAM and swap) at the standing snapshot's last whole read, from
  // the sample before it; -1 when no sample came before it (the start-up's read).
  std::int64_t standing_used_bytes_ = -1;
  void NoteStandingUsed(std::size_t i) noexcept;
  // The refresh and whole-read periods and the ages a kill accepts, stretched by
  // standing_scan_ns_.
  std::int64_t StandingPeriodNs() const noexcept {
    return std::max<std::int64_t>(kStandingRefreshNs, kStandingDutyDivisor * standing_scan_ns_);
  }
  std::int64_t StandingWholePeriodNs() const noexcept {
    return std::max<std::int64_t>(kStandingWholeNs, kStandingDutyDivisor * standing_scan_ns_);
  }
  std::int64_t StandingMaxAgeNs() const noexcept {
    return std::max<std::int64_t>(kStandingMaxAgeNs, 2 * StandingPeriodNs());
  }
  std::int64_t StandingWholeMaxAgeNs() const noexcept {
    return StandingWholePeriodNs() + StandingMaxAgeNs();
  }
  std::array<pid_t, kRereadTop> top_{};
  std::array<pid_t, kMaxRivals> rivals_{};
  std::size_t top_count_ = 0;
  policy::Ranking kill_ranking_;
  // The sharer watch's scan of a cgroup scope, apart from the kill path's buffers (a smaller
  // snapshot would shrink the spare the system scope's kill refreshes into).
  CoexistCheck coexist_;  // other OOM daemons running beside this one (said once each)
  policy::Snapshot watch_snap_;
  policy::Ranking watch_ranking_;
  KillDecision kill_record_;
  std::int64_t last_no_candidate_log_ns_ = 0;
  std::vector<EngineObserver*> observers_;
  std::vector<std::unique_ptr<reclaim::Worker>> reclaimers_;
  reclaim::EventPost event_post_;  // read through a pointer by the "event" notifiers
  std::vector<Episode> episodes_;
  // Per scope: each process's rss at its first sighting since the scope left ok, from the
  // scans that run anyway (the standing snapshot's refresh, the sharer watch, the kill's
  // scan), so that the ranking can blame what grew (policy/growth.h). Reset back at ok.
  std::vector<policy::GrowthBaseline> growth_;
  std::vector<PendingKill> pending_;
  std::unique_ptr<reclaim::HookRunner> hooks_;
  std::unique_ptr<watchdog::Watchdog> watchdog_;
  bool holding_ = false;                // a kill is held for the chain: tick fast
  std::uint64_t sd_watchdog_usec_ = 0;  // systemd's WatchdogSec, 0 when off
  sys::Nanos last_sd_notify_ns_ = 0;
  std::uint64_t scopes_generation_ = 0;
  std::uint64_t alarms_generation_ = 0;
  bool sample_whole_ = false;          // SampleWholeNextTick
  std::vector<std::size_t> vanished_;  // reused buffer: automatic scopes gone this tick
  const scan::PodNames* pods_ = nullptr;
  std::shared_ptr<ManagedOomState> managed_;  // null until a table arrives
};

// The reasons of a decision as "a,b,c" (for logs), in place: every reason fits.
SmallString<96> ReasonsText(pressure::Reasons r) noexcept;
std::string ReasonsString(pressure::Reasons r);

}  // namespace reaperd::daemon
