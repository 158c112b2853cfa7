#include "policy/rank.h"

#include <algorithm>

#include "config/rule_regex.h"
#include "policy/container.h"

namespace reaperd::policy {

const char* ProtectReasonName(ProtectReason r) noexcept {
  switch (r) {
    case ProtectReason::kInit:
      return "init";
    case ProtectReason::kKernelThread:
      return "kernel thread";
    case ProtectReason::kSelf:
      return "reaperd itself";
    case ProtectReason::kNoMm:
      return "no memory (zombie or exiting)";
    case ProtectReason::kOomScoreAdjMin:
      return "oom_score_adj -1000";
    case ProtectReason::kConfigComm:
      return "rank.protect_comm";
    case ProtectReason::kConfigCgroup:
      return "rank.protect_cgroup";
    case ProtectReason::kConfigUid:
      return "rank.protect_uid";
    case ProtectReason::kRule:
      return "protect rule";
    case ProtectReason::kSkipped:
      return "missed its deadline earlier (skipped)";
    case ProtectReason::kHook:
      return "reaperd's hook";
    case ProtectReason::kMmShared:
      return "mm shared with a protected process";
    case ProtectReason::kOomdOmit:
      return "ManagedOOMPreference=omit (user.oomd_omit)";
    case ProtectReason::kContainerRuntime:
      return "kubelet or container runtime";
  }
  return "?";
}

namespace {

// The regexes are validated when the config is parsed (config::CompileRuleRegex, as here);
// a rule whose regex still fails to compile here matches nothing rather than throwing into
// the daemon.
bool Compile(const std::optional<std::string>& src, std::regex& out) {
  if (!src) return false;
  try {
    out = config::CompileRuleRegex(*src);
    return true;
  } catch (const std::regex_error&) {
    out = std::regex("[^\\s\\S]");  // one character of no kind: matches nothing
    return true;
  }
}

// The kubelet and the engines that run containers (comm is cut to 15 characters:
// containerd-shim-runc-v2 reads "containerd-shim").
bool IsRuntimeComm(std::string_view comm) noexcept {
  for (std::string_view c : {"kubelet", "containerd", "crio", "conmon", "dockerd", "podman"}) {
    if (comm == c) return true;
  }
  return comm.starts_with("containerd-shim");
}

// Where the kubelet's QoS class puts a pod's processes in the order of victims.
int QosTier(std::string_view cgroup) noexcept {
  if (cgroup.find("kubepods") == std::string_view::npos) return 0;
  switch (IdentifyContainer(cgroup).qos) {
    case PodQos::kBestEffort:
      return 1;
    case PodQos::kGuaranteed:
      return -1;
    case PodQos::kBurstable:
    case PodQos::kNone:
      return 0;
  }
  return 0;
}

bool PathUnder(std::string_view path, std::string_view prefix) {
  if (prefix.empty()) return false;
  if (prefix == "/") return true;
  if (!path.starts_with(prefix)) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/' || prefix.back() == '/';
}

}  // namespace

RuleMatcher::RuleMatcher(const config::Rule& spec) : uid_(spec.uid) {
  has_comm_ = Compile(spec.comm, comm_);
  has_exe_ = Compile(spec.exe, exe_);
  has_cmdline_ = Compile(spec.cmdline, cmdline_);
  has_cgroup_ = Compile(spec.cgroup, cgroup_);
}

bool RuleMatcher::Matches(const Process& p) const {
  bool any = false;
  auto check = [&](bool has, const std::regex& re, std::string_view text) {
    if (!has) return true;
    any = true;
    return config::RuleRegexFinds(re, text);
  };
  if (!check(has_comm_, comm_, p.comm.view())) return false;
  if (!check(has_exe_, exe_, p.exe)) return false;
  if (!check(has_cmdline_, cmdline_, p.cmdline)) return false;
  if (!check(has_cgroup_, cgroup_, p.cgroup)) return false;
  if (uid_) {
    any = true;
    if (p.uid != *uid_) return false;
  }
  return any;  // a rule with no matcher matches nothing
}

ProtectRules::ProtectRules(const config::RankConfig& config) : config_(config) {
  for (std::size_t i = 0; i < config_.rules.size(); ++i) {
    const config::Rule& r = config_.rules[i];
    if (r.action != config::RuleAction::kProtect) continue;
    protect_rules_.push_back(static_cast<int>(i));
    matchers_.emplace_back(r);
    reads_cmdline_ = reads_cmdline_ || matchers_.back().reads_cmdline();
  }
}

std::optional<Protection> ProtectRules::Check(const Process& p, pid_t self) const {
  auto is = [](ProtectReason r, int rule = -1) { return Protection{r, rule}; };
  if (p.pid == 1) return is(ProtectReason::kInit);
  if (p.kernel_thread || p.pid == 2 || p.ppid == 2) return is(ProtectReason::kKernelThread);
  if (p.pid == self) return is(ProtectReason::kSelf);
  // sys::Spawn starts every hook as a child of reaperd leading a process group of its own.
  // (self 1 means "no reaperd" in tests: pid 1's children are not its hooks.)
  if (self > 1 && p.ppid == self && p.pgrp == p.pid) return is(ProtectReason::kHook);
  if (p.oom_score_adj <= -1000) return is(ProtectReason::kOomScoreAdjMin);
  if ((p.oomd & kOomdOmit) != 0) return is(ProtectReason::kOomdOmit);
  // Root and outside any container (a container may run its own "containerd"); a conmon in
  // its engine's monitor scope is the engine's. Any user can name a process "kubelet".
  if (p.uid == 0 && IsRuntimeComm(p.comm.view())) {
    const ContainerInfo c = IdentifyContainer(p.cgroup);
    if (!c.known() || c.monitor) return is(ProtectReason::kContainerRuntime);
  }
  if (std::find(config_.protect_comm.begin(), config_.protect_comm.end(), p.comm.view()) !=
      config_.protect_comm.end()) {
    return is(ProtectReason::kConfigComm);
  }
  if (std::any_of(config_.protect_cgroup.begin(), config_.protect_cgroup.end(),
                  [&](const std::string& c) { return PathUnder(p.cgroup, c); })) {
    return is(ProtectReason::kConfigCgroup);
  }
  if (std::find(config_.protect_uid.begin(), config_.protect_uid.end(), p.uid) !=
      config_.protect_uid.end()) {
    return is(ProtectReason::kConfigUid);
  }
  for (std::size_t i = 0; i < matchers_.size(); ++i) {
    if (matchers_[i].Matches(p)) return is(ProtectReason::kRule, protect_rules_[i]);
  }
  return std::nullopt;
}

AvoidReason ProtectRules::Avoid(const Process& p) const noexcept {
  return AvoidReasonOf(p, config_.session_avoid, config_.avoid_comm, config_.unavoid_comm);
}

const std::shared_ptr<const ProtectRules>& DefaultProtectRules() {
  static const std::shared_ptr<const ProtectRules> rules =
      std::make_shared<const ProtectRules>(config::RankConfig{});
  return rules;
}

Ranker::Ranker(const config::RankConfig& config)
    : config_(config), protect_(std::make_shared<const ProtectRules>(config)) {
  matchers_.reserve(config_.rules.size());
  for (const config::Rule& r : config_.rules) matchers_.emplace_back(r);
}

Ranking Ranker::Rank(const Snapshot& snapshot, pid_t self,
                     const std::vector<ProcessId>& skipped) const {
  Ranking out;
  RankInto(snapshot, self, skipped, out);
  return out;
}

void Ranker::RankInto(const Snapshot& snapshot, pid_t self, const std::vector<ProcessId>& skipped,
                      Ranking& out, const GrowthBaseline* growth) const {
  out.protected_processes.clear();
  out.protected_processes.reserve(snapshot.processes.size());
  out.candidates.reserve(snapshot.processes.size());
  // Candidate slots are overwritten in order (a Score keeps its rules' capacity); a slot
  // whose process a rule protected is reused for the next one.
  std::size_t kept = 0;
  const std::int64_t page =
      static_cast<std::int64_t>(std::max<std::uint64_t>(snapshot.page_size, 1));
  // The kernel scales adj by totalpages/1000 with integer division first; so do we.
  const std::int64_t per_mille = static_cast<std::int64_t>(snapshot.total_pages / 1000);
  const std::int64_t total_pages =
      static_cast<std::int64_t>(std::max<std::uint64_t>(snapshot.total_pages, 1));

  for (std::size_t i = 0; i < snapshot.processes.size(); ++i) {
    const Process& p = snapshot.processes[i];
    auto protect = [&](ProtectReason r, int rule = -1) {
      out.protected_processes.push_back({i, r, rule});
    };
    // The one predicate the kill path asks again of every process a kill widens to.
    if (auto pr = protect_->Check(p, self)) {
      protect(pr->reason, pr->rule);
      continue;
    }
    if (!p.has_mm || p.state == 'Z' || p.state == 'X' || p.state == 'x') {
      protect(ProtectReason::kNoMm);
      continue;
    }
    if (std::find(skipped.begin(), skipped.end(), ProcessId{p.pid, p.starttime}) != skipped.end()) {
      protect(ProtectReason::kSkipped);
      continue;
    }

    if (kept == out.candidates.size()) out.candidates.emplace_back();
    Score& s = out.candidates[kept];
    s.rules.clear();
    s.index = i;
    s.rss = static_cast<std::int64_t>(p.rss()) / page;
    s.swap = static_cast<std::int64_t>(p.swap) / page;
    s.pagetables = static_cast<std::int64_t>(p.pagetables) / page;
    s.adj = static_cast<std::int64_t>(p.oom_score_adj) * per_mille;
    for (std::size_t r = 0; r < config_.rules.size(); ++r) {
      const config::Rule& spec = config_.rules[r];
      // Protect rules were asked above (Check): none of them matches here.
      if (spec.action == config::RuleAction::kProtect || !matchers_[r].Matches(p)) continue;
      int w = spec.action == config::RuleAction::kAvoid ? -std::abs(spec.weight)
                                                        : std::abs(spec.weight);
      s.rules.push_back({static_cast<int>(r), w, static_cast<std::int64_t>(w) * per_mille});
    }
    // The cgroup's preference orders before any score: avoided last, preferred first.
    s.tier = (p.oomd & kOomdAvoid) != 0 ? -1 : (p.oomd & kOomdPrefer) != 0 ? 1 : 0;
    s.avoid = AvoidReasonOf(p, config_.session_avoid, config_.avoid_comm, config_.unavoid_comm);
    s.qos_tier = QosTier(p.cgroup);
    s.total = s.rss + s.swap + s.pagetables + s.adj;
    for (const RuleEffect& e : s.rules) s.total += e.points;
    std::int64_t score = (1000 + s.total * 1000 / total_pages) * 2 / 3;
    s.oom_score = static_cast<int>(std::clamp<std::int64_t>(score, 0, 2000));
    s.growth = s.app_growth = s.growth_points = 0;
    s.app_members = 1;
    s.app_root = 0;
    s.app_hash = 0;
    ++kept;
  }
  out.candidates.resize(kept);
  // Reserved whenever the term is on, so that the warm-up (no episode yet) sizes it too.
  if (config_.growth_weight > 0) out.by_pid.reserve(snapshot.processes.size());
  if (growth != nullptr && growth->started() && config_.growth_weight > 0) {
    AddGrowth(snapshot, *growth, out);
  }

  // What holds a session together last of all (chosen only when nothing else is left), then
  // a preferred cgroup's processes first and an avoided one's last, then a BestEffort pod's
  // before a Burstable pod's or a host process's before a Guaranteed pod's, then highest score
  // first; ties go to the larger footprint, then to the newer process, then
  // to snapshot order. The last key makes the order total, so std::sort gives what a stable
  // sort would without std::stable_sort's temporary buffer (a heap allocation).
  std::sort(out.candidates.begin(), out.candidates.end(), [&](const Score& a, const Score& b) {
    const bool avoid_a = a.avoid != AvoidReason::kNone;
    if (avoid_a != (b.avoid != AvoidReason::kNone)) return !avoid_a;
    if (a.tier != b.tier) return a.tier > b.tier;
    if (a.qos_tier != b.qos_tier) return a.qos_tier > b.qos_tier;
    if (a.total != b.total) return a.total > b.total;
    const Process& pa = snapshot.processes[a.index];
    const Process& pb = snapshot.processes[b.index];
    if (pa.rss() != pb.rss()) return pa.rss() > pb.rss();
    if (pa.starttime != pb.starttime) return pa.starttime > pb.starttime;
    return a.index < b.index;
  });
}

namespace {

// Ranked alike: the same avoidance, preference and QoS tier (the keys before the score).
bool Alike(const Score& a, const Score& b) noexcept {
  return (a.avoid != AvoidReason::kNone) == (b.avoid != AvoidReason::kNone) && a.tier == b.tier &&
         a.qos_tier == b.qos_tier;
}

}  // namespace

std::size_t CarriedRivals(const Ranking& ranking, const Snapshot& snapshot,
                          std::int64_t growth_pages, int growth_weight, bool by_swap,
                          std::span<pid_t> out) noexcept {
  const auto& c = ranking.candidates;
  if (c.empty()) return 0;
  std::size_t n = 0;
  auto name = [&](const Score& s) {
    if (n < out.size()) out[n] = snapshot.processes[s.index].pid;
    ++n;
  };
  const Score& first = c.front();
  if (snapshot.processes[first.index].carried) name(first);  // its own figures are old
  if (growth_pages <= 0) return n;
  // Its rss, and its application's growth with it (at most all of the unseen growth).
  const std::int64_t bound = growth_pages + growth_pages * std::max(growth_weight, 0) / 100;
  for (std::size_t k = 1; k < c.size(); ++k) {
    const Score& s = c[k];
    if (!snapshot.processes[s.index].carried || !Alike(s, first)) continue;
    if (by_swap ? s.swap + growth_pages >= first.swap : s.total + bound >= first.total) name(s);
  }
  return n;
}

void LeadWithLargestSwap(Ranking& ranking) noexcept {
  auto& c = ranking.candidates;
  if (c.size() < 2) return;
  const Score& first = c.front();
  auto alike = [&](const Score& s) { return Alike(s, first); };
  auto best = c.begin();
  for (auto it = c.begin() + 1; it != c.end() && alike(*it); ++it) {
    if (it->swap > best->swap) best = it;
  }
  std::rotate(c.begin(), best, best + 1);
}

}  // namespace reaperd::policy
