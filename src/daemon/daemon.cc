#include "daemon/daemon.h"

#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <memory>

#include "daemon/discovery.h"
#include "daemon/engine.h"
#include "daemon/reporting.h"
#include "daemon/scope_sources.h"
#include "kill/last_resort.h"
#include "kill/process_ops.h"
#include "report/managed_oom_message.h"
#include "scan/cgroup_namespace.h"
#include "sys/event_loop.h"
#include "sys/prefault.h"
#include "sys/self_protect.h"
#include "sys/system_view.h"
#include "sys/systemd_notify.h"
#include "sys/trust.h"

namespace reaperd::daemon {

namespace {

enum Tag : std::uint64_t {
  kTagSignal = 1,
  kTagReaper,
  kTagPsi,
  kTagPressureLevel,
  kTagReport,
  kTagDiscovery
};

constexpr std::uint64_t kTagMask = (std::uint64_t{1} << ScopeSources::kIdShift) - 1;

}  // namespace

int RunDaemon(const config::Config& initial, const DaemonOptions& options, Logger& log) {
  // Config lives here, at a stable address: the engine and the reaper keep references.
  auto cfg = std::make_unique<config::Config>(initial);
  const bool dry_run = options.dry_run || cfg->daemon.dry_run;

  // Block SIGTERM/SIGINT/SIGHUP before any thread starts, so every thread inherits the mask
  // and the signals reach only the signalfd (else a reaper thread would die of SIGHUP).
  auto sig = sys::SignalFd::Create();
  if (!sig) {
    log.Log(LogLevel::kError, "start", "signalfd=failed error={}", Q{sig.error().ToString()});
    return 1;
  }

  auto prot = sys::ProtectSelf(options.lock_memory);
  if (options.lock_memory) sys::PrefaultStack(sys::kMainThreadPrefaultBytes);
  if (!prot.oom_score_adj) {
    log.Log(LogLevel::kWarning, "self", "oom_score_adj=unchanged error={} note={}",
            Q{prot.oom_score_adj.error().ToString()},
            Q{"lowering oom_score_adj needs CAP_SYS_RESOURCE; the kernel OOM killer may pick "
              "reaperd"});
  }
  if (!prot.mlock) {
    log.Log(LogLevel::kWarning, "self", "mlock=failed error={}", Q{prot.mlock.error().ToString()});
  }
  if (prot.fd_table) {
    log.Log(LogLevel::kInfo, "self", "fd_table_slots={}", *prot.fd_table);
  } else {
    log.Log(LogLevel::kWarning, "self", "fd_table=unchanged error={}",
            Q{prot.fd_table.error().ToString()});
  }

  auto view = sys::RealSystemView::Open();
  if (!view) {
    log.Log(LogLevel::kError, "start", "error={}", Q{view.error().ToString()});
    return 1;
  }
  // In a container's cgroup namespace, /proc/PID/cgroup is relative to it; the mount may not be.
  const scan::CgroupNamespace cgroup_ns = scan::FindCgroupNamespace(*view, ::getpid());
  view->set_cgroup_ns_base(cgroup_ns.base);
  if (!cgroup_ns.problem.empty()) {
    log.Log(LogLevel::kWarning, "start", "cgroup_namespace=unresolved levels={} error={}",
            cgroup_ns.levels,
            Q{cgroup_ns.problem + ": processes outside reaperd's cgroup "
                                  "namespace are in no cgroup scope"});
  }
  sys::MonotonicClock clock;
  kill::RealProcessOps ops(*view);
  kill::ProcSysrq sysrq(*view);

  // Reports, metrics and the status socket; declared before the engine, which calls it.
  Reporting reporting(*cfg, log, dry_run);

  EngineOptions eo;
  eo.dry_run = dry_run;
  eo.self = ::getpid();
  eo.kill_drill = true;
  Engine engine(*cfg, options.scopes, eo, *view, clock, log, ops, sysrq);
  engine.AddObserver(&reporting);
  engine.SetPodNames(&reporting.pod_names());
  reporting.SetNotifierStatus([&engine] { return NotifierStatusJson(engine); });
  if (report::EventStream* events = reporting.events()) {
    engine.SetEventPost([events](std::string line) { return events->Post(std::move(line)); });
  }
  // ManagedOOMMemoryPressure=kill: the opted-in cgroups, as reaperd-managed-oom reads them
  // from systemd and sends them on the status socket (root only).
  reporting.SetManagedOomHandler([&engine, &log](std::string_view body) -> std::string {
    auto t = report::ParseManagedOomMessage(body);
    if (!t) {
      log.Log(LogLevel::kWarning, "managed_oom", "outcome=refused error={}",
              Q{t.error().ToString()});
      return "error " + t.error().ToString() + "\n";
    }
    return engine.SetManagedOom(std::move(t->cgroups), t->skipped);
  });
  // The drill's child and the threads, made between two trims: the start-up's code is gone
  // before (else both would be resident at once, the peak), and their making's code after.
  if (options.lock_memory) (void)sys::TrimColdCode(true);
  if (auto r = engine.Launch(); !r) {
    log.Log(LogLevel::kError, "start", "reaper=failed error={}", Q{r.error().ToString()});
    return 1;
  }
  if (options.lock_memory) {  // before the warm-up and the drill, which lock what they touch
    if (auto t = sys::TrimColdCode(true); !t) {
      log.Log(LogLevel::kWarning, "self", "trim=failed error={}", Q{t.error().ToString()});
    }
    // The kill path's code, resident whole from here on; locked only now, with the start-up's
    // code gone, so that the two are never resident together.
    // The string functions' variants this CPU does not run stay out (sys::HotVariants).
    sys::HotVariants v;
    if (auto l = sys::LockExecutable(&v); !l) {
      log.Log(LogLevel::kWarning, "self", "mlock=failed error={}", Q{l.error().ToString()});
    } else {
      std::string names;
      for (std::size_t g = 0; g < v.count; ++g) {
        names += (names.empty() ? "" : ",") + std::string(v.ranges[g].name);
      }
      log.Log(LogLevel::kInfo, "self", "locked_kib={} hot_variants_left_out={} left_out_kib={}",
              *l / 1024, Q{names.empty() ? "none" : names}, v.bytes / 1024);
    }
  }
  if (auto r = engine.Start(); !r) {
    log.Log(LogLevel::kError, "start", "reaper=failed error={}", Q{r.error().ToString()});
    return 1;
  }
  // After the engine's threads started (they keep their own settings): the loop decides the
  // kills and must not wait for a CPU behind the hog it is about to kill.
  if (auto b = sys::SetThreadNice(kill::kBoostNice); !b) {
    log.Log(LogLevel::kWarning, "self", "loop_nice=unchanged error={}", Q{b.error().ToString()});
  }

  auto ep = sys::Epoll::Create();
  if (!ep || !sig) {
    log.Log(LogLevel::kError, "start", "error=\"cannot create epoll or signalfd\"");
    return 1;
  }
  (void)ep->Add(sig->fd(), EPOLLIN, kTagSignal);
  (void)ep->Add(engine.reaper_fd(), EPOLLIN, kTagReaper);
  if (reporting.fd() >= 0) (void)ep->Add(reporting.fd(), EPOLLIN, kTagReport);

  // Discovered cgroup scopes come first, so the start line lists them and their sources.
  std::optional<AutoScopes> autos;
  if (options.discover_under) {
    DiscoveryOptions dopt;
    dopt.under = *options.discover_under;
    dopt.max_scopes = static_cast<std::size_t>(cfg->daemon.max_cgroup_scopes);
    autos.emplace(*view, clock, log, dopt, cfg->daemon.rescan_interval_ms);
    // Watched before the first walk, so the walk sets the watches up as it goes.
    if (auto wfd = autos->EnableWatch(); !wfd) {
      log.Log(LogLevel::kWarning, "discovery", "watch=off error={} note={}",
              Q{wfd.error().ToString()}, Q{"new cgroups are found at the periodic rescan only"});
    } else {
      (void)ep->Add(*wfd, EPOLLIN, kTagDiscovery);
    }
    (void)autos->MaybeRescan(engine);
  }
  // Event sources that wake us early; the tick's own due time alone would also do, only later.
  ScopeSources sources(*ep, *view, log, kTagPsi, kTagPressureLevel);
  sources.Sync(engine);
  std::uint64_t synced_generation = engine.scopes_generation();
  std::uint64_t synced_alarms = engine.alarms_generation();

  // The next tick also brings the next rescan; a rescan between ticks is never late by more
  // than one tick interval.
  auto tick = [&] {
    // Rescan first, so a scope found now is sampled in this very tick.
    const int rescan_next = autos ? autos->MaybeRescan(engine) : -1;
    int next = engine.Tick();
    // With every cgroup watched, the periodic rescan is a fallback that rides on the next
    // tick; only a rescan an event asked for (or an unwatched tree) wakes the loop itself.
    if (autos && (!autos->watching() || autos->rescan_wanted())) {
      next = std::min(next, rescan_next);
    }
    if (engine.scopes_generation() != synced_generation) {
      sources.Sync(engine);
      std::vector<std::string> live;
      for (const auto& st : engine.status()) live.push_back(st.scope.Name());
      reporting.RetainScopes(live);
      synced_generation = engine.scopes_generation();
    }
    if (engine.alarms_generation() != synced_alarms) {
      sources.SyncAlarms(engine);
      synced_alarms = engine.alarms_generation();
    }
    return next;
  };
  // The first sample of every scope is taken before the daemon says it has started (and
  // before READY=1): from then on it is watching, not still setting up.
  // The next tick is due `next` ms after this one, whatever woke the loop in between: the
  // loop's epoll_wait times out then (no timer file to read and re-arm at each tick).
  sys::Nanos due = clock.Now() + tick() * sys::kMilli;

  std::string scopes;
  for (const auto& st : engine.status()) scopes += (scopes.empty() ? "" : ",") + st.scope.Name();
  if (options.discover_under)
    scopes += (scopes.empty() ? "auto:" : ",auto:") + *options.discover_under;
  log.Log(LogLevel::kNotice, "start",
          "version={} pid={} scopes={} dry_run={} cgroup_root={} cgroup_ns_base={} "
          "cgroup_version={} sources={} cgroup_watches={} config={}",
          REAPERD_VERSION, ::getpid(), Q{scopes}, dry_run ? 1 : 0, Q{view->cgroup_root_path()},
          Q{view->cgroup_ns_base().empty() ? "none" : view->cgroup_ns_base()},
          view->cgroup_version() == sys::CgroupVersion::kV2   ? "v2"
          : view->cgroup_version() == sys::CgroupVersion::kV1 ? "v1"
                                                              : "none",
          Q{"timer" + sources.described()}, autos ? autos->watches() : 0,
          Q{options.config_path.empty() ? "<default>" : options.config_path});

  // systemd (Type=notify): started once the loop's sources are set up.
  (void)sys::Notify("READY=1");

  const sys::Nanos started = clock.Now();
  std::array<epoll_event, 16> events;
  bool running = true;
  while (running) {
    const sys::Nanos to_due = due - clock.Now();
    int wait_ms =
        to_due <= 0 ? 0 : static_cast<int>((to_due + sys::kMilli - 1) / sys::kMilli);  // not early
    if (options.run_for_ms > 0) {
      sys::Nanos left = started + options.run_for_ms * sys::kMilli - clock.Now();
      if (left <= 0) break;
      wait_ms = std::min(wait_ms, static_cast<int>(left / sys::kMilli) + 1);
    }
    // systemd's watchdog is due at its own pace, whatever the sampling interval.
    if (const int sd = engine.SystemdWatchdogWaitMs(); sd >= 0) {
      wait_ms = std::min(wait_ms, sd);
    }
    auto n = ep->Wait(events, wait_ms);
    engine.PingSystemdWatchdog();
    if (!n) {
      log.Log(LogLevel::kError, "loop", "error={}", Q{n.error().ToString()});
      continue;
    }
    bool tick_now = false;
    for (std::size_t i = 0; i < *n; ++i) {
      const std::uint64_t data = events[i].data.u64;
      switch (data & kTagMask) {
        case kTagSignal: {
          auto s = sig->Read();
          if (!s) break;
          if (*s == SIGHUP) {
            if (options.config_path.empty()) {
              log.Log(LogLevel::kNotice, "reload", "result=ignored reason=\"embedded config\"");
              break;
            }
            // The file is re-checked: it may have been made writable since start-up.
            if (auto trusted = sys::CheckTrustedFile(options.config_path, ::geteuid()); !trusted) {
              log.Log(LogLevel::kError, "reload", "result=kept_old error={}",
                      Q{std::string("untrusted config: ") + trusted.error().context});
              break;
            }
            auto fresh = config::LoadConfigFile(options.config_path);
            if (!fresh) {
              log.Log(LogLevel::kError, "reload", "result=kept_old error={}",
                      Q{fresh.error().ToString()});
              break;
            }
            // Hooks apply live: a program the new file names must pass the same check.
            bool hooks_trusted = true;
            for (const auto& h : config::HookPrograms(*fresh)) {
              if (auto t = sys::CheckTrustedFile(h.path, ::geteuid()); !t) {
                log.Log(LogLevel::kError, "reload", "result=kept_old key={} error={}", h.key,
                        Q{std::string("untrusted program: ") + t.error().context});
                hooks_trusted = false;
                break;
              }
            }
            if (hooks_trusted) engine.Reload(*cfg, *fresh);
          } else {
            log.Log(LogLevel::kNotice, "stop", "signal={}", *s);
            running = false;
          }
          break;
        }
        case kTagReaper:
          if (engine.OnReaperEvent()) tick_now = true;
          break;
        case kTagReport:
          reporting.OnReady();
          break;
        case kTagDiscovery:
          // Only events that matter tick (writes to cgroup.procs and the like do not).
          if (autos && autos->OnWatchReady()) tick_now = true;
          break;
        case kTagPressureLevel:
        case kTagPsi:
          sources.OnEvent(data >> ScopeSources::kIdShift, events[i].events);
          engine.SampleWholeNextTick();  // a stall does not move a polled scope's usage
          tick_now = true;
          break;
        default:
          tick_now = true;
          break;
      }
    }
    if (clock.Now() >= due) tick_now = true;
    if (tick_now && running) due = clock.Now() + tick() * sys::kMilli;
  }
  (void)sys::Notify("STOPPING=1");
  engine.Stop();
  (void)engine.OnReaperEvent();
  log.Log(LogLevel::kNotice, "stop", "victims_in_flight={}", engine.victims_in_flight());
  return 0;
}

}  // namespace reaperd::daemon
