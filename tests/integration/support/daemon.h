// `reaperd run` as a child process for the live tests: scoped to the test's cgroups, its
// stderr read by a thread that stamps every line with the monotonic time it arrived (so a
// test can measure from the daemon's log against its own helpers' clocks), and helpers to
// pick lines and fields out of that log. Also a temporary directory with a config file
// (mode 0644, so the daemon's trusted-file check accepts it).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace reaperd::itest {

using SteadyTime = std::chrono::steady_clock::time_point;

struct LogLine {
  SteadyTime at;     // when the test read it
  std::string text;  // "reaperd[LEVEL] event key=value ..."
};

class Daemon {
 public:
  // Runs REAPERD_BINARY run --no-mlock --log-level info --run-for-ms N --scope cgroup:S...
  // followed by `extra`.
  // With cgroup_ns_dir (a cgroup directory), the daemon first moves itself into that cgroup
  // and then into a cgroup namespace of its own rooted there, as in a container.
  Daemon(const std::vector<std::string>& scopes, int run_for_ms,
         const std::vector<std::string>& extra = {}, const std::string& cgroup_ns_dir = "");
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Waits until the daemon logged its start line (it is then watching).
  bool WaitStarted();
  pid_t pid() const { return pid_; }
  // SIGTERM, waits for it; returns its wait status.
  int Stop();
  // The whole log so far.
  std::string Log() const;
  // The lines whose event word is `event`.
  std::vector<std::string> Lines(const std::string& event) const;
  std::vector<LogLine> TimedLines(const std::string& event) const;

 private:
  void ReadLoop(int fd);

  pid_t pid_ = 0;
  int status_ = 0;
  std::atomic<bool> draining_{false};
  std::thread reader_;
  mutable std::mutex mu_;
  std::vector<LogLine> lines_;
  std::string partial_;
};

// The number after " key=" in a log line (0 if absent).
std::uint64_t Field(const std::string& line, const std::string& key);
// The text after " key=" up to the next space, quotes kept ("" if absent).
std::string TextField(const std::string& line, const std::string& key);
// Polls f every 20 ms until it holds or timeout_ms passes.
bool WaitFor(const std::function<bool()>& f, int timeout_ms);

// A private directory under /tmp holding config.toml (every "@DIR@" in the text replaced by
// the directory); removed with the files in it.
class TempConfig {
 public:
  explicit TempConfig(std::string toml);
  ~TempConfig();
  TempConfig(const TempConfig&) = delete;
  TempConfig& operator=(const TempConfig&) = delete;
  const std::string& dir() const { return dir_; }
  const std::string& path() const { return path_; }
  bool ok() const { return ok_; }

 private:
  std::string dir_;
  std::string path_;
  bool ok_ = false;
};

}  // namespace reaperd::itest
