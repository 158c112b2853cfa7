// The decoders of [reclaim] (with its [[reclaim.notifier]] steps), [hooks] and [watchdog].
// A notifier reads the keys common to every kind, then only those of its kind, so a key of
// another kind is named as such instead of being silently ignored.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <csignal>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "config/toml_reader.h"

namespace reaperd::config {
namespace {

// In enum order.
constexpr std::array<std::string_view, 6> kKindNames = {"cgroup_reclaim", "drop_caches", "signal",
                                                        "socket",         "hook",        "event"};
constexpr std::array<std::string_view, 6> kSignalNames = {"SIGUSR1", "SIGUSR2", "SIGHUP",
                                                          "SIGINT",  "SIGTERM", "SIGWINCH"};
constexpr std::array<int, 6> kSignalNumbers = {SIGUSR1, SIGUSR2, SIGHUP, SIGINT, SIGTERM, SIGWINCH};

constexpr int kMaxTimeoutMs = 600000;

// The keys only some kinds take, and which.
struct KindKey {
  std::string_view key;
  std::string_view kinds;
};
constexpr std::array<KindKey, 6> kKindKeys = {{{"cgroup", "cgroup_reclaim"},
                                               {"reclaim_mib", "cgroup_reclaim"},
                                               {"comm", "signal"},
                                               {"signal", "signal"},
                                               {"socket", "socket"},
                                               {"argv", "hook"}}};

// argv[0] must be an absolute path: hooks are run by execve, without PATH search or shell.
void CheckArgv(ParseContext& ctx, const std::string& key, const std::vector<std::string>& argv,
               Position fallback, bool required) {
  if (!ctx.ok()) return;
  const Position at = ctx.Where(key).value_or(fallback);
  if (argv.empty()) {
    if (required) ctx.Fail(at, key, "missing; a hook needs argv = [\"/absolute/path\", ...]");
    return;
  }
  if (argv[0].empty() || argv[0][0] != '/') {
    ctx.Fail(at, key,
             fmt::format("argv[0] \"{}\" must be an absolute path (run by execve: no shell, no "
                         "PATH search)",
                         argv[0]));
  }
}

constexpr std::array<std::string_view, 9> kReclaimKeys = {
    "enabled",        "settle_ms",   "min_freed_mib",  "backoff_after", "backoff_initial_ms",
    "backoff_max_ms", "interval_ms", "kill_budget_ms", "notifier"};

// RejectUnknown for a table whose sub-tables are read by hand: any key not in known.
void RejectUnknownBut(const toml::table& table, std::string_view prefix,
                      std::span<const std::string_view> known, ParseContext& ctx) {
  if (!ctx.ok()) return;
  for (auto&& [k, node] : table) {
    if (std::find(known.begin(), known.end(), k.str()) != known.end()) continue;
    const std::string dotted = std::string(prefix) + "." + std::string(k.str());
    const bool is_table = node.is_table() || node.is_array_of_tables();
    ctx.Fail(PositionOf(k.source()), dotted,
             is_table ? fmt::format("unknown table [{}]", dotted) : "unknown key");
    return;
  }
}
void RejectUnknownBut(const toml::table& table, std::string_view prefix,
                      std::initializer_list<std::string_view> known, ParseContext& ctx) {
  RejectUnknownBut(table, prefix, std::span<const std::string_view>(known.begin(), known.size()),
                   ctx);
}

void DecodeNotifier(const toml::table& table, std::size_t index, NotifierConfig& out,
                    ParseContext& ctx) {
  const std::string prefix = fmt::format("reclaim.notifier[{}]", index);
  const Position header = PositionOf(table.source());
  TableReader r(table, prefix, ctx);
  if (!table.contains("kind")) {
    ctx.Fail(header, prefix + ".kind",
             "missing; set \"cgroup_reclaim\", \"drop_caches\", \"signal\", \"socket\", "
             "\"hook\" or \"event\"");
    return;
  }
  std::size_t kind = 0;
  r.Choice("kind", kKindNames, kind);
  if (!ctx.ok()) return;
  out.kind = static_cast<NotifierKind>(kind);
  out.name = fmt::format("{} {}", kKindNames[kind], index);
  r.String("name", out.name);
  r.Int("timeout_ms", out.timeout_ms, 1, kMaxTimeoutMs);
  switch (out.kind) {
    case NotifierKind::kCgroupReclaim:
      r.String("cgroup", out.cgroup);
      r.Uint32("reclaim_mib", out.reclaim_mib, 1, 1U << 20);
      break;
    case NotifierKind::kDropCaches:
      break;
    case NotifierKind::kSignal: {
      r.StringArray("comm", out.comm);
      std::size_t sig = 0;
      r.Choice("signal", kSignalNames, sig);
      out.signal = kSignalNumbers[sig];
      break;
    }
    case NotifierKind::kSocket:
      r.String("socket", out.socket);
      break;
    case NotifierKind::kHook:
      r.StringArray("argv", out.argv);
      break;
    case NotifierKind::kEvent:
      break;
  }
  if (!ctx.ok()) return;
  // A key of another kind: say so, rather than "unknown key".
  for (const KindKey& k : kKindKeys) {
    if (k.kinds == kKindNames[kind] || !table.contains(k.key)) continue;
    const toml::node* n = table.get(k.key);
    ctx.Fail(
        PositionOf(n->source()), prefix + "." + std::string(k.key),
        fmt::format("applies only to kind = \"{}\" (this is \"{}\")", k.kinds, kKindNames[kind]));
    return;
  }
  r.RejectUnknown();
  if (!ctx.ok()) return;
  if (out.name.empty()) {
    ctx.Fail(ctx.Where(prefix + ".name").value_or(header), prefix + ".name",
             "a notifier name must not be empty");
    return;
  }
  switch (out.kind) {
    case NotifierKind::kSignal:
      if (out.comm.empty()) {
        ctx.Fail(ctx.Where(prefix + ".comm").value_or(header), prefix + ".comm",
                 "a signal notifier needs the comm names of the processes to signal");
      }
      break;
    case NotifierKind::kSocket:
      if (out.socket.empty() || out.socket[0] != '/' || out.socket.size() > 107) {
        ctx.Fail(ctx.Where(prefix + ".socket").value_or(header), prefix + ".socket",
                 "an absolute path of at most 107 bytes (a unix socket address)");
      }
      break;
    case NotifierKind::kHook:
      CheckArgv(ctx, prefix + ".argv", out.argv, header, true);
      break;
    case NotifierKind::kCgroupReclaim:
      if (!out.cgroup.empty() && out.cgroup[0] != '/') {
        ctx.Fail(ctx.Where(prefix + ".cgroup").value_or(header), prefix + ".cgroup",
                 "a cgroup path starts with /");
      }
      break;
    case NotifierKind::kDropCaches:
    case NotifierKind::kEvent:
      break;
  }
}

void DecodeHook(const toml::table& table, const std::string& prefix, HookConfig& out,
                ParseContext& ctx) {
  TableReader r(table, prefix, ctx);
  r.StringArray("argv", out.argv);
  r.Int("timeout_ms", out.timeout_ms, 1, kMaxTimeoutMs);
  r.RejectUnknown();
  CheckArgv(ctx, prefix + ".argv", out.argv, PositionOf(table.source()), false);
}

}  // namespace

std::string_view Name(NotifierKind k) noexcept {
  const auto i = static_cast<std::size_t>(k);
  return i < kKindNames.size() ? kKindNames[i] : "?";
}

std::string_view SignalName(int sig) noexcept {
  for (std::size_t i = 0; i < kSignalNumbers.size(); ++i) {
    if (kSignalNumbers[i] == sig) return kSignalNames[i];
  }
  return "?";
}

void DecodeReclaim(const toml::table& table, ReclaimConfig& out, ParseContext& ctx) {
  TableReader r(table, "reclaim", ctx);
  r.Bool("enabled", out.enabled);
  r.Int("settle_ms", out.settle_ms, 0, 60000);
  r.Uint32("min_freed_mib", out.min_freed_mib, 0, 1U << 20);
  r.Int("backoff_after", out.backoff_after, 1, 1000);
  r.Int("backoff_initial_ms", out.backoff_initial_ms, 1, kMaxTimeoutMs);
  r.Int("backoff_max_ms", out.backoff_max_ms, 1, 86400000);
  r.Int("interval_ms", out.interval_ms, 10, kMaxTimeoutMs);
  r.Int("kill_budget_ms", out.kill_budget_ms, 0, 10000);
  // The notifiers are an array of tables, read apart from the scalar keys.
  const toml::node* node = table.get("notifier");
  if (node != nullptr && ctx.ok()) {
    const auto* arr = node->as_array();
    if (arr == nullptr || (!arr->empty() && !arr->is_array_of_tables())) {
      ctx.Fail(
          PositionOf(node->source()), "reclaim.notifier",
          fmt::format("expected an array of tables [[reclaim.notifier]], got {}", TypeName(*node)));
      return;
    }
    out.notifiers.resize(arr->size());
    for (std::size_t i = 0; i < arr->size() && ctx.ok(); ++i) {
      DecodeNotifier(*arr->get(i)->as_table(), i, out.notifiers[i], ctx);
    }
  }
  if (!ctx.ok()) return;
  RejectUnknownBut(table, "reclaim", kReclaimKeys, ctx);
  if (ctx.ok() && out.backoff_initial_ms > out.backoff_max_ms) {
    const std::string key = "reclaim.backoff_initial_ms";
    ctx.Fail(ctx.Where(key).value_or(ctx.Where("reclaim.backoff_max_ms").value_or(Position{})), key,
             fmt::format("{} must not exceed reclaim.backoff_max_ms ({})", out.backoff_initial_ms,
                         out.backoff_max_ms));
  }
}

void DecodeHooks(const toml::table& table, HooksConfig& out, ParseContext& ctx) {
  const std::array<std::pair<std::string_view, HookConfig*>, 3> hooks = {
      {{"warn", &out.warn}, {"pre_kill", &out.pre_kill}, {"post_kill", &out.post_kill}}};
  for (const auto& [key, hook] : hooks) {
    const std::string dotted = "hooks." + std::string(key);
    const toml::node* n = table.get(key);
    if (n == nullptr || !ctx.ok()) continue;
    const auto* t = n->as_table();
    if (t == nullptr) {
      ctx.Fail(PositionOf(n->source()), dotted,
               fmt::format("expected a table [{}], got {}", dotted, TypeName(*n)));
      return;
    }
    DecodeHook(*t, dotted, *hook, ctx);
  }
  RejectUnknownBut(table, "hooks", {"warn", "pre_kill", "post_kill"}, ctx);
  // A pre-kill hook delays the kill by up to its timeout: keep that short.
  if (ctx.ok() && out.pre_kill.timeout_ms > 2000) {
    ctx.Fail(
        ctx.Where("hooks.pre_kill.timeout_ms").value_or(Position{}), "hooks.pre_kill.timeout_ms",
        fmt::format("{} ms would hold the kill too long (at most 2000)", out.pre_kill.timeout_ms));
  }
}

void DecodeWatchdog(const toml::table& table, WatchdogConfig& out, ParseContext& ctx) {
  TableReader r(table, "watchdog", ctx);
  r.Bool("enabled", out.enabled);
  r.Int("check_interval_ms", out.check_interval_ms, 100, 60000);
  r.Int("d_state_ms", out.d_state_ms, 100, kMaxTimeoutMs);
  r.Double("psi_full_percent", out.psi_full_percent, 0, 100);
  r.Int("psi_full_sustain_ms", out.psi_full_sustain_ms, 0, kMaxTimeoutMs);
  r.Int("loop_late_ms", out.loop_late_ms, 100, kMaxTimeoutMs);
  r.Int("report_interval_ms", out.report_interval_ms, 0, 86400000);
  r.Int("max_tasks", out.max_tasks, 1, 10000);
  r.Bool("read_stack", out.read_stack);
  r.String("report_path", out.report_path);
  r.RejectUnknown();
  if (ctx.ok() && !out.report_path.empty() && out.report_path[0] != '/') {
    ctx.Fail(ctx.Where("watchdog.report_path").value_or(Position{}), "watchdog.report_path",
             "an absolute path, or \"\" for the log only");
  }
}

}  // namespace reaperd::config
