// `reaperd status [--json]`: asks the running daemon over its status socket and prints the
// answer, pretty for a person or as the daemon's JSON for a program.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "config/config.h"
#include "report/endpoints.h"

namespace reaperd::cli {
namespace {

using nlohmann::json;

double Mib(const json& v) { return v.is_number() ? v.get<double>() / (1024.0 * 1024.0) : 0; }

std::string Num(const json& v, const char* fmt_spec) {
  if (!v.is_number()) return "-";
  return fmt::format(fmt::runtime(fmt_spec), v.get<double>());
}

// "  container podman:0123456789ab, pod shop/cart" for a scope or victim in a container, ""
// for any other.
std::string ContainerLine(const json& holder) {
  if (!holder.contains("container") || !holder["container"].is_object()) return "";
  const json& c = holder["container"];
  std::string out = "    container " + c.value("label", std::string("?"));
  if (c.contains("pod_name")) {
    out += ", pod " + c.value("pod_namespace", std::string("?")) + "/" +
           c.value("pod_name", std::string("?"));
  }
  if (c.contains("qos")) out += " (" + c.value("qos", std::string("?")) + ")";
  return out + "\n";
}

void PrintPretty(const json& j) {
  fmt::print("reaperd {} pid {} up {:.0f} s{}\n", j.value("version", "?"), j.value("pid", 0),
             j.value("uptime_s", 0.0), j.value("dry_run", false) ? " (dry run)" : "");
  fmt::print("log lines dropped (journal or stderr not keeping up): {}\n",
             j.value("log_lines_dropped", std::uint64_t{0}));
  fmt::print("\n{:<40} {:<8} {:>10} {:>10} {:>7} {:>7} {:>7} {:>6}\n", "SCOPE", "LEVEL",
             "AVAIL_MIB", "TOTAL_MIB", "AVAIL%", "SOME%", "FULL%", "KILLS");
  for (const auto& s : j.value("scopes", json::array())) {
    fmt::print("{:<40} {:<8} {:>10.0f} {:>10.0f} {:>7} {:>7} {:>7} {:>6}\n", s.value("scope", "?"),
               s.value("level", "?"), Mib(s["available_bytes"]), Mib(s["total_bytes"]),
               Num(s["available_percent"], "{:.1f}"), Num(s["psi_some_percent"], "{:.1f}"),
               Num(s["psi_full_percent"], "{:.1f}"), s.value("kills", 0));
    fmt::print("{}", ContainerLine(s));
  }
  const auto flight = j.value("victims_in_flight", json::array());
  fmt::print("\nvictims in flight: {}\n", flight.size());
  for (const auto& v : flight) {
    fmt::print("  seq {} pid {} {} in {} for {:.0f} ms\n", v.value("seq", 0), v.value("pid", 0),
               v.value("comm", "?"), v.value("scope", "?"), v.value("age_ms", 0.0));
  }
  const auto kills = j.value("recent_kills", json::array());
  fmt::print("\nrecent kills: {}\n", kills.size());
  for (const auto& k : kills) {
    const json t = k.value("timeline", json::object());
    const json v = k.value("victim", json::object());
    fmt::print("  seq {} {} pid {} {} ({:.0f} MiB): {} in {} ms, {:.1f} MiB freed, deadline {}\n",
               k.value("seq", 0), k.value("scope", "?"), v.value("pid", 0), v.value("comm", "?"),
               Mib(v["rss_bytes"]), t.value("outcome", "?"),
               Num(t["decision_to_reaped_ms"].is_null() ? t["decision_to_exit_ms"]
                                                        : t["decision_to_reaped_ms"],
                   "{:.1f}"),
               Mib(t["bytes_freed"]), t.value("deadline", "?"));
    fmt::print("{}", ContainerLine(v));
  }
  const json lr = j.value("last_resorts", json::object());
  fmt::print("\nlast resorts: {} fired, {} failed\n", lr.value("fired", 0), lr.value("failed", 0));
  for (const auto& e : lr.value("recent", json::array())) {
    const json err = e.value("error", json());
    fmt::print("  seq {} {} {}: {}, {} signalled{}{}, {:.0f} s ago\n", e.value("seq", 0),
               e.value("scope", "?"), e.value("action", "?"), e.value("result", "?"),
               e.value("signalled", 0), err.is_string() ? ": " : "",
               err.is_string() ? err.get<std::string>() : std::string(), e.value("age_s", 0.0));
  }
  const auto notifiers = j.value("notifiers", json::array());
  fmt::print("\nnotifiers: {}\n", notifiers.size());
  for (const auto& n : notifiers) {
    const json last = n.value("last_result", json());
    fmt::print(
        "  {} {} ({}): runs {}, last {}, {:.1f} MiB freed{}\n", n.value("scope", "?"),
        n.value("name", "?"), n.value("kind", "?"), n.value("runs", 0),
        last.is_string() ? last.get<std::string>() : std::string("-"), Mib(n["freed_total_bytes"]),
        n.value("backoff_ms", 0) > 0 ? fmt::format(", backed off {} ms", n.value("backoff_ms", 0))
                                     : std::string());
  }
}

// The config the shipped unit runs the daemon with.
constexpr const char* kUnitConfigPath = "/etc/reaperd/reaperd.toml";

}  // namespace

// The socket the daemon listens on: --socket, else report.status_socket of --config (or of
// the unit's config when it exists), else the built-in default. Empty with a message when
// the config turns the socket off or cannot be read.
std::string StatusSocket(const StatusOptions& o) {
  if (!o.socket.empty()) return o.socket;
  std::string cfg_path = o.config_path;
  if (cfg_path.empty() && ::access(kUnitConfigPath, F_OK) == 0) cfg_path = kUnitConfigPath;
  if (cfg_path.empty()) return config::ReportConfig{}.status_socket;
  auto cfg = config::LoadConfigFile(cfg_path);
  if (!cfg) {
    std::fprintf(stderr, "reaperd: cannot read the status socket from %s: %s\n", cfg_path.c_str(),
                 cfg.error().ToString().c_str());
    return {};
  }
  if (cfg->report.status_socket.empty()) {
    std::fprintf(stderr, "reaperd: %s turns the status socket off (report.status_socket = \"\")\n",
                 cfg_path.c_str());
  }
  return cfg->report.status_socket;
}

int RunStatus(const StatusOptions& o) {
  const std::string path = StatusSocket(o);
  if (path.empty()) return 1;
  auto answer = report::QueryStatus(path, o.timeout_ms);
  if (!answer) {
    std::fprintf(stderr, "reaperd: cannot ask the daemon at %s: %s\n", path.c_str(),
                 answer.error().ToString().c_str());
    return 1;
  }
  if (o.json) {
    std::fputs(answer->c_str(), stdout);
    return 0;
  }
  json j = json::parse(*answer, nullptr, false);
  if (j.is_discarded()) {
    std::fprintf(stderr, "reaperd: the daemon's answer is not JSON\n");
    return 1;
  }
  PrintPretty(j);
  return 0;
}

}  // namespace reaperd::cli
