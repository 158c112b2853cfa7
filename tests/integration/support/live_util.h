// Shared by the live reclaim and watchdog tests (header only): cgroup sandboxes that fail
// the test when they cannot be made, time conversions, the daemon's children, JSON lines.
#pragma once

#include <dirent.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "integration/support/cgroup_sandbox.h"
#include "integration/support/daemon.h"

namespace reaperd::itest::live {

inline constexpr std::uint64_t kMiB = 1024 * 1024;

// Outputs that would otherwise go to system paths, and no last resort ever.
inline constexpr const char* kCommon = R"(
[report]
kill_report_path = ""
metrics_textfile_path = ""
status_socket = ""
)";

inline std::unique_ptr<CgroupSandbox> Sandbox(const char* name, std::uint64_t limit) {
  std::string why;
  auto sb = CgroupSandbox::Create(name, limit, &why);
  if (!sb) ADD_FAILURE() << "no cgroup sandbox: " << why;
  return sb;
}

inline std::int64_t Ns(SteadyTime t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

inline double Ms(std::int64_t ns) { return static_cast<double>(ns) / 1e6; }

inline std::uint64_t RssBytes(pid_t pid) {
  std::istringstream in(ReadFile("/proc/" + std::to_string(pid) + "/statm"));
  std::uint64_t size = 0, resident = 0;
  in >> size >> resident;
  return resident * 4096;
}

// The children of every thread of `pid` (hooks are spawned from worker threads).
inline std::vector<pid_t> ChildrenOf(pid_t pid) {
  std::vector<pid_t> out;
  const std::string task = "/proc/" + std::to_string(pid) + "/task";
  DIR* dir = ::opendir(task.c_str());
  if (dir == nullptr) return out;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    std::istringstream kids(ReadFile(task + "/" + e->d_name + "/children"));
    for (pid_t k = 0; kids >> k;) out.push_back(k);
  }
  ::closedir(dir);
  return out;
}

inline std::string Comm(pid_t pid) {
  std::string s = ReadFile("/proc/" + std::to_string(pid) + "/comm");
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

// The lines of a JSON lines file.
inline std::vector<nlohmann::json> JsonLines(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::istringstream in(ReadFile(path));
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded()) out.push_back(std::move(j));
  }
  return out;
}

// A copy: the vector is usually a temporary.
inline std::optional<LogLine> First(const std::vector<LogLine>& lines, const std::string& needle) {
  for (const auto& l : lines) {
    if (l.text.find(needle) != std::string::npos) return l;
  }
  return std::nullopt;
}

}  // namespace reaperd::itest::live
