// The decoders of each config section and the checks across keys. Ranges are sanity bounds
// that catch typos (a deadline in seconds written as milliseconds, a percent as a fraction),
// not tuned values; the defaults and their reasons are in packaging/config/reaperd.toml.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <regex>
#include <string>
#include <string_view>

#include "config/rule_regex.h"
#include "config/toml_reader.h"

namespace reaperd::config {
namespace {

constexpr std::array<std::string_view, 5> kLogLevels = {"debug", "info", "notice", "warning",
                                                        "error"};
// In enum order, so the index of a name is the enum's value.
constexpr std::array<std::string_view, 3> kActionNames = {"protect", "prefer", "avoid"};
constexpr std::array<std::string_view, 3> kWidenNames = {"none", "process_group", "cgroup"};
constexpr std::array<std::string_view, 4> kLastResortNames = {"none", "kernel", "panic", "reboot"};

constexpr int kMaxMs = 600000;        // ten minutes: any longer is surely a unit mistake
constexpr std::size_t kCommMax = 15;  // TASK_COMM_LEN - 1: the kernel truncates comm there
constexpr std::uint32_t kUidMax = 4294967294U;  // (uid_t)-1 means "no uid" to the kernel
constexpr std::uint32_t kCmdlineMax = 1U << 20;

template <class E>
void ReadEnum(TableReader& r, std::string_view key, std::span<const std::string_view> names,
              E& out) {
  auto index = static_cast<std::size_t>(out);
  r.Choice(key, names, index);
  out = static_cast<E>(index);
}

// Fails unless low <= high. Names the lower key when the text set it, else the higher one, so
// the error points at a line the user wrote.
template <class T>
void CheckOrder(ParseContext& ctx, T low, const std::string& low_key, T high,
                const std::string& high_key) {
  if (!ctx.ok() || low <= high) return;
  if (ctx.Where(low_key).has_value()) {
    ctx.Fail(*ctx.Where(low_key), low_key,
             fmt::format("{} must not exceed {} ({})", low, high_key, high));
  } else {
    ctx.Fail(ctx.Where(high_key).value_or(Position{}), high_key,
             fmt::format("{} must not be below {} ({})", high, low_key, low));
  }
}

constexpr std::uint64_t kMaxRegexRepeat = 1000;
// libstdc++'s std::regex compiles by recursion: a level per term, four more per group. A
// 19 KB pattern of nested groups overflowed the stack (fuzz_config, session 17).
constexpr std::size_t kMaxRegexLength = 1024;
constexpr int kMaxRegexGroupDepth = 32;

void CheckRegex(ParseContext& ctx, const TableReader& r, std::string_view key,
                const std::optional<std::string>& pattern) {
  if (!ctx.ok() || !pattern) return;
  const std::string dotted = r.Dotted(key);
  const Position where = ctx.Where(dotted).value_or(Position{});
  if (pattern->empty()) {
    ctx.Fail(where, dotted, "an empty regex matches everything; leave the key out instead");
    return;
  }
  if (pattern->size() > kMaxRegexLength) {
    ctx.Fail(where, dotted,
             fmt::format("invalid regex: longer than {} characters ({})", kMaxRegexLength,
                         pattern->size()));
    return;
  }
  // One walk over the pattern, past its escapes, refuses before std::regex sees them:
  // - groups nested deeper than kMaxRegexGroupDepth (counted outside bracket expressions);
  // - a repeat count ({n}, {n,}, {n,m}) or a back-reference (\N) above kMaxRegexRepeat:
  //   libstdc++ parses either number into a long without a bound (undefined behaviour past
  //   LONG_MAX, found by fuzz_config) and unrolls every repeat into automaton states. (Any
  //   back-reference is refused by the compile below, but only after the parse.)
  const std::string_view text = *pattern;
  auto number_at = [&](std::size_t& k) {  // the digits from k on (saturated), k past them
    std::uint64_t n = 0;
    for (; k < text.size() && text[k] >= '0' && text[k] <= '9'; ++k) {
      n = std::min<std::uint64_t>(n * 10 + static_cast<std::uint64_t>(text[k] - '0'),
                                  kMaxRegexRepeat + 1);
    }
    return n;
  };
  int depth = 0;  // groups opened and not closed
  bool in_brackets = false;
  for (std::size_t k = 0; k < text.size(); ++k) {
    if (text[k] == '\\' && k + 1 < text.size()) {
      std::size_t d = k + 1;
      if (number_at(d) > kMaxRegexRepeat) {
        ctx.Fail(where, dotted,
                 fmt::format("invalid regex \"{}\": a back-reference above {}", *pattern,
                             kMaxRegexRepeat));
        return;
      }
      k = d > k + 1 ? d - 1 : k + 1;  // past the number, or the escaped character
      continue;
    }
    const char c = text[k];
    if (in_brackets) {
      in_brackets = c != ']';
    } else if (c == '[') {
      in_brackets = true;  // ECMAScript: "[]" is an empty class, closed at once
    } else if (c == '(' && ++depth > kMaxRegexGroupDepth) {
      ctx.Fail(where, dotted,
               fmt::format("invalid regex \"{}\": groups nested deeper than {}", *pattern,
                           kMaxRegexGroupDepth));
      return;
    } else if (c == ')' && depth > 0) {
      --depth;
    }
    if (c != '{') continue;
    for (++k; k < text.size() && text[k] != '}';) {
      if (number_at(k) > kMaxRegexRepeat) {
        ctx.Fail(where, dotted,
                 fmt::format("invalid regex \"{}\": a repeat count above {}", *pattern,
                             kMaxRegexRepeat));
        return;
      }
      if (k >= text.size() || text[k] != ',') break;
      ++k;
    }
    if (k < text.size() && text[k] != '}') --k;  // not a count: looked at again
  }
  // std::regex reports a bad pattern only by throwing; this is the one place it is compiled
  // from user text (as the ranker compiles it), so the throw stops here and the Ranker may
  // compile it without a try.
  try {
    (void)CompileRuleRegex(*pattern);
  } catch (const std::regex_error& e) {
    if (e.code() == std::regex_constants::error_complexity) {
      ctx.Fail(where, dotted,
               fmt::format("invalid regex \"{}\": back-references are not supported (rules "
                           "are matched in linear time)",
                           *pattern));
      return;
    }
    ctx.Fail(where, dotted, fmt::format("invalid regex \"{}\": {}", *pattern, e.what()));
  }
}

}  // namespace

void DecodeDaemon(const toml::table& table, DaemonConfig& out, ParseContext& ctx) {
  TableReader r(table, "daemon", ctx);
  std::size_t level = 1;
  for (std::size_t i = 0; i < kLogLevels.size(); ++i) {
    if (kLogLevels[i] == out.log_level) level = i;
  }
  r.Choice("log_level", kLogLevels, level);
  out.log_level = std::string(kLogLevels[level]);
  r.Bool("dry_run", out.dry_run);
  r.Bool("watch_limited_cgroups", out.watch_limited_cgroups);
  r.String("watch_limited_cgroups_under", out.watch_limited_cgroups_under);
  const std::string& under = out.watch_limited_cgroups_under;
  if (ctx.ok() &&
      (under.empty() || under.front() != '/' || under.find("..") != std::string::npos)) {
    const std::string dotted = r.Dotted("watch_limited_cgroups_under");
    ctx.Fail(ctx.Where(dotted).value_or(Position{}), dotted,
             fmt::format("\"{}\" is not an absolute cgroup path without \"..\" (\"/\" is the "
                         "whole hierarchy)",
                         under));
  }
  r.Int("max_cgroup_scopes", out.max_cgroup_scopes, 1, 4096);
  r.Int("rescan_interval_ms", out.rescan_interval_ms, 100, 3600000);
  r.RejectUnknown();
}

void DecodeDetector(const toml::table& table, DetectorConfig& out, ParseContext& ctx) {
  TableReader r(table, "detector", ctx);
  r.Double("warn_available_percent", out.warn_available_percent, 0, 100);
  r.Double("reclaim_available_percent", out.reclaim_available_percent, 0, 100);
  r.Double("kill_available_percent", out.kill_available_percent, 0, 100);
  r.Int("kill_time_to_exhaustion_ms", out.kill_time_to_exhaustion_ms, 0, 60000);
  r.Double("psi_some_warn_percent", out.psi_some_warn_percent, 0, 100);
  r.Double("psi_full_kill_percent", out.psi_full_kill_percent, 0, 100);
  r.Double("swap_used_kill_percent", out.swap_used_kill_percent, 0, 100);
  // The kernel accepts PSI trigger windows of 500 ms to 10 s.
  r.Int("psi_window_ms", out.psi_window_ms, 500, 10000);
  r.Int("psi_sustain_ms", out.psi_sustain_ms, 0, 60000);
  r.Int("interval_fast_ms", out.interval_fast_ms, 10, 10000);
  r.Int("interval_slow_ms", out.interval_slow_ms, 10, 60000);
  r.Double("hysteresis_percent", out.hysteresis_percent, 0, 100);
  r.Int("trend_window_ms", out.trend_window_ms, 100, 10000);
  r.Int("tte_confirm_samples", out.tte_confirm_samples, 1, 100);
  r.Double("victim_return_percent", out.victim_return_percent, 0, 100);
  r.Int("victim_settle_ms", out.victim_settle_ms, 0, kMaxMs);
  r.RejectUnknown();
}

void DecodeKill(const toml::table& table, KillConfig& out, ParseContext& ctx) {
  TableReader r(table, "kill", ctx);
  r.Int("signal_grace_ms", out.signal_grace_ms, 0, kMaxMs);
  r.Int("deadline_ms", out.deadline_ms, 1, kMaxMs);
  ReadEnum(r, "widen", kWidenNames, out.widen);
  r.Bool("honour_oom_group", out.honour_oom_group);
  ReadEnum(r, "step_up", kWidenNames, out.step_up);
  ReadEnum(r, "last_resort", kLastResortNames, out.last_resort);
  r.Int("last_resort_after_misses", out.last_resort_after_misses, 1, 100);
  r.Int("reaper_threads", out.reaper_threads, 1, 16);
  r.Int("reaper_realtime_priority", out.reaper_realtime_priority, 0, 99);
  r.Int("mrelease_retries", out.mrelease_retries, 0, 1000);
  r.Int("mrelease_retry_delay_ms", out.mrelease_retry_delay_ms, 1, 10000);
  r.RejectUnknown();
}

void DecodeRank(const toml::table& table, RankConfig& out, ParseContext& ctx) {
  TableReader r(table, "rank", ctx);
  r.StringArray("protect_comm", out.protect_comm);
  r.StringArray("avoid_comm", out.avoid_comm);
  r.StringArray("unavoid_comm", out.unavoid_comm);
  r.Bool("session_avoid", out.session_avoid);
  r.StringArray("protect_cgroup", out.protect_cgroup);
  r.Uint32Array("protect_uid", out.protect_uid, 0, kUidMax);
  r.Uint32("cmdline_max", out.cmdline_max, 0, kCmdlineMax);
  r.Int("growth_weight", out.growth_weight, 0, 1000);
  r.RejectUnknown();
  if (!ctx.ok()) return;

  // Element positions: toml++ keeps a region per array element.
  const auto element_at = [&](std::string_view key, std::size_t i) {
    const toml::node* n = table.get(key);
    const toml::array* a = n != nullptr ? n->as_array() : nullptr;
    return a != nullptr && i < a->size() ? PositionOf(a->get(i)->source()) : Position{};
  };
  for (const char* key : {"protect_comm", "avoid_comm", "unavoid_comm"}) {
    const std::vector<std::string>& list =
        std::string_view(key) == "protect_comm" ? out.protect_comm
        : std::string_view(key) == "avoid_comm" ? out.avoid_comm
                                                : out.unavoid_comm;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string& comm = list[i];
      if (comm.empty() || comm.size() > kCommMax) {
        ctx.Fail(element_at(key, i), fmt::format("rank.{}[{}]", key, i),
                 fmt::format("\"{}\" can never match: a comm is 1..{} bytes (the kernel "
                             "truncates longer names, e.g. \"systemd-journal\")",
                             comm, kCommMax));
        return;
      }
    }
  }
  for (std::size_t i = 0; i < out.protect_cgroup.size(); ++i) {
    const std::string& path = out.protect_cgroup[i];
    const char* problem = nullptr;
    if (path.empty() || path.front() != '/') {
      problem = "a cgroup path starts with /";
    } else if (path == "/") {
      problem = "\"/\" would protect every process";
    } else if (path.back() == '/') {
      problem = "leave out the trailing /";
    }
    if (problem != nullptr) {
      ctx.Fail(element_at("protect_cgroup", i), fmt::format("rank.protect_cgroup[{}]", i),
               fmt::format("\"{}\": {}", path, problem));
      return;
    }
  }
}

void DecodeRule(const toml::table& table, std::size_t index, Rule& out, ParseContext& ctx) {
  const std::string prefix = fmt::format("rule[{}]", index);
  const Position header = PositionOf(table.source());
  TableReader r(table, prefix, ctx);
  out.name = fmt::format("rule {}", index);
  r.String("name", out.name);
  const bool has_action = table.contains("action");
  ReadEnum(r, "action", kActionNames, out.action);
  r.Int("weight", out.weight, -1000, 1000);
  r.String("comm", out.comm);
  r.String("exe", out.exe);
  r.String("cmdline", out.cmdline);
  r.String("cgroup", out.cgroup);
  r.Uint32("uid", out.uid, 0, kUidMax);
  r.RejectUnknown();
  if (!ctx.ok()) return;

  if (out.name.empty()) {
    ctx.Fail(ctx.Where(prefix + ".name").value_or(header), prefix + ".name",
             "a rule name must not be empty");
    return;
  }
  if (!has_action) {
    ctx.Fail(header, prefix + ".action", "missing; set \"protect\", \"prefer\" or \"avoid\"");
    return;
  }
  if (!out.comm && !out.exe && !out.cmdline && !out.cgroup && !out.uid) {
    ctx.Fail(header, prefix,
             "a rule needs at least one of comm, exe, cmdline, cgroup, uid (it would match "
             "every process)");
    return;
  }
  // The sign is checked, not normalised: "avoid" with a positive weight is a contradiction
  // the user should resolve, not one we should guess at.
  const std::string weight_key = prefix + ".weight";
  const Position weight_at = ctx.Where(weight_key).value_or(header);
  switch (out.action) {
    case RuleAction::kProtect:
      if (out.weight != 0) ctx.Fail(weight_at, weight_key, "a protect rule takes no weight");
      break;
    case RuleAction::kPrefer:
      if (out.weight <= 0) {
        ctx.Fail(weight_at, weight_key,
                 fmt::format("a prefer rule needs a weight of 1..1000 (got {})", out.weight));
      }
      break;
    case RuleAction::kAvoid:
      if (out.weight >= 0) {
        ctx.Fail(weight_at, weight_key,
                 fmt::format("an avoid rule needs a weight of -1000..-1 (got {})", out.weight));
      }
      break;
  }
  CheckRegex(ctx, r, "comm", out.comm);
  CheckRegex(ctx, r, "exe", out.exe);
  CheckRegex(ctx, r, "cmdline", out.cmdline);
  CheckRegex(ctx, r, "cgroup", out.cgroup);
}

void ValidateConfig(const Config& c, ParseContext& ctx) {
  const DetectorConfig& d = c.detector;
  CheckOrder(ctx, d.reclaim_available_percent, "detector.reclaim_available_percent",
             d.warn_available_percent, "detector.warn_available_percent");
  CheckOrder(ctx, d.kill_available_percent, "detector.kill_available_percent",
             d.reclaim_available_percent, "detector.reclaim_available_percent");
  CheckOrder(ctx, d.interval_fast_ms, "detector.interval_fast_ms", d.interval_slow_ms,
             "detector.interval_slow_ms");
  // The grace period must end before the deadline, or every victim given SIGTERM first
  // would miss its deadline before it gets SIGKILL.
  if (ctx.ok() && c.kill.signal_grace_ms >= c.kill.deadline_ms) {
    if (auto at = ctx.Where("kill.signal_grace_ms")) {
      ctx.Fail(*at, "kill.signal_grace_ms",
               fmt::format("{} must be less than kill.deadline_ms ({})", c.kill.signal_grace_ms,
                           c.kill.deadline_ms));
    } else {
      ctx.Fail(ctx.Where("kill.deadline_ms").value_or(Position{}), "kill.deadline_ms",
               fmt::format("{} must be more than kill.signal_grace_ms ({})", c.kill.deadline_ms,
                           c.kill.signal_grace_ms));
    }
  }
  if (c.rank.cmdline_max == 0) {
    for (std::size_t i = 0; i < c.rank.rules.size() && ctx.ok(); ++i) {
      if (!c.rank.rules[i].cmdline) continue;
      const std::string key = fmt::format("rule[{}].cmdline", i);
      ctx.Fail(ctx.Where(key).value_or(Position{}), key,
               "rank.cmdline_max = 0 never reads command lines, so this can never match");
    }
  }
}

}  // namespace reaperd::config
