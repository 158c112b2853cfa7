// `reaperd rank`: the explained answer to "if memory ran out now, who would die, and why?"
#include <fmt/format.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/escape.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "kill/process_ops.h"
#include "kill/victim.h"
#include "policy/container.h"
#include "policy/rank.h"
#include "report/kill_report.h"
#include "scan/cgroup_namespace.h"
#include "scan/scanner.h"
#include "sys/clock.h"
#include "sys/system_view.h"

namespace reaperd::cli {

namespace {

std::string Mib(std::int64_t pages, std::uint64_t page_size) {
  double mib = static_cast<double>(pages) * static_cast<double>(page_size) / (1024.0 * 1024.0);
  return fmt::format("{:.1f}M", mib);
}

std::string RuleLabel(const config::RankConfig& rc, int index) {
  if (index < 0 || static_cast<std::size_t>(index) >= rc.rules.size()) return "?";
  const auto& r = rc.rules[static_cast<std::size_t>(index)];
  return r.name.empty() ? fmt::format("rule[{}]", index) : r.name;
}

nlohmann::json ProcessJson(const policy::Process& p) {
  nlohmann::json j = {{"pid", p.pid},
                      {"starttime", p.starttime},
                      {"comm", std::string(p.comm.view())},
                      {"cmdline", p.cmdline},
                      {"exe", p.exe},
                      {"uid", p.uid},
                      {"state", std::string(1, p.state)},
                      {"cgroup", p.cgroup},
                      {"pgrp", p.pgrp},
                      {"session", p.session},
                      {"rss_anon_bytes", p.rss_anon},
                      {"rss_file_bytes", p.rss_file},
                      {"rss_shmem_bytes", p.rss_shmem},
                      {"swap_bytes", p.swap},
                      {"pagetables_bytes", p.pagetables},
                      {"oom_score_adj", p.oom_score_adj},
                      {"kernel_oom_score", p.kernel_oom_score}};
  if (auto c = report::ContainerJson(p.cgroup); !c.is_null()) j["container"] = std::move(c);
  return j;
}

// The cgroup's OOM preference, as rank shows it.
const char* PreferenceName(int tier) {
  return tier > 0   ? "prefer (trusted.oomd_prefer)"
         : tier < 0 ? "avoid (ManagedOOMPreference=avoid / trusted.oomd_avoid)"
                    : "none";
}

// " [docker:0123456789ab]" after a process of a container, "" for any other.
std::string ContainerSuffix(const policy::Process& p) {
  std::array<char, 128> buf;
  const auto label = policy::ContainerLabel(policy::IdentifyContainer(p.cgroup), buf);
  return label.empty() ? std::string() : fmt::format(" [{}]", Escaped(label));
}

// The application: "cgroup" (its cgroup is one), "tree:PID" (a process tree in its cgroup),
// "x3" appended when it has more than one candidate.
std::string AppLabel(const policy::Score& s) {
  std::string l = s.app_root != 0 ? fmt::format("tree:{}", s.app_root)
                                  : std::string(policy::ApplicationKind(s));
  if (s.app_members > 1) l += fmt::format("x{}", s.app_members);
  return l;
}

// What a protection says, with the sharer's pid for a victim passed over for its mm.
std::string Why(const policy::Protected& pr, const config::RankConfig& rc) {
  if (pr.reason == policy::ProtectReason::kMmShared) {
    return fmt::format("mm shared with protected pid {}", pr.mm_with);
  }
  std::string why = policy::ProtectReasonName(pr.reason);
  if (pr.rule >= 0) why += " " + RuleLabel(rc, pr.rule);
  return why;
}

// The daemon passes over a candidate whose mm a protected process shares (its memory could
// not come back, as the kernel's MMF_OOM_SKIP says): so does the explanation. Candidates are
// checked in order until `top` remain (each check may walk /proc), the rest stay as ranked.
void PassOverSharedMm(const policy::Snapshot& snap, policy::Ranking& ranking,
                      kill::VictimBuilder& builder, int top) {
  std::vector<policy::Score> kept;
  kept.reserve(ranking.candidates.size());
  std::size_t i = 0;
  for (; i < ranking.candidates.size(); ++i) {
    if (top > 0 && kept.size() >= static_cast<std::size_t>(top)) break;
    policy::Score& s = ranking.candidates[i];
    if (pid_t with = builder.ProtectedSharer(snap, s.index); with != 0) {
      ranking.protected_processes.push_back({s.index, policy::ProtectReason::kMmShared, -1, with});
      continue;
    }
    kept.push_back(std::move(s));
  }
  for (; i < ranking.candidates.size(); ++i) kept.push_back(std::move(ranking.candidates[i]));
  ranking.candidates = std::move(kept);
}

void PrintJson(const policy::Snapshot& snap, const policy::Ranking& ranking,
               const config::RankConfig& rc, const RankOptions& o) {
  nlohmann::json out;
  out["scope"] = snap.scope.Name();
  out["growth_window_ms"] = o.growth_window_ms;
  out["growth_weight"] = rc.growth_weight;
  out["total_pages"] = snap.total_pages;
  out["page_size"] = snap.page_size;
  out["processes"] = snap.processes.size();
  out["unreadable"] = snap.unreadable;
  auto& cands = out["candidates"] = nlohmann::json::array();
  int shown = 0;
  for (const auto& s : ranking.candidates) {
    if (o.top > 0 && shown++ >= o.top) break;
    nlohmann::json rules = nlohmann::json::array();
    for (const auto& e : s.rules) {
      rules.push_back(
          {{"rule", RuleLabel(rc, e.rule)}, {"weight", e.weight}, {"points", e.points}});
    }
    cands.push_back({{"process", ProcessJson(snap.processes[s.index])},
                     {"score",
                      {{"rss", s.rss},
                       {"swap", s.swap},
                       {"pagetables", s.pagetables},
                       {"adj", s.adj},
                       {"rules", rules},
                       {"badness", s.total - s.growth_points},
                       {"growth", s.growth},
                       {"app_growth", s.app_growth},
                       {"growth_points", s.growth_points},
                       {"total", s.total},
                       {"oom_score", s.oom_score},
                       {"preference", PreferenceName(s.tier)},
                       {"avoided", policy::AvoidReasonName(s.avoid)},
                       {"qos_order", s.qos_tier > 0   ? "besteffort (first)"
                                     : s.qos_tier < 0 ? "guaranteed (last)"
                                                      : "none"}}},
                     {"application",
                      {{"kind", policy::ApplicationKind(s)},
                       {"root_pid", s.app_root},
                       {"members", s.app_members}}}});
  }
  auto& prot = out["protected"] = nlohmann::json::array();
  for (const auto& p : ranking.protected_processes) {
    nlohmann::json j = {{"process", ProcessJson(snap.processes[p.index])}, {"reason", Why(p, rc)}};
    if (p.rule >= 0) j["rule"] = RuleLabel(rc, p.rule);
    if (p.mm_with > 0) j["mm_shared_with"] = p.mm_with;
    prot.push_back(std::move(j));
  }
  std::printf("%s\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

void PrintText(const policy::Snapshot& snap, const policy::Ranking& ranking,
               const config::RankConfig& rc, const RankOptions& o) {
  const auto ps = snap.page_size;
  fmt::print("scope {}: {} processes, {} candidates, {} protected; total {} pages ({})\n",
             snap.scope.Name(), snap.processes.size(), ranking.candidates.size(),
             ranking.protected_processes.size(), snap.total_pages,
             Mib(static_cast<std::int64_t>(snap.total_pages), ps));
  fmt::print(
      "score = badness (rss + swap + pagetables + adj*(total/1000) + rules) + growth_weight% "
      "({}) of the application's growth (pages); oom_score on the kernel's 0..2000 scale\n",
      rc.growth_weight);
  if (o.growth_window_ms > 0) {
    fmt::print("growth: rss grown over the last {} ms (--growth-window)\n\n", o.growth_window_ms);
  } else {
    fmt::print("growth: not measured (--growth-window 2s measures it)\n\n");
  }
  fmt::print(
      "{:>3} {:>7} {:<16} {:>6} {:>9} {:>8} {:>7} {:>9} {:>9} {:>9} {:>8} {:>9} {:>9} {:<12} {:>5} "
      "{:>6}  {}\n",
      "#", "PID", "COMM", "UID", "RSS", "SWAP", "PGTBL", "ADJ", "RULES", "BADNESS", "GROWTH",
      "APPGROWTH", "SCORE", "APP", "OOM", "KERNEL", "RULES APPLIED / CMDLINE");
  int rank = 0;
  for (const auto& s : ranking.candidates) {
    if (o.top > 0 && rank >= o.top) break;
    ++rank;
    const auto& p = snap.processes[s.index];
    std::int64_t rule_points = 0;
    std::string applied;
    for (const auto& e : s.rules) {
      rule_points += e.points;
      applied +=
          fmt::format("{}{}({:+d}) ", applied.empty() ? "" : "", RuleLabel(rc, e.rule), e.weight);
    }
    if (s.tier != 0) applied += s.tier > 0 ? "prefer(oomd) " : "avoid(ManagedOOMPreference) ";
    if (s.avoid != policy::AvoidReason::kNone) {
      applied += fmt::format("avoided({}) ", policy::AvoidReasonName(s.avoid));
    }
    if (s.qos_tier != 0) applied += s.qos_tier > 0 ? "besteffort(pod) " : "guaranteed(pod) ";
    std::string adj = p.oom_score_adj == 0 ? "0" : fmt::format("{:+d}", p.oom_score_adj);
    std::string cmd = Escaped(p.cmdline.empty() ? std::string_view("-") : p.cmdline);
    if (cmd.size() > 60) cmd = cmd.substr(0, 57) + "...";
    fmt::print(
        "{:>3} {:>7} {:<16} {:>6} {:>9} {:>8} {:>7} {:>9} {:>9} {:>9} {:>8} {:>9} {:>9} {:<12} "
        "{:>5} {:>6}  {}{}{}\n",
        rank, p.pid, Escaped(p.comm.view()), p.uid, Mib(s.rss, ps), Mib(s.swap, ps),
        Mib(s.pagetables, ps), adj + "=" + Mib(s.adj, ps), Mib(rule_points, ps),
        Mib(s.total - s.growth_points, ps), Mib(s.growth, ps), Mib(s.app_growth, ps),
        Mib(s.total, ps), AppLabel(s), s.oom_score, p.kernel_oom_score, applied, cmd,
        ContainerSuffix(p));
  }
  if (o.top > 0 && static_cast<std::size_t>(o.top) < ranking.candidates.size()) {
    fmt::print("    ... {} more (--top 0 shows all)\n", ranking.candidates.size() - o.top);
  }
  fmt::print("\nprotected (never a victim):\n");
  int kthreads = 0;
  for (const auto& pr : ranking.protected_processes) {
    if (pr.reason == policy::ProtectReason::kKernelThread && !o.all_protected) {
      ++kthreads;
      continue;
    }
    const auto& p = snap.processes[pr.index];
    fmt::print("    {:>7} {:<16} {}{}\n", p.pid, Escaped(p.comm.view()), Why(pr, rc),
               ContainerSuffix(p));
  }
  if (kthreads > 0)
    fmt::print("    and {} kernel threads (--all-protected lists them)\n", kthreads);
}

}  // namespace

int RunRank(const RankOptions& o) {
  auto loaded = LoadCommon(o.common);
  if (!loaded) return 1;
  auto view = sys::RealSystemView::Open();
  if (!view) {
    std::fprintf(stderr, "reaperd: cannot open /proc: %s\n", view.error().ToString().c_str());
    return 1;
  }
  // The daemon's reading of a container's cgroup namespace (scan/cgroup_namespace.h).
  const scan::CgroupNamespace cgroup_ns = scan::FindCgroupNamespace(*view, ::getpid());
  view->set_cgroup_ns_base(cgroup_ns.base);
  if (!cgroup_ns.problem.empty()) {
    std::fprintf(stderr, "reaperd: cgroup namespace unresolved: %s\n", cgroup_ns.problem.c_str());
  }
  sys::MonotonicClock clock;
  scan::Scanner scanner(*view, clock);
  scan::ScanOptions so;
  so.cmdline_max = loaded->config.rank.cmdline_max;
  auto snap = scanner.Scan(loaded->scope, so);
  // The baseline, as the daemon takes it when a scope leaves ok: each process's rss at its
  // first sighting; with a window, the second scan's growth against it.
  policy::GrowthBaseline growth;
  if (snap) growth.Observe(*snap, true);
  if (snap && o.growth_window_ms > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(o.growth_window_ms));
    snap = scanner.Scan(loaded->scope, so);
    if (snap) growth.Observe(*snap, true);
  }
  if (!snap) {
    std::fprintf(stderr, "reaperd: cannot scan scope %s: %s\n", loaded->scope.Name().c_str(),
                 snap.error().ToString().c_str());
    return 1;
  }
  policy::Ranker ranker(loaded->config.rank);
  policy::Ranking ranking;
  ranker.RankInto(*snap, ::getpid(), {}, ranking, &growth);
  kill::RealProcessOps ops(*view);
  kill::VictimBuilder builder(*view, ops, loaded->config.kill, ranker.protection());
  PassOverSharedMm(*snap, ranking, builder, o.top);
  if (o.json) {
    PrintJson(*snap, ranking, loaded->config.rank, o);
  } else {
    PrintText(*snap, ranking, loaded->config.rank, o);
  }
  WarnIfUnprivileged(*snap);
  return 0;
}

}  // namespace reaperd::cli
