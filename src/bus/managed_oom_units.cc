#include "bus/managed_oom_units.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

namespace reaperd::bus {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

bool ParsePercentPermyriad(std::string_view s, std::uint32_t& out) {
  s = Trim(s);
  if (s.empty() || s.back() != '%') return false;
  s.remove_suffix(1);
  const auto dot = s.find('.');
  const std::string_view whole = s.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view{} : s.substr(dot + 1);
  if (whole.empty() || frac.size() > 2) return false;
  std::uint32_t w = 0, f = 0;
  if (std::from_chars(whole.data(), whole.data() + whole.size(), w).ptr !=
      whole.data() + whole.size()) {
    return false;
  }
  if (!frac.empty()) {
    if (std::from_chars(frac.data(), frac.data() + frac.size(), f).ptr !=
        frac.data() + frac.size()) {
      return false;
    }
    if (frac.size() == 1) f *= 10;
  }
  if (w > 100 || (w == 100 && f > 0)) return false;
  out = w * 100 + f;
  return true;
}

bool ParseTimespanUsec(std::string_view s, std::uint64_t& out) {
  s = Trim(s);
  if (s.empty()) return false;
  static const std::map<std::string_view, std::uint64_t> kUnits = {
      {"us", 1},         {"usec", 1},        {"ms", 1000},         {"msec", 1000},
      {"s", 1000000},    {"sec", 1000000},   {"second", 1000000},  {"seconds", 1000000},
      {"m", 60000000},   {"min", 60000000},  {"minute", 60000000}, {"minutes", 60000000},
      {"h", 3600000000}, {"hr", 3600000000}, {"hour", 3600000000}, {"hours", 3600000000},
  };
  std::uint64_t total = 0;
  while (!s.empty()) {
    std::uint64_t n = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || p == s.data()) return false;
    s.remove_prefix(static_cast<std::size_t>(p - s.data()));
    s = Trim(s);
    std::size_t u = 0;
    while (u < s.size() && s[u] >= 'a' && s[u] <= 'z') ++u;
    std::uint64_t mult = 1000000;  // a bare number is seconds
    if (u > 0) {
      auto it = kUnits.find(s.substr(0, u));
      if (it == kUnits.end()) return false;
      mult = it->second;
    }
    s.remove_prefix(u);
    s = Trim(s);
    total += n * mult;
  }
  out = total;
  return true;
}

void ApplyOomdConf(std::string_view text, OomdDefaults& d) {
  bool in_oom = false;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = Trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line[0] == '[') {
      in_oom = line == "[OOM]";
      continue;
    }
    if (!in_oom) continue;
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = Trim(line.substr(0, eq));
    const std::string_view value = Trim(line.substr(eq + 1));
    if (key == "DefaultMemoryPressureLimit") {
      std::uint32_t p = 0;
      if (value.empty()) {
        d.limit_permyriad = OomdDefaults{}.limit_permyriad;
      } else if (ParsePercentPermyriad(value, p)) {
        d.limit_permyriad = p;
      }
    } else if (key == "DefaultMemoryPressureDurationSec") {
      std::uint64_t us = 0;
      if (value.empty()) {
        d.duration_usec = OomdDefaults{}.duration_usec;
      } else if (ParseTimespanUsec(value, us) && us > 0) {
        d.duration_usec = us;
      }
    }
  }
}

std::vector<std::string> OomdConfFiles(const std::string& root) {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  std::error_code ec;
  if (fs::exists(root + "/etc/systemd/oomd.conf", ec))
    out.push_back(root + "/etc/systemd/oomd.conf");
  // By name; the first directory holding a name wins (/etc, /run, /usr/local/lib, /usr/lib).
  std::map<std::string, std::string> dropins;
  for (const char* dir : {"/etc/systemd/oomd.conf.d", "/run/systemd/oomd.conf.d",
                          "/usr/local/lib/systemd/oomd.conf.d", "/usr/lib/systemd/oomd.conf.d"}) {
    for (const auto& e : fs::directory_iterator(root + dir, ec)) {
      const std::string name = e.path().filename().string();
      if (name.size() > 5 && name.ends_with(".conf")) dropins.emplace(name, e.path().string());
    }
  }
  for (auto& [name, path] : dropins) out.push_back(path);
  return out;
}

std::string ManagedOomMessage(const std::vector<UnitOom>& units, const OomdDefaults& d) {
  nlohmann::json cgroups = nlohmann::json::array();
  for (const auto& u : units) {
    if (u.memory_pressure != "kill" || u.control_group.empty()) continue;
    cgroups.push_back({{"mode", "kill"},
                       {"path", u.control_group},
                       {"property", "ManagedOOMMemoryPressure"},
                       {"limit", u.limit_scaled}});
  }
  nlohmann::json msg = {{"cgroups", cgroups},
                        {"defaultMemoryPressureLimit", d.limit_permyriad},
                        {"defaultMemoryPressureDurationUSec", d.duration_usec}};
  return msg.dump();
}

}  // namespace reaperd::bus
