// The built-in notifiers. cgroup_reclaim and drop_caches write to kernel files through
// SystemView; the kernel bounds those writes itself (memory.reclaim stops at the amount
// asked or gives up with EAGAIN), so their timeout cannot cut them short: they only block
// the worker thread, never the loop.
#include <algorithm>
#include <csignal>

#include "reclaim/hook.h"
#include "reclaim/notifier.h"
#include "sys/syscalls.h"
#include "sys/unix_socket.h"

namespace reaperd::reclaim {

namespace {

// cgroup v2 memory.reclaim. On cgroup v1 there is no bounded reclaim: memory.force_empty
// drops everything the cgroup holds, and lowering memory.soft_limit_in_bytes acts only
// under global pressure, so v1 reports kUnsupported (and is backed off like any step that
// frees nothing).
class CgroupReclaim final : public Notifier {
 public:
  CgroupReclaim(const config::NotifierConfig& cfg, NotifierDeps deps) : cfg_(cfg), deps_(deps) {}
  const std::string& name() const noexcept override { return cfg_.name; }
  std::string_view kind() const noexcept override { return "cgroup_reclaim"; }
  NotifyOutcome Run(const NotifyContext& ctx, int /*timeout_ms*/) override {
    if (deps_.view.cgroup_version() != sys::CgroupVersion::kV2) {
      return NotifyOutcome::kUnsupported;
    }
    std::string_view cg = cfg_.cgroup.empty() ? std::string_view(ctx.scope.cgroup) : cfg_.cgroup;
    while (!cg.empty() && cg.front() == '/') cg.remove_prefix(1);
    const std::string path = cg.empty() ? "memory.reclaim" : std::string(cg) + "/memory.reclaim";
    auto r = deps_.view.Write(sys::Root::kCgroup, path, fmt::format("{}M", cfg_.reclaim_mib));
    // EAGAIN: less than asked could be reclaimed. The chain measures what came back anyway.
    if (!r && r.error().sys_errno != EAGAIN) {
      deps_.log.Log(LogLevel::kWarning, "reclaim", "notifier={} path={} error={}", Q{cfg_.name},
                    Q{path}, Q{r.error().ToString()});
      return NotifyOutcome::kFailed;
    }
    return NotifyOutcome::kDone;
  }

 private:
  config::NotifierConfig cfg_;
  NotifierDeps deps_;
};

// Drops clean page cache machine-wide (vm.drop_caches = 1). Coarse, so off unless listed.
class DropCaches final : public Notifier {
 public:
  DropCaches(const config::NotifierConfig& cfg, NotifierDeps deps) : cfg_(cfg), deps_(deps) {}
  const std::string& name() const noexcept override { return cfg_.name; }
  std::string_view kind() const noexcept override { return "drop_caches"; }
  NotifyOutcome Run(const NotifyContext&, int) override {
    auto r = deps_.view.Write(sys::Root::kProc, "sys/vm/drop_caches", "1");
    if (!r) {
      deps_.log.Log(LogLevel::kWarning, "reclaim", "notifier={} error={}", Q{cfg_.name},
                    Q{r.error().ToString()});
      return NotifyOutcome::kFailed;
    }
    return NotifyOutcome::kDone;
  }

 private:
  config::NotifierConfig cfg_;
  NotifierDeps deps_;
};

// Sends the configured signal to every process of the scope whose comm is listed, through
// a pidfd checked against the start time the scan saw (no PID-reuse race).
class SignalTrim final : public Notifier {
 public:
  SignalTrim(const config::NotifierConfig& cfg, NotifierDeps deps)
      : cfg_(cfg), deps_(deps), scanner_(deps.view, deps.clock) {}
  const std::string& name() const noexcept override { return cfg_.name; }
  std::string_view kind() const noexcept override { return "signal"; }
  NotifyOutcome Run(const NotifyContext& ctx, int) override {
    scan::ScanOptions so;
    so.cmdline_max = 0;
    so.read_exe = false;
    so.read_kernel_oom_score = false;
    auto snap = scanner_.Scan(ctx.scope, so);
    if (!snap) {
      deps_.log.Log(LogLevel::kWarning, "reclaim", "notifier={} error={}", Q{cfg_.name},
                    Q{snap.error().ToString()});
      return NotifyOutcome::kFailed;
    }
    int sent = 0;
    for (const auto& p : snap->processes) {
      if (p.kernel_thread) continue;
      if (std::find(cfg_.comm.begin(), cfg_.comm.end(), p.comm.view()) == cfg_.comm.end()) {
        continue;
      }
      auto fd = sys::PidfdOpen(p.pid);
      if (!fd) continue;
      policy::Process now;
      if (!scanner_.ReadProcess(p.pid, so, now, nullptr) || now.starttime != p.starttime) {
        continue;
      }
      if (sys::PidfdSendSignal(fd->get(), cfg_.signal)) {
        ++sent;
        deps_.log.Log(LogLevel::kInfo, "reclaim_signal",
                      "notifier={} scope={} pid={} comm={} signal={}", Q{cfg_.name},
                      Q{ctx.scope.Name()}, p.pid, Q{p.comm.view()}, cfg_.signal);
      }
    }
    return sent > 0 ? NotifyOutcome::kDone : NotifyOutcome::kNoTarget;
  }

 private:
  config::NotifierConfig cfg_;
  NotifierDeps deps_;
  scan::Scanner scanner_;
};

// Writes "reclaim scope=... level=... available_bytes=... total_bytes=...\n" to a unix
// socket and waits for a reply line (or the peer closing) until the timeout.
class SocketTrim final : public Notifier {
 public:
  SocketTrim(const config::NotifierConfig& cfg, NotifierDeps deps) : cfg_(cfg), deps_(deps) {}
  const std::string& name() const noexcept override { return cfg_.name; }
  std::string_view kind() const noexcept override { return "socket"; }
  NotifyOutcome Run(const NotifyContext& ctx, int timeout_ms) override {
    const std::string line = fmt::format(
        "reclaim scope={} level={} available_bytes={} total_bytes={}\n", ctx.scope.Name(),
        pressure::LevelName(ctx.level), ctx.sample.available_bytes, ctx.sample.total_bytes);
    std::string reply;
    auto r = sys::UnixRequest(cfg_.socket, line, timeout_ms, &reply);
    if (!r) {
      const int e = r.error().sys_errno;
      if (e == ENOENT || e == ECONNREFUSED) return NotifyOutcome::kNoTarget;
      deps_.log.Log(LogLevel::kWarning, "reclaim", "notifier={} socket={} error={}", Q{cfg_.name},
                    Q{cfg_.socket}, Q{r.error().ToString()});
      return NotifyOutcome::kFailed;
    }
    if (*r == sys::UnixReply::kTimedOut) return NotifyOutcome::kTimedOut;
    if (!reply.empty()) {
      deps_.log.Log(LogLevel::kInfo, "reclaim_reply", "notifier={} reply={}", Q{cfg_.name},
                    Q{reply});
    }
    return NotifyOutcome::kDone;
  }

 private:
  config::NotifierConfig cfg_;
  NotifierDeps deps_;
};

class HookNotifier final : public Notifier {
 public:
  HookNotifier(const config::NotifierConfig& cfg, NotifierDeps deps) : cfg_(cfg), deps_(deps) {}
  const std::string& name() const noexcept override { return cfg_.name; }
  std::string_view kind() const noexcept override { return "hook"; }
  NotifyOutcome Run(const NotifyContext& ctx, int timeout_ms) override {
    HookEnv env;
    env.event = "reclaim";
    env.scope = ctx.scope.Name();
    env.level = ctx.level;
    env.available_bytes = ctx.sample.available_bytes;
    env.total_bytes = ctx.sample.total_bytes;
    env.available_percent = ctx.decision.available_percent;
    env.psi_some_percent = ctx.decision.psi_some_percent;
    env.psi_full_percent = ctx.decision.psi_full_percent;
    HookResult r =
        RunHook(cfg_.name, cfg_.argv, env, timeout_ms, deps_.clock, deps_.log, ctx.cancel);
    switch (r.outcome) {
      case HookOutcome::kExited:
        return r.exit_status == 0 ? NotifyOutcome::kDone : NotifyOutcome::kFailed;
      case HookOutcome::kTimedOut:
      case HookOutcome::kCancelled:
        return NotifyOutcome::kTimedOut;
      case HookOutcome::kSpawnFailed:
      case HookOutcome::kUntrusted:
        return NotifyOutcome::kFailed;
    }
    return NotifyOutcome::kFailed;
  }

 private:
  config::NotifierConfig cfg_;
  NotifierDeps deps_;
};

// Publishes a "warning" line on the daemon's event stream, where reaperd-bus (or any other
// subscriber) turns it into LowMemoryWarning for applications; the chain then measures what
// came back over the settle window, as for every step. Nobody subscribed: kNoTarget, so the
// step is backed off like a socket nobody listens on.
class EventWarning final : public Notifier {
 public:
  EventWarning(const config::NotifierConfig& cfg, NotifierDeps deps) : cfg_(cfg), deps_(deps) {}
  const std::string& name() const noexcept override { return cfg_.name; }
  std::string_view kind() const noexcept override { return "event"; }
  NotifyOutcome Run(const NotifyContext& ctx, int) override {
    if (deps_.post_event == nullptr || !*deps_.post_event) return NotifyOutcome::kNoTarget;
    std::string line = "{\"event\":\"warning\",\"scope\":\"";
    AppendJsonEscaped(ctx.scope.Name(), line);
    line += "\",\"step\":\"";
    AppendJsonEscaped(cfg_.name, line);
    line += fmt::format("\",\"level\":\"{}\",\"available_bytes\":{},\"total_bytes\":{}}}",
                        pressure::LevelName(ctx.level), ctx.sample.available_bytes,
                        ctx.sample.total_bytes);
    return (*deps_.post_event)(std::move(line)) ? NotifyOutcome::kDone : NotifyOutcome::kNoTarget;
  }

 private:
  // JSON string escaping: quotes, backslashes and control bytes (a cgroup name is the
  // user's choice).
  static void AppendJsonEscaped(std::string_view in, std::string& out) {
    for (const char c : in) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += c;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
      } else {
        out += c;
      }
    }
  }

  config::NotifierConfig cfg_;
  NotifierDeps deps_;
};

}  // namespace

const char* NotifyOutcomeName(NotifyOutcome o) noexcept {
  switch (o) {
    case NotifyOutcome::kDone:
      return "done";
    case NotifyOutcome::kTimedOut:
      return "timed_out";
    case NotifyOutcome::kFailed:
      return "failed";
    case NotifyOutcome::kNoTarget:
      return "no_target";
    case NotifyOutcome::kUnsupported:
      return "unsupported";
  }
  return "?";
}

std::unique_ptr<Notifier> MakeNotifier(const config::NotifierConfig& cfg, NotifierDeps deps) {
  switch (cfg.kind) {
    case config::NotifierKind::kCgroupReclaim:
      return std::make_unique<CgroupReclaim>(cfg, deps);
    case config::NotifierKind::kDropCaches:
      return std::make_unique<DropCaches>(cfg, deps);
    case config::NotifierKind::kSignal:
      return std::make_unique<SignalTrim>(cfg, deps);
    case config::NotifierKind::kSocket:
      return std::make_unique<SocketTrim>(cfg, deps);
    case config::NotifierKind::kHook:
      return std::make_unique<HookNotifier>(cfg, deps);
    case config::NotifierKind::kEvent:
      return std::make_unique<EventWarning>(cfg, deps);
  }
  return nullptr;
}

}  // namespace reaperd::reclaim
