#include "watchdog/watchdog.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <nlohmann/json.hpp>

#include "base/escape.h"
#include "proc/meminfo.h"
#include "proc/pid_stat.h"
#include "proc/psi.h"

namespace reaperd::watchdog {

namespace {

constexpr double kMiB = 1024.0 * 1024.0;
constexpr std::size_t kStackSize = 256 * 1024;
constexpr std::size_t kBufSize = 16384;

std::string Trimmed(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.remove_suffix(1);
  return std::string(s);
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out.empty() ? "none" : out;
}

}  // namespace

std::string SummaryFields(const StallReport& r) {
  return fmt::format(
      "stalled={} dying={} victims={} kills={} mem_available_mib={:.0f} psi_full_pct={:.1f} "
      "loop_late_s={:.1f} reasons={}",
      r.stalled, r.dying, r.victims, r.kills, static_cast<double>(r.mem_available_bytes) / kMiB,
      r.psi_full_percent, r.loop_late_seconds, Join(r.reasons));
}

std::string TaskFields(const StalledTask& t) {
  std::string stack;
  for (char c : t.stack) stack.push_back(c == '\n' ? '|' : c);
  return fmt::format(
      "pid={} comm={} state={} seconds={:.1f} wchan={} rss_mib={:.1f} victim={} "
      "stack={}",
      t.pid, fmt::format("{}", Q{t.comm}), t.state, t.seconds, fmt::format("{}", Q{t.wchan}),
      static_cast<double>(t.rss_bytes) / kMiB, t.victim ? 1 : 0, fmt::format("{}", Q{stack}));
}

std::string ToJsonLines(const StallReport& r) {
  // nlohmann::json escapes control characters itself; invalid UTF-8 is replaced, not thrown.
  using nlohmann::json;
  const auto dump = [](const json& j) {
    return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  };
  std::string out = dump(json{{"type", "summary"},
                              {"wall_ns", r.wall_ns},
                              {"reasons", r.reasons},
                              {"stalled", r.stalled},
                              {"dying", r.dying},
                              {"victims", r.victims},
                              {"kills", r.kills},
                              {"mem_available_bytes", r.mem_available_bytes},
                              {"psi_full_pct", r.psi_full_percent},
                              {"loop_late_s", r.loop_late_seconds}});
  for (const auto& t : r.tasks) {
    out += dump(json{{"type", "task"},
                     {"wall_ns", r.wall_ns},
                     {"pid", t.pid},
                     {"comm", t.comm},
                     {"state", std::string(1, t.state)},
                     {"seconds", t.seconds},
                     {"wchan", t.wchan},
                     {"rss_bytes", t.rss_bytes},
                     {"victim", t.victim},
                     {"stack", t.stack}});
  }
  return out;
}

Watchdog::Watchdog(const config::WatchdogConfig& cfg, sys::SystemView& view,
                   const sys::Clock& clock, Logger& log)
    : cfg_(cfg), view_(view), clock_(clock), log_(log), buf_(kBufSize) {}

Watchdog::~Watchdog() { Stop(); }

void* Watchdog::ThreadMain(void* self) {
  static_cast<Watchdog*>(self)->Loop();
  return nullptr;
}

void Watchdog::PrepareReportDir() {
  const auto slash = cfg_.report_path.rfind('/');
  if (cfg_.report_path.empty() || slash == std::string::npos || slash == 0) return;
  const std::string dir = cfg_.report_path.substr(0, slash);
  if (::mkdir(dir.c_str(), 0750) == 0) {
    log_.Log(LogLevel::kNotice, "watchdog", "report_dir={} created=1 mode=0750", Q{dir});
    return;
  }
  const int e = errno;
  struct stat st {};
  if (e == EEXIST && ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return;
  log_.Log(LogLevel::kWarning, "watchdog",
           "report_dir={} error={} note=\"stall reports go to the log only until it exists\"",
           Q{dir}, Q{Error::Sys(e == EEXIST ? ENOTDIR : e, "mkdir").ToString()});
}

Result<void> Watchdog::Start() {
  if (started_) return {};
  PrepareReportDir();
  // Sized before any kill: a kill's NoteKill and the look it kicks allocated here (the first
  // walk's listing grew pids_ from nothing), on the kill's tick or beside it. Twice the
  // processes there are now, and at least 1024, as the victim builder sizes its own.
  pids_.clear();
  (void)view_.ListPids(pids_);
  pids_.reserve(std::max<std::size_t>(1024, 2 * pids_.size()));
  pids_.clear();
  dying_.reserve(kDyingReserve);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, kStackSize);
  int e = pthread_create(&thread_, &attr, &Watchdog::ThreadMain, this);
  pthread_attr_destroy(&attr);
  if (e != 0) return Fail(Error::Sys(e, "pthread_create(watchdog)"));
  ::pthread_setname_np(thread_, "reaperd-stall");  // tells it apart in top and idle_compare
  started_ = true;
  return {};
}

void Watchdog::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (started_) {
    pthread_join(thread_, nullptr);
    started_ = false;
  }
}

void Watchdog::Loop() {
  for (;;) {
    const int wait_ms = NextWaitMs();
    {
      std::unique_lock lock(mu_);
      if (cv_.wait_for(lock, std::chrono::milliseconds(wait_ms),
                       [&] { return stop_ || kicked_; }) &&
          stop_) {
        return;
      }
      kicked_ = false;
    }
    (void)Check();
  }
}

bool Watchdog::Busy() {
  if (!dstate_.empty() || pressure_ || psi_high_since_ >= 0) return true;
  std::lock_guard lock(mu_);
  return !dying_.empty() || !missed_.empty();
}

int Watchdog::NextWaitMs() {
  if (Busy()) return cfg_.check_interval_ms;
  // Idle, a look can only find the loop late or a task newly in D: wake when either is due
  // and not before (a wake-up a second would cost the host for nothing). Rounded up, so the
  // walk is not found a fraction of a millisecond early and put off by a whole interval.
  const sys::Nanos now = clock_.Now();
  sys::Nanos wake = last_walk_ns_ + cfg_.d_state_ms * sys::kMilli;
  if (const sys::Nanos due = due_ns_.load(std::memory_order_relaxed); due != kNoBeat) {
    wake = std::min(wake, due + cfg_.loop_late_ms * sys::kMilli);
  }
  const sys::Nanos ms = (wake - now + sys::kMilli - 1) / sys::kMilli;
  return static_cast<int>(std::clamp<sys::Nanos>(ms, cfg_.check_interval_ms, cfg_.d_state_ms));
}

void Watchdog::NoteKill(pid_t pid) noexcept {
  {
    std::lock_guard lock(mu_);
    ++kills_;
    dying_.push_back(pid);
    kicked_ = true;  // look at once, and then every check_interval_ms
  }
  cv_.notify_one();
}

void Watchdog::NoteVictimDone(pid_t pid) noexcept {
  std::lock_guard lock(mu_);
  std::erase(dying_, pid);
  std::erase_if(missed_, [&](const Missed& m) { return m.pid == pid; });
}

void Watchdog::NoteMissedDeadline(pid_t pid, const std::string& comm, std::int64_t signalled_ns) {
  {
    std::lock_guard lock(mu_);
    missed_.push_back(Missed{pid, comm, signalled_ns, false});
    kicked_ = true;
  }
  cv_.notify_one();
}

bool Watchdog::ReadTask(pid_t pid, StalledTask& t) {
  const std::string dir = std::to_string(pid);
  auto r = view_.Read(sys::Root::kProc, dir + "/stat", buf_);
  if (!r) return false;
  auto st = proc::ParsePidStat(std::string_view(buf_.data(), r->size));
  if (!st) return false;
  t.pid = pid;
  t.comm = std::string(st->comm.view());
  t.state = st->state;
  t.rss_bytes = static_cast<std::uint64_t>(std::max<std::int64_t>(st->rss_pages, 0)) * 4096;
  if (auto w = view_.Read(sys::Root::kProc, dir + "/wchan", buf_)) {
    t.wchan = Trimmed(std::string_view(buf_.data(), w->size));
  }
  if (cfg_.read_stack) {
    if (auto s = view_.Read(sys::Root::kProc, dir + "/stack", buf_)) {
      t.stack = Trimmed(std::string_view(buf_.data(), s->size));
    }
  }
  return true;
}

std::optional<StallReport> Watchdog::Check() {
  const sys::Nanos now = clock_.Now();
  StallReport rep;
  // System PSI, as a share of wall time since the last look: "full" for the stall report,
  // "some" (or any "full") to tell a host under memory pressure from an idle one.
  double psi_some_percent = 0;
  if (auto r = view_.Read(sys::Root::kProc, "pressure/memory", buf_)) {
    if (auto psi = proc::ParsePsi(std::string_view(buf_.data(), r->size))) {
      const double elapsed_us = static_cast<double>(now - last_psi_ns_) / 1e3;
      if (last_psi_ns_ != 0 && now > last_psi_ns_) {
        if (psi->some.total_us >= last_psi_some_us_) {
          psi_some_percent =
              static_cast<double>(psi->some.total_us - last_psi_some_us_) / elapsed_us * 100.0;
        }
        if (psi->has_full && psi->full.total_us >= last_psi_full_us_) {
          rep.psi_full_percent =
              static_cast<double>(psi->full.total_us - last_psi_full_us_) / elapsed_us * 100.0;
        }
      }
      last_psi_some_us_ = psi->some.total_us;
      if (psi->has_full) last_psi_full_us_ = psi->full.total_us;
      last_psi_ns_ = now;
    }
  }
  pressure_ = psi_some_percent >= kPressureSomePercent || rep.psi_full_percent > 0;
  bool psi_stall = false;
  if (rep.psi_full_percent >= cfg_.psi_full_percent && cfg_.psi_full_percent > 0) {
    if (psi_high_since_ < 0) psi_high_since_ = now;
    psi_stall = now - psi_high_since_ >= cfg_.psi_full_sustain_ms * sys::kMilli;
  } else {
    psi_high_since_ = -1;
  }

  // Tasks in D, and since when (a task keeps its first-seen time while it stays in D). The
  // walk reads every /proc/PID/stat: it runs at every look while the host is under memory
  // pressure, a victim is dying or a task is in D, and otherwise once per d_state_ms, which
  // still finds a task stuck in D within twice d_state_ms. Never more than once per
  // check_interval_ms, though: each kill kicks a look (for its victim), and a burst of kills
  // walking /proc at every one cost more CPU than the daemon loop. An eighth of slack, so a
  // wait that ends a little early does not put the walk off by a whole interval.
  const sys::Nanos since_walk = now - last_walk_ns_;
  const bool walk = last_walk_ns_ == 0 ||
                    (Busy() && since_walk >= cfg_.check_interval_ms * sys::kMilli * 7 / 8) ||
                    since_walk >= cfg_.d_state_ms * sys::kMilli;
  std::vector<pid_t> stalled;
  if (walk) {
    last_walk_ns_ = now;
    pids_.clear();
    (void)view_.ListPids(pids_);
    std::unordered_map<pid_t, DState> seen;
    char path[32];
    for (pid_t pid : pids_) {
      auto end = fmt::format_to_n(path, sizeof path - 1, "{}/stat", pid).out;
      auto r = view_.Read(sys::Root::kProc, std::string_view(path, end - path), buf_);
      if (!r) continue;
      const std::string_view text(buf_.data(), r->size);
      // Nearly every task is not in D: its state alone is parsed.
      if (auto state = proc::ParsePidStatState(text); !state || *state != 'D') continue;
      auto st = proc::ParsePidStat(text);
      if (!st || st->state != 'D') continue;
      DState d{st->starttime, now};
      if (auto it = dstate_.find(pid);
          it != dstate_.end() && it->second.starttime == st->starttime) {
        d.since = it->second.since;
      }
      seen[pid] = d;
      if (now - d.since >= cfg_.d_state_ms * sys::kMilli) stalled.push_back(pid);
    }
    dstate_ = std::move(seen);
  }

  const sys::Nanos due = due_ns_.load(std::memory_order_relaxed);
  const bool loop_late = due != kNoBeat && now - due >= cfg_.loop_late_ms * sys::kMilli;
  if (loop_late) rep.loop_late_seconds = static_cast<double>(now - due) / 1e9;

  std::vector<Missed> missed;
  bool new_miss = false;
  {
    std::lock_guard lock(mu_);
    rep.kills = kills_;
    rep.dying = static_cast<int>(dying_.size());
    for (auto& m : missed_) {
      new_miss = new_miss || !m.reported;
      m.reported = true;
    }
    missed = missed_;
  }
  rep.victims = static_cast<int>(missed.size());
  rep.stalled = static_cast<int>(stalled.size());
  if (!stalled.empty()) rep.reasons.push_back("d_state");
  if (psi_stall) rep.reasons.push_back("psi_full");
  if (loop_late) rep.reasons.push_back("loop_late");
  if (!missed.empty()) rep.reasons.push_back("victim_deadline");
  if (rep.reasons.empty()) return std::nullopt;
  // A lasting stall is reported once per report_interval_ms; a newly missed deadline at once.
  if (reported_once_ && !new_miss &&
      now - last_report_ns_ < cfg_.report_interval_ms * sys::kMilli) {
    return std::nullopt;
  }

  if (auto r = view_.Read(sys::Root::kProc, "meminfo", buf_)) {
    if (auto mi = proc::ParseMemInfo(std::string_view(buf_.data(), r->size))) {
      rep.mem_available_bytes = mi->mem_available;
    }
  }
  for (const auto& m : missed) {
    if (static_cast<int>(rep.tasks.size()) >= cfg_.max_tasks) break;
    StalledTask t;
    if (!ReadTask(m.pid, t)) {
      t.pid = m.pid;
      t.comm = m.comm;
      t.state = 'X';
    }
    t.victim = true;
    t.seconds = m.signalled_ns > 0 ? static_cast<double>(now - m.signalled_ns) / 1e9 : 0;
    rep.tasks.push_back(std::move(t));
  }
  for (pid_t pid : stalled) {
    if (static_cast<int>(rep.tasks.size()) >= cfg_.max_tasks) break;
    StalledTask t;
    if (!ReadTask(pid, t)) continue;
    t.seconds = static_cast<double>(now - dstate_[pid].since) / 1e9;
    rep.tasks.push_back(std::move(t));
  }
  rep.wall_ns = sys::WallNow();
  last_report_ns_ = now;
  reported_once_ = true;
  Write(rep);
  reports_.fetch_add(1);
  return rep;
}

void Watchdog::Write(const StallReport& r) {
  log_.Log(LogLevel::kError, "stall", "{}", SummaryFields(r));
  for (const auto& t : r.tasks) log_.Log(LogLevel::kError, "stall_task", "{}", TaskFields(t));
  if (cfg_.report_path.empty()) return;
  // One append per report (O_APPEND keeps concurrent writers' lines whole).
  const std::string text = ToJsonLines(r);
  sys::UniqueFd fd(
      ::open(cfg_.report_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!fd || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    log_.Log(LogLevel::kWarning, "stall", "report_path={} error=\"cannot append\"",
             Q{cfg_.report_path});
  }
}

}  // namespace reaperd::watchdog
