// The ranking: a badness compatible with the kernel's oom_badness() (rss + swap + page
// tables, plus oom_score_adj scaled to the scope's total), then the configured rules.
// Pure: no I/O. Compile once per config (regexes), rank per snapshot.
// RankInto() refills a caller-owned Ranking without allocating once it is warm, as long as
// no rule runs: matching a rule's std::regex allocates (the executor's own state).
// The default config has no rules; a config with rules allocates in the kill path.
// Who may never be killed is decided by one predicate, ProtectRules::Check: the ranking asks
// it of every candidate and the killer asks it again of every process a kill widens to
// (cgroup and process-group members, mm sharers), so both spare the same processes.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <regex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"
#include "policy/growth.h"
#include "policy/session.h"
#include "policy/snapshot.h"

namespace reaperd::policy {

enum class ProtectReason : unsigned char {
  kInit,              // pid 1
  kKernelThread,      // PF_KTHREAD, or the kthreadd tree
  kSelf,              // reaperd itself
  kNoMm,              // zombie or exiting: nothing to free by killing
  kOomScoreAdjMin,    // oom_score_adj == -1000
  kConfigComm,        // rank.protect_comm
  kConfigCgroup,      // rank.protect_cgroup
  kConfigUid,         // rank.protect_uid
  kRule,              // a rule with action = "protect"
  kSkipped,           // an earlier victim that missed its deadline
  kHook,              // a hook reaperd runs (its child leading its own process group)
  kMmShared,          // its mm is shared with a protected process: killing it frees nothing
  kOomdOmit,          // its cgroup says ManagedOOMPreference=omit (user.oomd_omit)
  kContainerRuntime,  // the kubelet or a container engine (root, outside any container)
};
const char* ProtectReasonName(ProtectReason r) noexcept;

struct RuleEffect {
  int rule = 0;             // index into RankConfig::rules
  int weight = 0;           // signed adj units (avoid rules are negative)
  std::int64_t points = 0;  // pages: weight * (total_pages / 1000)
};

// The breakdown of one candidate's score, in pages (the kernel's unit).
struct Score {
  std::size_t index = 0;  // into Snapshot::processes
  std::int64_t rss = 0;
  std::int64_t swap = 0;
  std::int64_t pagetables = 0;
  std::int64_t adj = 0;  // oom_score_adj * (total_pages / 1000)
  std::vector<RuleEffect> rules;
  std::int64_t total = 0;  // the final score; the highest is the first victim
  // Kernel-style 0..2000 figure against total_pages (comparable to /proc/PID/oom_score
  // only in the system scope).
  int oom_score = 0;
  // The cgroup's preference (policy::OomdPreference): 1 preferred (trusted.oomd_prefer), -1
  // avoided (ManagedOOMPreference=avoid, trusted.oomd_avoid): ordered before the score.
  int tier = 0;
  // Why the candidate is avoided (policy/session.h): chosen only when every candidate left
  // is avoided. Ordered before the preference and the score.
  AvoidReason avoid = AvoidReason::kNone;
  // The pod's QoS class, ordered after tier and before the score (as the kubelet ranks
  // evictions): 1 BestEffort, -1 Guaranteed, 0 Burstable and anything not in a pod.
  int qos_tier = 0;
  // What grew during the episode (policy/growth.h), in pages: this process's rss growth, and
  // its application's (the sum over its candidates). growth_points = app_growth *
  // rank.growth_weight / 100 is part of total, so an application that grew raises all its
  // members above a static process; oom_score leaves it out (the kernel's badness alone).
  std::int64_t growth = 0;
  std::int64_t app_growth = 0;
  std::int64_t growth_points = 0;
  int app_members = 1;
  // The application: the cgroup (app_root 0) when it holds one application, else the
  // process tree rooted at app_root in that cgroup. app_hash is the cgroup path's hash.
  pid_t app_root = 0;
  std::uint64_t app_hash = 0;
};

// How a candidate's application was found: "cgroup" (its cgroup holds one application),
// "tree" (the process tree rooted at app_root in its cgroup) or "none" (not grouped: no
// episode yet, nothing in the scope grew, or rank.growth_weight = 0).
const char* ApplicationKind(const Score& s) noexcept;

struct Protected {
  std::size_t index = 0;
  ProtectReason reason = ProtectReason::kInit;
  int rule = -1;      // for kRule
  pid_t mm_with = 0;  // for kMmShared: the protected process sharing the mm
};

// Why a process may never be signalled.
struct Protection {
  ProtectReason reason = ProtectReason::kInit;
  int rule = -1;  // for kRule
};

// One rule's compiled matchers (comm, exe, cmdline, cgroup regexes; uid).
class RuleMatcher {
 public:
  explicit RuleMatcher(const config::Rule& spec);
  bool Matches(const Process& p) const;
  bool reads_cmdline() const noexcept { return has_cmdline_; }

 private:
  std::optional<std::uint32_t> uid_;
  bool has_comm_ = false, has_exe_ = false, has_cmdline_ = false, has_cgroup_ = false;
  std::regex comm_, exe_, cmdline_, cgroup_;
};

// The protections of rank.* plus the fixed ones (init, kernel threads, reaperd and its
// hooks, oom_score_adj -1000). Immutable once built, so one instance is shared (by
// shared_ptr) between the ranking and every victim in flight, across threads and reloads.
class ProtectRules {
 public:
  explicit ProtectRules(const config::RankConfig& config);
  ProtectRules(const ProtectRules&) = delete;
  ProtectRules& operator=(const ProtectRules&) = delete;

  // Why p may never be killed, or nullopt. self is reaperd's own pid; a direct child of self
  // that leads its own process group is one of its hooks (sys::Spawn makes them so). Does not
  // allocate unless a protect rule is configured (matching a std::regex allocates).
  std::optional<Protection> Check(const Process& p, pid_t self) const;
  // Why p is avoided (AvoidReasonOf with rank.avoid_comm, unavoid_comm and session_avoid), or
  // kNone: the ranking's Score::avoid, which the kill-size ladder never widens into.
  AvoidReason Avoid(const Process& p) const noexcept;
  // True when some protect rule reads the command line (the killer then reads it too).
  bool reads_cmdline() const noexcept { return reads_cmdline_; }
  std::uint32_t cmdline_max() const noexcept { return config_.cmdline_max; }

 private:
  config::RankConfig config_;
  std::vector<int> protect_rules_;  // indexes of the rules whose action is protect
  std::vector<RuleMatcher> matchers_;
  bool reads_cmdline_ = false;
};

// The protections with no configuration: what every kill honours even without rank.*.
const std::shared_ptr<const ProtectRules>& DefaultProtectRules();

struct Ranking {
  std::vector<Score> candidates;  // best victim first
  std::vector<Protected> protected_processes;
  // The snapshot's (pid, index) sorted by pid, to follow parent links (reused buffer).
  std::vector<std::pair<pid_t, std::uint32_t>> by_pid;
};

// For a swap-exhausted kill (systemd-oomd's ManagedOOMSwap takes the largest swap user): the
// candidate with the most swap among those ranked alike with the first (the same avoidance,
// preference and QoS tier: never past a preference or a protection) moves to the front, the
// others keep their order. No allocation.
void LeadWithLargestSwap(Ranking& ranking) noexcept;

// The rivals of the first candidate of a ranking over a refreshed snapshot (some entries
// carried over unread: Process::carried), which could be ahead of it had the carried ones
// grown by up to growth_pages since they were read: the first itself when it is carried, then,
// in rank order, every carried candidate ranked alike with it (avoidance, preference, QoS
// tier) that comes within growth_pages of its score, with the growth term's share
// (growth_weight percent) on top; by_swap compares swap instead (a ranking
// LeadWithLargestSwap ordered). The kill reads them again instead of all of /proc. Writes up
// to out.size() PIDs and returns how many rivals there are (more than out.size() when out is
// short; 0: the first stands). No allocation.
std::size_t CarriedRivals(const Ranking& ranking, const Snapshot& snapshot,
                          std::int64_t growth_pages, int growth_weight, bool by_swap,
                          std::span<pid_t> out) noexcept;

// Identity of a process across snapshots: PID plus start time.
struct ProcessId {
  pid_t pid = 0;
  std::uint64_t starttime = 0;
  friend bool operator==(const ProcessId&, const ProcessId&) = default;
};

class Ranker {
 public:
  // Compiles the rules' regexes. The config must have passed validation.
  explicit Ranker(const config::RankConfig& config);

  // self: reaperd's own pid (protected). skipped: victims that missed their deadline.
  Ranking Rank(const Snapshot& snapshot, pid_t self,
               const std::vector<ProcessId>& skipped = {}) const;
  // The same into out, reusing its vectors (and each Score's rules) in place. With growth
  // (its episode started) and rank.growth_weight > 0, each candidate's application growth
  // adds to its score.
  void RankInto(const Snapshot& snapshot, pid_t self, const std::vector<ProcessId>& skipped,
                Ranking& out, const GrowthBaseline* growth = nullptr) const;

  const config::RankConfig& config() const noexcept { return config_; }
  // The protections this ranking applies, to hand to the kill path.
  const std::shared_ptr<const ProtectRules>& protection() const noexcept { return protect_; }

 private:
  // Fills the candidates' growth fields and adds growth_points to their totals (growth.cc).
  void AddGrowth(const Snapshot& snapshot, const GrowthBaseline& growth, Ranking& out) const;

  config::RankConfig config_;
  std::vector<RuleMatcher> matchers_;
  std::shared_ptr<const ProtectRules> protect_;
};

}  // namespace reaperd::policy
