// The per-scope event sources of the daemon loop: a PSI trigger on the scope's memory
// pressure file (system, v2 cgroups) or a v1 memory.pressure_level eventfd. Kept in step with
// the engine's scopes as they are added and removed, so a discovered cgroup is woken for as
// early as a configured one. Loop thread only.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/log.h"
#include "daemon/sampler.h"
#include "sys/event_loop.h"
#include "sys/system_view.h"
#include "sys/unique_fd.h"

namespace reaperd::daemon {

class Engine;

class ScopeSources {
 public:
  // The epoll data of a source is tag | id << kIdShift; the tags are the loop's own.
  static constexpr int kIdShift = 8;

  ScopeSources(sys::Epoll& ep, sys::SystemView& view, Logger& log, std::uint64_t psi_tag,
               std::uint64_t level_tag)
      : ep_(ep), view_(view), log_(log), psi_tag_(psi_tag), level_tag_(level_tag) {}

  // Opens the sources of new scopes and closes those of removed ones; moves each v1 cgroup
  // scope's usage alarm to where the engine wants it and tells the engine which one holds.
  void Sync(Engine& engine);
  // Only moves the usage alarms (no scope came or went): allocates nothing.
  void SyncAlarms(Engine& engine);
  // The same from the samplers themselves (the engine's, or a test's).
  void Sync(const std::vector<Sampler>& samplers);
  // A wake-up on source `id`: resets a pressure_level eventfd. A PSI trigger with EPOLLERR
  // (its cgroup was removed) leaves the epoll set, else it would wake the loop forever.
  void OnEvent(std::uint64_t id, std::uint32_t events);
  // " psi:PATH pressure_level:SCOPE ..." for the start line.
  const std::string& described() const noexcept { return described_; }

 private:
  struct Source {
    std::uint64_t id = 0;
    std::optional<sys::UniqueFd> trigger;
    std::optional<sys::EventFd> level;
    std::optional<sys::EventFd> alarm;  // v1 memory.usage_in_bytes threshold
    std::uint64_t alarm_at = 0;
    bool alarm_refused = false;  // logged once
  };
  // Registers s's usage alarm at `bytes` (0: none), replacing the old one; returns the
  // threshold that holds now (0: none, e.g. refused).
  std::uint64_t MoveAlarm(const std::string& name, const std::string& cgroup, Source& s,
                          std::uint64_t bytes);
  void Open(const std::string& name, const std::string& psi_path, bool psi_in_cgroupfs,
            const std::string& cgroup);
  void Close(Source& s);

  sys::Epoll& ep_;
  sys::SystemView& view_;
  Logger& log_;
  std::uint64_t psi_tag_;
  std::uint64_t level_tag_;
  std::uint64_t next_id_ = 1;
  std::map<std::string, Source> sources_;  // by scope name
  std::string described_;
};

}  // namespace reaperd::daemon
