// What reaperd-bus publishes for each line of the daemon's event stream: pure, no D-Bus.
// LowMemoryWarning levels follow low-memory-monitor's API: 50 when a scope enters warn, 100
// at reclaim, 255 at kill. The reclaim level's warning is the reclaim chain's `event` step
// when the daemon says the chain has one (level event "warning_step": true), so that the
// chain measures what came back after it; otherwise the level change itself sends 100.
// A kill also becomes org.reaperd.Events1.Killed, for any listener.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace reaperd::bus {

inline constexpr const char* kLmmName = "org.freedesktop.LowMemoryMonitor";
inline constexpr const char* kLmmPath = "/org/freedesktop/LowMemoryMonitor";
inline constexpr const char* kLmmInterface = "org.freedesktop.LowMemoryMonitor";
inline constexpr const char* kEventsPath = "/org/reaperd/Events";
inline constexpr const char* kEventsInterface = "org.reaperd.Events1";

// org.reaperd.Events1.Killed(s scope, u pid, s comm, u uid, t rss_bytes, s container,
// s outcome): container is "" when the victim is in none.
struct KillNotice {
  std::string scope;
  std::uint32_t pid = 0;
  std::string comm;
  std::uint32_t uid = 0;
  std::uint64_t rss_bytes = 0;
  std::string container;
  std::string outcome;
};

struct BusAction {
  std::optional<std::uint8_t> warning;  // LowMemoryWarning(level)
  std::optional<KillNotice> killed;
  std::string scope;  // for the log line
};

// 50, 100, 255 for warn, reclaim, kill; nothing for ok or an unknown name.
std::optional<std::uint8_t> WarningLevel(const std::string& level);

// The session bus socket of uid: every "%u" in tmpl replaced by the uid
// ("/run/user/%u/bus" by default).
std::string SessionBusPath(const std::string& tmpl, std::uint32_t uid);

// The kill notice's text for the victim's owner: "<comm> was stopped: out of memory", and
// what it held, where and why.
std::string NoticeSummary(const KillNotice& k);
std::string NoticeBody(const KillNotice& k);

// The action for one event line; empty for events that publish nothing (and for lines that
// are not the daemon's JSON).
BusAction Translate(const nlohmann::json& event);

}  // namespace reaperd::bus
