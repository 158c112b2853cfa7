// FaultySystemView: a SystemView that forwards every call to another one and makes chosen
// calls fail, for fault-injection tests (in the manner of leveldb's fault-injecting Env).
// A rule matches by path substring ("status", "1234/", "" for all) and fires on every Nth
// matching call after the first `skip` ones, so a fault lands in the middle of a scan.
// Paths seen by ReadAt/ReadLinkAt are "<dir opened by OpenDir>/<name>"; ListPids is
// "<pids>", ListCgroupPids "<cgroup.procs>". Thread safety: not thread safe; one per test.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sys/system_view.h"

namespace reaperd::sys {

enum class Fault : std::uint8_t {
  kEnoent,     // the object vanished
  kEsrch,      // the process died between open and read
  kEacces,     // not allowed (an unprivileged run, an LSM)
  kEio,        // the read itself failed
  kShortRead,  // only the first half of the bytes arrive, and nothing says so
  kGarbage,    // the bytes arrive as junk (0xff first, then NUL, ')', '\n', digits...)
};
constexpr int kFaultKinds = 6;
const char* FaultName(Fault f) noexcept;

struct FaultRule {
  std::string path_contains;  // "" matches every path
  Fault fault = Fault::kEio;
  std::uint32_t every_nth = 1;  // fire on every Nth matching call (1: all)
  std::uint32_t skip = 0;       // let the first `skip` matching calls through
  std::uint32_t seen = 0;       // matching calls so far (kept by the view)
};

class FaultySystemView final : public SystemView {
 public:
  explicit FaultySystemView(SystemView& base) : base_(base) {}

  void AddRule(FaultRule rule) { rules_.push_back(std::move(rule)); }
  void ClearRules() { rules_.clear(); }
  // How many faults of each kind were injected, and on which paths (in order).
  int injected(Fault f) const noexcept { return injected_[static_cast<int>(f)]; }
  int injected_total() const noexcept;
  const std::vector<std::string>& faulted_paths() const noexcept { return faulted_paths_; }
  // The rules as added, with their `seen` counts: a rule that never fires (skip at its
  // maximum) counts the calls on a path.
  const std::vector<FaultRule>& rules() const noexcept { return rules_; }

  Result<ReadResult> Read(Root root, std::string_view path, std::span<char> buf) noexcept override;
  Result<UniqueFd> OpenDir(Root root, std::string_view path) noexcept override;
  Result<ReadResult> ReadAt(int dirfd, std::string_view name,
                            std::span<char> buf) noexcept override;
  Result<std::size_t> ReadLinkAt(int dirfd, std::string_view name,
                                 std::span<char> buf) noexcept override;
  Result<UniqueFd> OpenAt(int dirfd, std::string_view name) noexcept override;
  Result<ReadResult> ReadFd(int fd, std::span<char> buf) noexcept override;
  Result<void> Write(Root root, std::string_view path, std::string_view data) noexcept override;
  Result<void> ListPids(std::vector<pid_t>& out) override;
  Result<void> ListCgroupPids(std::string_view path, std::vector<pid_t>& out) override;
  Result<void> ListDirs(Root root, std::string_view path, std::vector<std::string>& out) override;
  CgroupVersion cgroup_version() const noexcept override { return base_.cgroup_version(); }
  std::string_view cgroup_root_path() const noexcept override { return base_.cgroup_root_path(); }
  std::string_view cgroup_ns_base() const noexcept override { return base_.cgroup_ns_base(); }

 private:
  // The fault to inject for this call, if any (counts the call against every rule).
  const FaultRule* Match(std::string_view path) noexcept;
  std::string PathAt(int dirfd, std::string_view name) const;
  // Applies a data fault to bytes already read; returns the error for the others.
  Result<ReadResult> Apply(const FaultRule& rule, std::string_view path, ReadResult r,
                           std::span<char> buf) noexcept;

  SystemView& base_;
  std::vector<FaultRule> rules_;
  std::unordered_map<int, std::string> dirs_;  // fd -> path given to OpenDir or OpenAt
  int injected_[kFaultKinds] = {};
  std::vector<std::string> faulted_paths_;
  std::uint32_t junk_state_ = 0x9e3779b9u;
};

}  // namespace reaperd::sys
