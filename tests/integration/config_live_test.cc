// Configuration that must do what it says, on a real daemon: systemd's watchdog is pinged
// within its period whatever the sampling interval; kill.reaper_realtime_priority is flagged
// where SCHED_FIFO is refused (as under the shipped unit's RestrictRealtime=yes, stood in for
// here by dropping CAP_SYS_NICE with setpriv).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "support/daemon.h"

namespace reaperd::itest {
namespace {

// A datagram socket bound at path, standing in for systemd's notify socket.
int BindNotify(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.data(), path.size());
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Every "WATCHDOG=1" datagram received during ms, with the time it arrived.
std::vector<std::chrono::steady_clock::time_point> WatchdogPings(int fd, int ms) {
  std::vector<std::chrono::steady_clock::time_point> at;
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < end) {
    timeval tv{0, 50'000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[256];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0 &&
        std::string(buf, static_cast<std::size_t>(n)).find("WATCHDOG=1") != std::string::npos) {
      at.push_back(std::chrono::steady_clock::now());
    }
  }
  return at;
}

// Runs a shell command; its stdout and stderr together.
std::string RunCapture(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), p) != nullptr) out += buf.data();
  ::pclose(p);
  return out;
}

const std::string kNoSysNice = "setpriv --bounding-set=-sys_nice --inh-caps=-sys_nice ";

TEST(ConfigLive, CheckConfigWarnsThatRealtimeNeedsADropIn) {
  TempConfig cfg("[kill]\nreaper_realtime_priority = 10\n");
  ASSERT_TRUE(cfg.ok());
  // Here SCHED_FIFO is allowed: still told that the shipped unit refuses it.
  const std::string here = RunCapture(std::string(REAPERD_BINARY) + " check-config " + cfg.path());
  EXPECT_NE(here.find("RestrictRealtime=no"), std::string::npos) << here;
  EXPECT_NE(here.find(": ok"), std::string::npos) << here;
  // Refused here (no CAP_SYS_NICE, as under RestrictRealtime): said so, with the error.
  const std::string refused =
      RunCapture(kNoSysNice + REAPERD_BINARY + " check-config " + cfg.path());
  EXPECT_NE(refused.find("refused here"), std::string::npos) << refused;
  EXPECT_NE(refused.find("RestrictRealtime=no"), std::string::npos) << refused;
  // Off: nothing to say.
  TempConfig off("[kill]\nreaper_realtime_priority = 0\n");
  const std::string quiet = RunCapture(std::string(REAPERD_BINARY) + " check-config " + off.path());
  EXPECT_EQ(quiet.find("RestrictRealtime"), std::string::npos) << quiet;
}

TEST(ConfigLive, StartLineNamesTheDropInWhenRealtimeIsRefused) {
  TempConfig cfg(
      "[daemon]\nwatch_limited_cgroups = false\n[kill]\nreaper_realtime_priority = 10\n"
      "[watchdog]\nenabled = false\n"
      "[report]\nkill_report_path = \"\"\nmetrics_textfile_path = \"\"\nstatus_socket = \"\"\n");
  ASSERT_TRUE(cfg.ok());
  const std::string log = RunCapture(kNoSysNice + REAPERD_BINARY +
                                     " run --no-mlock --dry-run --scope system --run-for-ms 500"
                                     " --config " +
                                     cfg.path());
  EXPECT_NE(log.find("reaper_realtime_priority=10 result=refused"), std::string::npos) << log;
  EXPECT_NE(log.find("RestrictRealtime=no"), std::string::npos) << log;
}

TEST(ConfigLive, SystemdWatchdogPingedWithinItsPeriodWhateverTheInterval) {
  // The slowest valid sampling interval, and a 2 s WatchdogSec: every ping must come within
  // 2 s of the one before, though no tick is due for far longer (the system scope, dry run:
  // quiet memory needs no fast tick).
  TempConfig cfg(
      "[daemon]\nwatch_limited_cgroups = false\n"
      "[detector]\ninterval_slow_ms = 60000\n"
      "[watchdog]\nenabled = false\n"
      "[report]\nkill_report_path = \"\"\nmetrics_textfile_path = \"\"\n"
      "status_socket = \"\"\n");
  ASSERT_TRUE(cfg.ok());
  const std::string sock = cfg.dir() + "/notify";
  const int fd = BindNotify(sock);
  ASSERT_GE(fd, 0);
  ::setenv("NOTIFY_SOCKET", sock.c_str(), 1);
  ::setenv("WATCHDOG_USEC", "2000000", 1);
  Daemon d({}, 9000, {"--dry-run", "--scope", "system", "--config", cfg.path()});
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
  ASSERT_TRUE(d.WaitStarted()) << d.Log();
  const auto start = std::chrono::steady_clock::now();
  const auto pings = WatchdogPings(fd, 7000);
  ::close(fd);
  ASSERT_FALSE(pings.empty()) << d.Log();
  auto prev = start;
  for (const auto& t : pings) {
    EXPECT_LT(t - prev, std::chrono::seconds(2)) << d.Log();
    prev = t;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - prev, std::chrono::seconds(2));
  (void)d.Stop();
}

}  // namespace
}  // namespace reaperd::itest
