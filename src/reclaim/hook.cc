#include "reclaim/hook.h"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include "sys/trust.h"

namespace reaperd::reclaim {

namespace {

constexpr std::size_t kMaxLine = 1024;  // longer lines are logged in pieces
constexpr int kMaxLoggedLines = 200;    // per run: a chatty hook must not flood the log
constexpr int kPollSliceMs = 50;        // how often a wait looks at the cancel flag

// Splits the child's output into lines and logs them.
class LineLogger {
 public:
  LineLogger(const std::string& name, Logger& log) : name_(name), log_(log) {}
  void Feed(std::string_view data) {
    for (char c : data) {
      if (c == '\n') {
        Flush();
        continue;
      }
      line_.push_back(c);
      if (line_.size() >= kMaxLine) Flush();
    }
  }
  void Flush() {
    if (line_.empty()) return;
    if (++lines_ <= kMaxLoggedLines) {
      log_.Log(LogLevel::kInfo, "hook_output", "hook={} line={}", Q{name_}, Q{line_});
    }
    line_.clear();
  }
  int lines() const { return lines_; }

 private:
  const std::string& name_;
  Logger& log_;
  std::string line_;
  int lines_ = 0;
};

// Reads what the pipe holds now; false at EOF or error.
bool DrainOutput(int fd, LineLogger& lines) {
  std::array<char, 4096> buf;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n > 0) {
      lines.Feed(std::string_view(buf.data(), static_cast<std::size_t>(n)));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && errno == EAGAIN;
  }
}

int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

const char* HookOutcomeName(HookOutcome o) noexcept {
  switch (o) {
    case HookOutcome::kExited:
      return "exited";
    case HookOutcome::kTimedOut:
      return "timed_out";
    case HookOutcome::kSpawnFailed:
      return "spawn_failed";
    case HookOutcome::kCancelled:
      return "cancelled";
    case HookOutcome::kUntrusted:
      return "untrusted";
  }
  return "?";
}

std::vector<std::string> BuildEnv(const HookEnv& e) {
  std::vector<std::string> env = {
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "REAPERD_EVENT=" + e.event,
      "REAPERD_SCOPE=" + e.scope,
      std::string("REAPERD_LEVEL=") + pressure::LevelName(e.level),
      fmt::format("REAPERD_AVAILABLE_BYTES={}", e.available_bytes),
      fmt::format("REAPERD_TOTAL_BYTES={}", e.total_bytes),
      fmt::format("REAPERD_AVAILABLE_PERCENT={:.1f}", e.available_percent),
      fmt::format("REAPERD_PSI_SOME_PERCENT={:.1f}", e.psi_some_percent),
      fmt::format("REAPERD_PSI_FULL_PERCENT={:.1f}", e.psi_full_percent),
  };
  if (e.victim_pid > 0) {
    env.push_back(fmt::format("REAPERD_VICTIM_PID={}", e.victim_pid));
    // The comm and cgroup come from the victim: passed as they are (an environment value
    // cannot break out of its variable), escaped only in logs.
    env.push_back("REAPERD_VICTIM_COMM=" + e.victim_comm);
    env.push_back(fmt::format("REAPERD_VICTIM_UID={}", e.victim_uid));
    env.push_back("REAPERD_VICTIM_CGROUP=" + e.victim_cgroup);
    env.push_back(fmt::format("REAPERD_VICTIM_RSS_BYTES={}", e.victim_rss_bytes));
    env.push_back("REAPERD_VICTIM_REASON=" + e.reason);
    env.push_back("REAPERD_REASON=" + e.reason);
  }
  if (!e.outcome.empty()) {
    env.push_back("REAPERD_OUTCOME=" + e.outcome);
    env.push_back(fmt::format("REAPERD_BYTES_FREED={}", e.bytes_freed));
  }
  return env;
}

HookResult Supervise(sys::Child& child, const std::string& name, sys::Nanos started_ns,
                     sys::Nanos deadline_ns, const sys::Clock& clock, Logger& log,
                     const std::atomic<bool>* cancel) {
  HookResult r;
  LineLogger lines(name, log);
  bool output_open = child.output_fd() >= 0;
  bool exited = false;
  bool cancelled = false;
  while (!exited) {
    if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) {
      cancelled = true;
      break;
    }
    const sys::Nanos left = deadline_ns - clock.Now();
    if (left <= 0) break;
    std::array<pollfd, 2> fds{};
    fds[0] = {child.pidfd(), POLLIN, 0};
    nfds_t n = 1;
    if (output_open) {
      fds[1] = {child.output_fd(), POLLIN, 0};
      n = 2;
    }
    const int wait_ms =
        static_cast<int>(std::min<sys::Nanos>(left / sys::kMilli + 1, kPollSliceMs));
    int ready = ::poll(fds.data(), n, wait_ms);
    if (ready < 0 && errno != EINTR) break;
    if (output_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      if (!DrainOutput(child.output_fd(), lines)) {
        output_open = false;
        child.CloseOutput();
      }
    }
    if ((fds[0].revents & POLLIN) != 0) exited = true;
  }
  if (exited) {
    // What the hook wrote just before exiting.
    if (output_open) (void)DrainOutput(child.output_fd(), lines);
    r.outcome = HookOutcome::kExited;
  } else {
    child.KillGroup();
    r.outcome = cancelled ? HookOutcome::kCancelled : HookOutcome::kTimedOut;
  }
  auto status = child.Reap();
  if (exited && status) r.exit_status = ExitCode(*status);
  lines.Flush();
  r.output_lines = lines.lines();
  r.elapsed_ns = clock.Now() - started_ns;
  return r;
}

std::expected<sys::Child, HookOutcome> StartHook(const std::string& name,
                                                 const std::vector<std::string>& argv,
                                                 const HookEnv& env, Logger& log) {
  // Checked at start-up too; again here, since the file may have been replaced or made
  // writable since (a root daemon running what someone else wrote is theirs to command).
  if (!argv.empty() && argv[0].starts_with('/')) {  // relative: refused by Spawn
    if (auto trusted = sys::CheckTrustedFile(argv[0], ::geteuid()); !trusted) {
      log.Log(LogLevel::kError, "hook", "hook={} event={} outcome=untrusted program={} error={}",
              Q{name}, env.event, Q{argv[0]}, Q{trusted.error().ToString()});
      return std::unexpected(HookOutcome::kUntrusted);
    }
  }
  auto child = sys::Spawn(argv, BuildEnv(env));
  if (!child) {
    log.Log(LogLevel::kError, "hook", "hook={} event={} outcome=spawn_failed program={} error={}",
            Q{name}, env.event, Q{argv.empty() ? std::string() : argv[0]},
            Q{child.error().ToString()});
    return std::unexpected(HookOutcome::kSpawnFailed);
  }
  return std::move(*child);
}

HookResult RunHook(const std::string& name, const std::vector<std::string>& argv,
                   const HookEnv& env, int timeout_ms, const sys::Clock& clock, Logger& log,
                   const std::atomic<bool>* cancel) {
  const sys::Nanos started = clock.Now();
  auto child = StartHook(name, argv, env, log);
  if (!child) {
    HookResult failed;
    failed.outcome = child.error();
    return failed;
  }
  HookResult r =
      Supervise(*child, name, started, started + timeout_ms * sys::kMilli, clock, log, cancel);
  log.Log(r.outcome == HookOutcome::kExited && r.exit_status == 0 ? LogLevel::kInfo
                                                                  : LogLevel::kWarning,
          "hook", "hook={} event={} scope={} outcome={} exit={} lines={} elapsed_ms={:.1f}",
          Q{name}, env.event, Q{env.scope}, HookOutcomeName(r.outcome), r.exit_status,
          r.output_lines, static_cast<double>(r.elapsed_ns) / 1e6);
  return r;
}

HookRunner::HookRunner(const sys::Clock& clock, Logger& log) : clock_(clock), log_(log) {
  thread_ = std::thread([this] { Loop(); });
}

HookRunner::~HookRunner() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void HookRunner::Queue(std::string name, std::vector<std::string> argv, HookEnv env,
                       int timeout_ms) {
  std::unique_lock lock(mu_);
  if (jobs_.size() >= kMaxQueued) {
    lock.unlock();
    log_.Log(LogLevel::kWarning, "hook", "hook={} outcome=dropped reason=\"queue full\"", Q{name});
    return;
  }
  Job j;
  j.name = std::move(name);
  j.argv = std::move(argv);
  j.env = std::move(env);
  j.timeout_ms = timeout_ms;
  jobs_.push_back(std::move(j));
  lock.unlock();
  cv_.notify_all();
}

void HookRunner::Adopt(std::string name, sys::Child child, sys::Nanos started_ns,
                       sys::Nanos deadline_ns) {
  Job j;
  j.name = std::move(name);
  j.child = std::move(child);
  j.started_ns = started_ns;
  j.deadline_ns = deadline_ns;
  {
    // Adopted children are never dropped: they are already running and must be reaped.
    std::lock_guard lock(mu_);
    jobs_.push_front(std::move(j));
  }
  cv_.notify_all();
}

void HookRunner::Drain() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return jobs_.empty() && !busy_; });
}

void HookRunner::Loop() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping with nothing left
      job = std::move(jobs_.front());
      jobs_.pop_front();
      busy_ = true;
    }
    if (job.child.pid() > 0) {
      HookResult r =
          Supervise(job.child, job.name, job.started_ns, job.deadline_ns, clock_, log_, &stop_);
      log_.Log(r.outcome == HookOutcome::kExited && r.exit_status == 0 ? LogLevel::kInfo
                                                                       : LogLevel::kWarning,
               "hook", "hook={} event=pre_kill outcome={} exit={} lines={} elapsed_ms={:.1f}",
               Q{job.name}, HookOutcomeName(r.outcome), r.exit_status, r.output_lines,
               static_cast<double>(r.elapsed_ns) / 1e6);
    } else if (!stop_) {
      (void)RunHook(job.name, job.argv, job.env, job.timeout_ms, clock_, log_, &stop_);
    }
    {
      std::lock_guard lock(mu_);
      busy_ = false;
    }
    cv_.notify_all();
  }
}

}  // namespace reaperd::reclaim
