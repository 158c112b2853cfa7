// The ranking: a badness compatible with the kernel's oom_badness() (rss + swap + page
// tables, plus oom_score_adj scaled to the scope's total), then the configured rules.
// Pure: no I/O. Compile once per config (regexes), rank per snapshot.
// RankInto() refills a caller-owned Ranking without allocating once it is warm, as long as
// no rule runs: matching a rule's std::regex allocates (std::regex_search's own state).
// The default config has no rules; a config with rules allocates in the kill path.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "policy/snapshot.h"

namespace reaperd::policy {

enum class ProtectReason : unsigned char {
  kInit,            // pid 1
  kKernelThread,    // PF_KTHREAD, or the kthreadd tree
  kSelf,            // reaperd itself
  kNoMm,            // zombie or exiting: nothing to free by killing
  kOomScoreAdjMin,  // oom_score_adj == -1000
  kConfigComm,      // rank.protect_comm
  kConfigCgroup,    // rank.protect_cgroup
  kConfigUid,       // rank.protect_uid
  kRule,            // a rule with action = "protect"
  kSkipped,         // an earlier victim that missed its deadline
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
};

struct Protected {
  std::size_t index = 0;
  ProtectReason reason = ProtectReason::kInit;
  int rule = -1;  // for kRule
};

struct Ranking {
  std::vector<Score> candidates;  // best victim first
  std::vector<Protected> protected_processes;
};

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
  // The same into out, reusing its vectors (and each Score's rules) in place.
  void RankInto(const Snapshot& snapshot, pid_t self, const std::vector<ProcessId>& skipped,
                Ranking& out) const;

  const config::RankConfig& config() const noexcept { return config_; }

 private:
  struct CompiledRule {
    bool has_comm = false, has_exe = false, has_cmdline = false, has_cgroup = false;
    std::regex comm, exe, cmdline, cgroup;
  };
  bool Matches(const CompiledRule& rule, const config::Rule& spec, const Process& p) const;

  config::RankConfig config_;
  std::vector<CompiledRule> compiled_;
};

}  // namespace reaperd::policy
