// `reaperd events [--json] [--count N]`: subscribes to the daemon's event stream on its status
// socket and prints each event, as a line for a person or as the daemon's JSON for a script.
#include <fmt/format.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "report/event_stream.h"

namespace reaperd::cli {
namespace {

using nlohmann::json;

std::string Mib(const json& v) {
  return v.is_number() ? fmt::format("{:.1f} MiB", v.get<double>() / (1024.0 * 1024.0)) : "-";
}

std::string Str(const json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "-";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

// One event as a person reads it; an event this version does not know is shown as JSON.
std::string Human(const json& e) {
  const std::string kind = Str(e, "event");
  if (kind == "level") {
    return fmt::format("level    {} {} -> {} (available {} of {}, {:.1f}%, reasons {})",
                       Str(e, "scope"), Str(e, "from"), Str(e, "to"), Mib(e["available_bytes"]),
                       Mib(e["total_bytes"]), e.value("available_percent", 0.0), Str(e, "reasons"));
  }
  if (kind == "reclaim_step") {
    return fmt::format("reclaim  {} step {}: {}, {} came back", Str(e, "scope"), Str(e, "step"),
                       Str(e, "outcome"), Mib(e["freed_bytes"]));
  }
  if (kind == "warning") {
    return fmt::format("warning  {} level {} (step {})", Str(e, "scope"), Str(e, "level"),
                       Str(e, "step"));
  }
  if (kind == "kill") {
    return fmt::format("kill     {} pid {} {} uid {} ({}){}: {}", Str(e, "scope"), Str(e, "pid"),
                       Str(e, "comm"), Str(e, "uid"), Mib(e["rss_bytes"]),
                       e.contains("container") ? " in " + Str(e, "container") : std::string(),
                       Str(e, "outcome"));
  }
  if (kind == "kill_result") {
    return fmt::format("killed   {} pid {} {}: {}, {} freed", Str(e, "scope"), Str(e, "pid"),
                       Str(e, "comm"), Str(e, "outcome"), Mib(e["bytes_freed"]));
  }
  if (kind == "lost") {
    return fmt::format("lost     {} events (this reader was too slow)", Str(e, "count"));
  }
  return e.dump();
}

std::string Clock() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  ::localtime_r(&ts.tv_sec, &t);
  return fmt::format("{:02}:{:02}:{:02}", t.tm_hour, t.tm_min, t.tm_sec);
}

}  // namespace

int RunEvents(const EventsOptions& o) {
  const std::string path = StatusSocket(o.where);
  if (path.empty()) return 1;
  auto fd = report::SubscribeEvents(path, o.where.timeout_ms);
  if (!fd) {
    std::fprintf(stderr, "reaperd: cannot follow the daemon's events at %s: %s\n", path.c_str(),
                 fd.error().ToString().c_str());
    return 1;
  }
  std::string pending;
  char buf[16384];
  int seen = 0;
  for (;;) {
    const ssize_t n = ::read(fd->get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buf, static_cast<std::size_t>(n));
    std::size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      const std::string line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      if (o.where.json) {
        std::fputs((line + "\n").c_str(), stdout);
      } else {
        const json e = json::parse(line, nullptr, false);
        const std::string text = e.is_discarded() ? line : Human(e);
        std::fputs(fmt::format("{} {}\n", Clock(), text).c_str(), stdout);
      }
      std::fflush(stdout);
      if (o.count > 0 && ++seen >= o.count) return 0;
    }
  }
  std::fprintf(stderr, "reaperd: the daemon closed the event stream\n");
  return 1;
}

}  // namespace reaperd::cli
