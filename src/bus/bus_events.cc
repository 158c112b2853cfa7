#include "bus/bus_events.h"

#include <cstdio>

namespace reaperd::bus {
namespace {

int Rank(const std::string& level) {
  if (level == "warn") return 1;
  if (level == "reclaim") return 2;
  if (level == "kill") return 3;
  return 0;
}

std::string Str(const nlohmann::json& e, const char* key) {
  const auto it = e.find(key);
  return it != e.end() && it->is_string() ? it->get<std::string>() : std::string();
}

template <typename T>
T Num(const nlohmann::json& e, const char* key) {
  // Parsed JSON holds a positive number as unsigned, built JSON as signed: take either,
  // never a negative one.
  const auto it = e.find(key);
  if (it == e.end() || !it->is_number_integer()) return T{};
  if (it->is_number_unsigned()) return it->get<T>();
  const auto v = it->get<std::int64_t>();
  return v < 0 ? T{} : static_cast<T>(v);
}

}  // namespace

std::optional<std::uint8_t> WarningLevel(const std::string& level) {
  switch (Rank(level)) {
    case 1:
      return 50;
    case 2:
      return 100;
    case 3:
      return 255;
    default:
      return std::nullopt;
  }
}

BusAction Translate(const nlohmann::json& e) {
  BusAction a;
  if (!e.is_object()) return a;
  const std::string kind = Str(e, "event");
  a.scope = Str(e, "scope");
  if (kind == "level") {
    const std::string to = Str(e, "to");
    // Only on the way up: the API has no "recovered" level.
    if (Rank(to) <= Rank(Str(e, "from"))) return a;
    if (to == "reclaim" && e.value("warning_step", false)) return a;  // the chain sends it
    a.warning = WarningLevel(to);
  } else if (kind == "warning") {
    a.warning = WarningLevel(Str(e, "level"));
  } else if (kind == "kill") {
    KillNotice k;
    k.scope = a.scope;
    k.pid = Num<std::uint32_t>(e, "pid");
    k.comm = Str(e, "comm");
    k.uid = Num<std::uint32_t>(e, "uid");
    k.rss_bytes = Num<std::uint64_t>(e, "rss_bytes");
    k.container = Str(e, "container");
    k.outcome = Str(e, "outcome");
    a.killed = std::move(k);
  }
  return a;
}

std::string SessionBusPath(const std::string& tmpl, std::uint32_t uid) {
  std::string out;
  for (std::size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] == '%' && i + 1 < tmpl.size() && tmpl[i + 1] == 'u') {
      out += std::to_string(uid);
      ++i;
    } else {
      out += tmpl[i];
    }
  }
  return out;
}

std::string NoticeSummary(const KillNotice& k) {
  return (k.comm.empty() ? std::string("A program") : k.comm) + " was stopped: out of memory";
}

std::string NoticeBody(const KillNotice& k) {
  char mib[32];
  std::snprintf(mib, sizeof mib, "%.0f MiB", static_cast<double>(k.rss_bytes) / (1024.0 * 1024.0));
  std::string body =
      k.comm + " (pid " + std::to_string(k.pid) + ") was using " + mib + " when memory ran out";
  if (!k.container.empty()) body += " in container " + k.container;
  body += " (" + k.scope + "). reaperd stopped it to keep the system responsive.";
  return body;
}

}  // namespace reaperd::bus
