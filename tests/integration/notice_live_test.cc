// The kill notice for the victim's owner on a real desktop: a notification server (dunst under
// Xvfb) on a private session bus at the path reaperd-bus looks up for that uid; after the
// daemon kills a hog in a test cgroup, dunst's history holds the notice naming the program.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <string>

#include "integration/support/cgroup_sandbox.h"
#include "integration/support/daemon.h"
#include "integration/support/hog.h"
#include "integration/support/live_util.h"
#include "integration/support/private_bus.h"

namespace reaperd::itest {
namespace {

using namespace live;  // NOLINT(google-build-using-namespace): test helpers

std::string Capture(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), p) != nullptr) out += buf.data();
  ::pclose(p);
  return out;
}

TEST(NoticeLive, VictimsOwnerGetsADesktopNotification) {
#ifndef REAPERD_BUS_BINARY
  GTEST_SKIP() << "reaperd-bus was not built (libsystemd-dev missing; make deps)";
#else
  for (const char* tool : {"/usr/bin/dbus-daemon", "/usr/bin/Xvfb", "/usr/bin/dunst",
                           "/usr/bin/dunstctl", "/usr/bin/dbus-send"}) {
    if (::access(tool, X_OK) != 0) GTEST_SKIP() << tool << " missing (make test-deps)";
  }
  auto sb = Sandbox("notice", 256 * kMiB);
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
  auto system_bus = PrivateBus::Start(cfg.dir(), &why);
  ASSERT_TRUE(system_bus) << why;
  // The victim's owner's session bus, where reaperd-bus looks for uid's: DIR/<uid>/bus.
  const std::string uid = std::to_string(::getuid());
  ASSERT_EQ(::mkdir((cfg.dir() + "/" + uid).c_str(), 0700), 0);
  const std::string session_path = cfg.dir() + "/" + uid + "/bus";
  // Removed after the session bus, before TempConfig (which removes files only).
  struct RemoveUidDir {
    std::string socket, dir;
    ~RemoveUidDir() {
      ::unlink(socket.c_str());
      ::rmdir(dir.c_str());
    }
  } remove_uid_dir{session_path, cfg.dir() + "/" + uid};
  auto session = PrivateBus::StartSession(cfg.dir(), session_path, &why);
  ASSERT_TRUE(session) << why;
  // A display nobody holds (no lock file), from 90 + pid % 100 on.
  int n = 90 + ::getpid() % 100;
  while (n < 400 && ::access(("/tmp/.X" + std::to_string(n) + "-lock").c_str(), F_OK) == 0) ++n;
  const std::string display = ":" + std::to_string(n);
  Spawned xvfb({"/usr/bin/Xvfb", display, "-nolisten", "tcp"}, {}, cfg.dir() + "/xvfb.log");
  // Stopped with SIGTERM at the end, so that it removes its lock and socket (SIGKILL would not).
  struct StopX {
    Spawned& x;
    ~StopX() {
      ::kill(x.pid(), SIGTERM);
      x.Wait(3000);
    }
  } stop_x{xvfb};
  const std::string x_socket = "/tmp/.X11-unix/X" + display.substr(1);
  ASSERT_TRUE(WaitFor([&] { return ::access(x_socket.c_str(), F_OK) == 0; }, 5000))
      << xvfb.Output();
  const std::string session_env = "DBUS_SESSION_BUS_ADDRESS=" + session->address();
  Spawned dunst({"/usr/bin/dunst"}, {"DISPLAY=" + display, session_env}, cfg.dir() + "/dunst.log");
  const std::string has_owner = session_env +
                                " dbus-send --session --print-reply --dest=org.freedesktop.DBus "
                                "/org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner "
                                "string:org.freedesktop.Notifications";
  ASSERT_TRUE(WaitFor([&] { return Capture(has_owner).find("true") != std::string::npos; }, 5000))
      << dunst.Output();

  const std::string socket = cfg.dir() + "/status.sock";
  Daemon d({sb->cgroup()}, 30000, {"--config", cfg.path()});
  ASSERT_TRUE(d.WaitStarted()) << d.Log();
  Spawned relay({REAPERD_BUS_BINARY, "--socket", socket, "--bus-address", system_bus->address(),
                 "--user-bus", cfg.dir() + "/%u/bus"},
                {}, cfg.dir() + "/bus.log");
  ASSERT_TRUE(WaitFor([&] { return relay.Output().find("subscribed") != std::string::npos; }, 5000))
      << relay.Output();
  Hog hog = Hog::Spawn({.touch_mib = 0, .grow_mib_per_s = 400, .grow_max_mib = 600}, sb.get());
  ASSERT_GT(hog.pid(), 0);
  EXPECT_TRUE(hog.WaitDead(hog.pid(), 10000)) << d.Log();
  ASSERT_TRUE(
      WaitFor([&] { return relay.Output().find("notice child=") != std::string::npos; }, 5000))
      << relay.Output();
  EXPECT_NE(relay.Output().find("result=sent status=0"), std::string::npos) << relay.Output();
  // Displayed notices enter dunst's history once closed.
  Capture(session_env + " dunstctl close-all");
  std::string history;
  ASSERT_TRUE(WaitFor(
      [&] {
        history = Capture(session_env + " dunstctl history");
        return history.find("out of memory") != std::string::npos;
      },
      5000))
      << history << dunst.Output() << relay.Output();
  EXPECT_NE(history.find("was stopped: out of memory"), std::string::npos) << history;
  EXPECT_NE(history.find("(pid " + std::to_string(hog.pid()) + ") was using"), std::string::npos)
      << history;
  EXPECT_NE(history.find("reaperd"), std::string::npos) << history;
  d.Stop();
#endif
}

}  // namespace
}  // namespace reaperd::itest
