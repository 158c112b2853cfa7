// reaperd-bus with real clients on a real (private) bus: a GLib program using
// Gio.MemoryMonitor gets LowMemoryWarning when a test cgroup crosses the warn level and frees
// memory in answer; at the reclaim level the warning is the reclaim chain's `event` step, and
// the chain's feedback records the memory that came back. A kill reaches a Killed listener;
// and a stopped (SIGSTOP) bus process does not keep the daemon from killing and reaping.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "integration/support/cgroup_sandbox.h"
#include "integration/support/daemon.h"
#include "integration/support/hog.h"
#include "integration/support/live_util.h"
#include "integration/support/private_bus.h"
#include "report/event_stream.h"

namespace reaperd::itest {
namespace {

using namespace live;  // NOLINT(google-build-using-namespace): test helpers
using nlohmann::json;

constexpr const char* kPython = "/usr/bin/python3";
const std::string kSupport = std::string(REAPERD_SOURCE_DIR) + "/tests/integration/support/";

// Why the D-Bus tests cannot run here ("" when they can).
std::string MissingPrerequisite() {
#ifndef REAPERD_BUS_BINARY
  return "reaperd-bus was not built (libsystemd-dev missing; make deps)";
#else
  if (::access("/usr/bin/dbus-daemon", X_OK) != 0) return "dbus-daemon missing (make test-deps)";
  const std::string probe = std::string(kPython) +
                            " -c \"import gi; gi.require_version('Gio', '2.0'); from "
                            "gi.repository import Gio; Gio.MemoryMonitor\" >/dev/null 2>&1";
  if (std::system(probe.c_str()) != 0) return "python3-gi with Gio.MemoryMonitor missing";
  return "";
#endif
}

#ifdef REAPERD_BUS_BINARY
constexpr const char* kBusBinary = REAPERD_BUS_BINARY;
#else
constexpr const char* kBusBinary = "";
#endif

// Reads the stream on fd until pred holds for an event, or timeout_ms; all events read.
std::vector<json> Follow(int fd, const std::function<bool(const json&)>& pred, int timeout_ms,
                         bool* found) {
  std::vector<json> out;
  std::string pending;
  *found = false;
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    pending.append(buf, static_cast<std::size_t>(n));
    for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n')) {
      out.push_back(json::parse(pending.substr(0, nl), nullptr, false));
      pending.erase(0, nl + 1);
      if (pred(out.back())) {
        *found = true;
        return out;
      }
    }
  }
  return out;
}

std::string Dump(const std::vector<json>& events) {
  std::string s;
  for (const auto& e : events) s += e.dump() + "\n";
  return s;
}

TEST(BusLive, GlibMemoryMonitorGetsWarningsAndTheChainMeasuresWhatCameBack) {
  if (const std::string why = MissingPrerequisite(); !why.empty()) GTEST_SKIP() << why;
  auto sb = Sandbox("bus", 256 * kMiB);
  ASSERT_TRUE(sb);
  // warn below 85% available, reclaim below 60%: the client's first 40 MiB reach warn, its
  // second 120 MiB reclaim; nowhere near kill, and no trend kill.
  TempConfig cfg(R"(
[detector]
warn_available_percent = 85.0
reclaim_available_percent = 60.0
kill_available_percent = 3.0
kill_time_to_exhaustion_ms = 0
[kill]
last_resort = "none"
[watchdog]
enabled = false
[reclaim]
settle_ms = 1500
[[reclaim.notifier]]
name = "lowmem warning"
kind = "event"
[report]
kill_report_path = ""
metrics_textfile_path = ""
status_socket = "@DIR@/status.sock"
)");
  ASSERT_TRUE(cfg.ok());
  std::string why;
  auto bus = PrivateBus::Start(cfg.dir(), &why);
  ASSERT_TRUE(bus) << why;
  const std::string socket = cfg.dir() + "/status.sock";
  Daemon d({sb->cgroup()}, 30000, {"--config", cfg.path()});
  ASSERT_TRUE(d.WaitStarted()) << d.Log();
  auto sub = report::SubscribeEvents(socket, 2000);
  ASSERT_TRUE(sub.has_value()) << sub.error().ToString();
  Spawned relay({kBusBinary, "--socket", socket, "--bus-address", bus->address()}, {},
                cfg.dir() + "/bus.log");
  ASSERT_TRUE(WaitFor([&] { return relay.Output().find("subscribed") != std::string::npos; }, 5000))
      << relay.Output();
  // The client runs in the test cgroup: its memory is the scope's.
  Spawned client({kPython, kSupport + "glib_memory_client.py", "40", "120", "20"},
                 {"DBUS_SYSTEM_BUS_ADDRESS=" + bus->address(), "GIO_USE_MEMORY_MONITOR=dbus"},
                 cfg.dir() + "/client.log", sb.get());
  bool found = false;
  auto events = Follow(
      sub->get(),
      [](const json& e) {
        return e.value("event", "") == "reclaim_step" && e.value("step", "") == "lowmem warning";
      },
      20000, &found);
  const std::string out = client.Output();
  ASSERT_TRUE(found) << Dump(events) << "client:\n" << out << "bus:\n" << relay.Output() << d.Log();
  ASSERT_TRUE(
      WaitFor([&] { return client.Output().find("freed mib=120") != std::string::npos; }, 3000));
  const std::string client_out = client.Output();
  EXPECT_NE(client_out.find("monitor GMemoryMonitorDBus"), std::string::npos) << client_out;
  // Crossing warn: 50, and the client freed its first 40 MiB in answer.
  EXPECT_NE(client_out.find("freed mib=40 level=50"), std::string::npos) << client_out;
  // At reclaim the chain's step warned (100), and the client freed the second 120 MiB.
  EXPECT_NE(client_out.find("freed mib=120 level=100"), std::string::npos) << client_out;
  const std::string relay_out = relay.Output();
  EXPECT_NE(relay_out.find("LowMemoryWarning level=50 scope=cgroup:" + sb->cgroup() +
                           " cause=level result=sent"),
            std::string::npos)
      << relay_out;
  EXPECT_NE(relay_out.find("LowMemoryWarning level=100 scope=cgroup:" + sb->cgroup() +
                           " cause=warning result=sent"),
            std::string::npos)
      << relay_out;
  // The level change to reclaim left the 100 to the chain's step: sent once, not twice.
  EXPECT_EQ(
      relay_out.find("LowMemoryWarning level=100 scope=cgroup:" + sb->cgroup() + " cause=level"),
      std::string::npos)
      << relay_out;
  // The chain's feedback: what came back over the step's settle window.
  const json& step = events.back();
  EXPECT_EQ(step.value("outcome", ""), "done") << step.dump();
  EXPECT_GT(step.value("freed_bytes", std::int64_t{0}), static_cast<std::int64_t>(80 * kMiB))
      << step.dump() << "\n"
      << Dump(events);
  d.Stop();
  EXPECT_TRUE(d.Lines("kill").empty()) << d.Log();
}

TEST(BusLive, StoppedBusProcessDoesNotHoldTheKillAndKilledReachesListeners) {
  if (const std::string why = MissingPrerequisite(); !why.empty()) GTEST_SKIP() << why;
  auto sb = Sandbox("busstop", 256 * kMiB);
  ASSERT_TRUE(sb);
  TempConfig cfg(R"(
[kill]
last_resort = "none"
[watchdog]
enabled = false
[report]
kill_report_path = ""
metrics_textfile_path = ""
status_socket = "@DIR@/status.sock"
)");
  ASSERT_TRUE(cfg.ok());
  std::string why;
  auto bus = PrivateBus::Start(cfg.dir(), &why);
  ASSERT_TRUE(bus) << why;
  const std::string socket = cfg.dir() + "/status.sock";
  Daemon d({sb->cgroup()}, 30000, {"--config", cfg.path()});
  ASSERT_TRUE(d.WaitStarted()) << d.Log();
  Spawned relay({kBusBinary, "--socket", socket, "--bus-address", bus->address()}, {},
                cfg.dir() + "/bus.log");
  ASSERT_TRUE(WaitFor([&] { return relay.Output().find("subscribed") != std::string::npos; }, 5000))
      << relay.Output();
  Spawned listener({kPython, kSupport + "killed_listener.py", bus->address(), "20"}, {},
                   cfg.dir() + "/listener.log");
  ASSERT_TRUE(
      WaitFor([&] { return listener.Output().find("listening") != std::string::npos; }, 5000))
      << listener.Output();

  // The bus process is stopped: it reads nothing while the daemon kills.
  ASSERT_EQ(::kill(relay.pid(), SIGSTOP), 0);
  Hog hog = Hog::Spawn({.touch_mib = 0, .grow_mib_per_s = 400, .grow_max_mib = 600}, sb.get());
  ASSERT_GT(hog.pid(), 0);
  EXPECT_TRUE(hog.WaitDead(hog.pid(), 10000)) << d.Log();
  EXPECT_TRUE(WaitFor([&] { return !d.Lines("reaped").empty(); }, 5000)) << d.Log();
  EXPECT_EQ(sb->OomKills(), 0u) << "the kernel's memcg OOM killer acted first\n" << d.Log();
  const auto kills = d.Lines("kill");
  ASSERT_EQ(kills.size(), 1u) << d.Log();
  EXPECT_EQ(Field(kills[0], "pid"), static_cast<std::uint64_t>(hog.pid()));

  // Woken, it catches up from the stream's buffer: the kill reaches the bus after all.
  ASSERT_EQ(::kill(relay.pid(), SIGCONT), 0);
  const std::string pid = std::to_string(hog.pid());
  EXPECT_TRUE(WaitFor(
      [&] { return listener.Output().find("pid=" + pid + " ") != std::string::npos; }, 5000))
      << "listener:\n"
      << listener.Output() << "bus:\n"
      << relay.Output();
  const std::string heard = listener.Output();
  EXPECT_NE(heard.find("scope=cgroup:" + sb->cgroup() + " pid=" + pid), std::string::npos) << heard;
  EXPECT_NE(heard.find("outcome=signalled"), std::string::npos) << heard;
  EXPECT_NE(relay.Output().find("LowMemoryWarning level=255"), std::string::npos) << relay.Output();
  d.Stop();
}

std::size_t Occurrences(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

TEST(BusLive, FollowsTheDaemonAcrossRestarts) {
  if (const std::string why = MissingPrerequisite(); !why.empty()) GTEST_SKIP() << why;
  auto sb = Sandbox("busrestart", 256 * kMiB);
  ASSERT_TRUE(sb);
  TempConfig cfg(R"(
[watchdog]
enabled = false
[report]
kill_report_path = ""
metrics_textfile_path = ""
status_socket = "@DIR@/status.sock"
)");
  ASSERT_TRUE(cfg.ok());
  std::string why;
  auto bus = PrivateBus::Start(cfg.dir(), &why);
  ASSERT_TRUE(bus) << why;
  const std::string socket = cfg.dir() + "/status.sock";
  // Started before the daemon: it owns the name and waits for the socket.
  Spawned relay({kBusBinary, "--socket", socket, "--bus-address", bus->address()}, {},
                cfg.dir() + "/bus.log");
  ASSERT_TRUE(WaitFor(
      [&] { return relay.Output().find("waiting for reaperd") != std::string::npos; }, 5000))
      << relay.Output();
  for (int round = 1; round <= 2; ++round) {
    Daemon d({sb->cgroup()}, 30000, {"--config", cfg.path()});
    ASSERT_TRUE(d.WaitStarted()) << d.Log();
    EXPECT_TRUE(WaitFor(
        [&] {
          return Occurrences(relay.Output(), "subscribed to reaperd") ==
                 static_cast<std::size_t>(round);
        },
        8000))
        << "round " << round << "\n"
        << relay.Output();
    d.Stop();
    EXPECT_TRUE(WaitFor(
        [&] {
          return Occurrences(relay.Output(), "closed the event stream") ==
                 static_cast<std::size_t>(round);
        },
        5000))
        << relay.Output();
  }
  EXPECT_EQ(relay.Wait(0), -1) << "reaperd-bus exited\n" << relay.Output();
}

}  // namespace
}  // namespace reaperd::itest
