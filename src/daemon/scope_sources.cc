#include "daemon/scope_sources.h"

#include <sys/epoll.h>

#include <set>

#include "daemon/engine.h"

namespace reaperd::daemon {

namespace {

// A PSI trigger: "some" stall of 10% over a 1 s window. Kernels that refuse fine-grained
// windows to processes without CAP_SYS_RESOURCE accept only multiples of 2 s.
Result<sys::UniqueFd> OpenTrigger(const std::string& path) {
  auto fd = sys::OpenPsiTrigger(path, "some", 100'000, 1'000'000);
  if (fd) return fd;
  return sys::OpenPsiTrigger(path, "some", 200'000, 2'000'000);
}

}  // namespace

void ScopeSources::Sync(Engine& engine) {
  Sync(engine.samplers());
  SyncAlarms(engine);
}

void ScopeSources::SyncAlarms(Engine& engine) {
  const auto& status = engine.status();
  for (std::size_t i = 0; i < status.size(); ++i) {
    auto it = sources_.find(status[i].name);
    if (it == sources_.end()) continue;
    Source& src = it->second;
    if (src.alarm_at != status[i].usage_alarm_wanted) {
      src.alarm_at =
          MoveAlarm(status[i].name, status[i].scope.cgroup, src, status[i].usage_alarm_wanted);
    }
    engine.SetUsageAlarmArmed(i, src.alarm_at);
  }
}

std::uint64_t ScopeSources::MoveAlarm(const std::string& name, const std::string& cgroup, Source& s,
                                      std::uint64_t bytes) {
  if (s.alarm) (void)ep_.Remove(s.alarm->fd());
  s.alarm.reset();
  if (bytes == 0) return 0;
  auto dir = view_.OpenDir(sys::Root::kCgroup, cgroup.size() > 1 ? cgroup.substr(1) : ".");
  if (!dir) return 0;
  auto e = sys::RegisterUsageThreshold(dir->get(), bytes);
  if (!e) {
    if (!s.alarm_refused) {
      log_.Log(LogLevel::kNotice, "usage_alarm", "scope={} outcome=unavailable error={}", Q{name},
               Q{e.error().ToString()});
    }
    s.alarm_refused = true;
    return 0;
  }
  (void)ep_.Add(e->fd(), EPOLLIN, level_tag_ | s.id << kIdShift);
  s.alarm = std::move(*e);
  // Debug: a growing cgroup moves its alarm every eighth of its headroom.
  log_.Log(LogLevel::kDebug, "usage_alarm", "scope={} outcome=armed usage_bytes={}", Q{name},
           bytes);
  return bytes;
}

void ScopeSources::Sync(const std::vector<Sampler>& samplers) {
  std::set<std::string> names;
  for (const auto& s : samplers) {
    std::string name = s.scope().Name();
    if (!sources_.contains(name)) {
      Open(name, s.PsiPath(), s.psi_in_cgroupfs(), s.scope().cgroup);
    }
    names.insert(std::move(name));
  }
  for (auto it = sources_.begin(); it != sources_.end();) {
    if (names.contains(it->first)) {
      ++it;
      continue;
    }
    Close(it->second);
    it = sources_.erase(it);
  }
}

void ScopeSources::Open(const std::string& name, const std::string& psi_path, bool psi_in_cgroupfs,
                        const std::string& cgroup) {
  Source src;
  src.id = next_id_++;
  const std::uint64_t data_psi = psi_tag_ | src.id << kIdShift;
  const std::uint64_t data_level = level_tag_ | src.id << kIdShift;
  if (!psi_path.empty()) {
    std::string full = psi_in_cgroupfs ? std::string(view_.cgroup_root_path()) + "/" + psi_path
                                       : "/proc/" + psi_path;
    if (auto t = OpenTrigger(full)) {
      (void)ep_.Add(t->get(), EPOLLPRI, data_psi);
      src.trigger = std::move(*t);
      described_ += " psi:" + full;
    } else {
      log_.Log(LogLevel::kNotice, "start", "psi_trigger=unavailable path={} error={}", Q{full},
               Q{t.error().ToString()});
    }
  } else if (view_.cgroup_version() == sys::CgroupVersion::kV1 && !cgroup.empty()) {
    auto dir = view_.OpenDir(sys::Root::kCgroup, cgroup.size() > 1 ? cgroup.substr(1) : ".");
    if (dir) {
      if (auto e = sys::RegisterPressureLevel(dir->get(), "medium")) {
        (void)ep_.Add(e->fd(), EPOLLIN, data_level);
        src.level = std::move(*e);
        described_ += " pressure_level:" + name;
      }
    }
  }
  sources_.emplace(name, std::move(src));
}

void ScopeSources::Close(Source& s) {
  if (s.trigger) (void)ep_.Remove(s.trigger->get());
  if (s.level) (void)ep_.Remove(s.level->fd());
  if (s.alarm) (void)ep_.Remove(s.alarm->fd());
  s.trigger.reset();
  s.level.reset();
  s.alarm.reset();
  s.alarm_at = 0;
}

void ScopeSources::OnEvent(std::uint64_t id, std::uint32_t events) {
  for (auto& [name, s] : sources_) {
    if (s.id != id) continue;
    if (s.level) (void)s.level->Read();
    if (s.alarm) (void)s.alarm->Read();
    if (s.trigger && (events & (EPOLLERR | EPOLLHUP)) != 0) {
      log_.Log(LogLevel::kNotice, "psi_trigger", "scope={} outcome=closed note={}", Q{name},
               Q{"POLLERR: the cgroup was removed or PSI turned off"});
      (void)ep_.Remove(s.trigger->get());
      s.trigger.reset();
    }
    return;
  }
}

}  // namespace reaperd::daemon
