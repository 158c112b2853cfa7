// Session avoidance (policy/session.h): the layouts systemd and logind give a desktop and a
// login, as paths of the cgroup tree (captured from Debian 12 GNOME and KDE hosts and the lab's
// systemd guest), and the order they give the ranking.
#include "policy/session.h"

#include <gtest/gtest.h>

#include "policy/rank.h"

namespace reaperd::policy {
namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;

Process At(pid_t pid, const char* comm, const char* cgroup, std::uint64_t anon_mib = 10) {
  Process p;
  p.pid = pid;
  p.ppid = 1;
  p.session = 1;
  p.starttime = 1000 + static_cast<std::uint64_t>(pid);
  p.comm.Assign(comm);
  p.has_mm = true;
  p.state = 'S';
  p.rss_anon = anon_mib * kMiB;
  p.uid = 1000;
  p.cgroup = cgroup;
  return p;
}

constexpr const char* kUser = "/user.slice/user-1000.slice/user@1000.service";

TEST(Session, TheLayoutNamesWhatHoldsTheSessionTogether) {
  const std::string u = kUser;
  EXPECT_EQ(SessionRole(At(10, "gnome-shell",
                           (u + "/session.slice/org.gnome.Shell@wayland.service").c_str())),
            AvoidReason::kSessionSlice);
  EXPECT_EQ(SessionRole(At(11, "systemd", (u + "/init.scope").c_str())), AvoidReason::kUserManager);
  EXPECT_EQ(SessionRole(At(12, "pipewire", (u + "/app.slice/pipewire.service").c_str())),
            AvoidReason::kAudio);
  EXPECT_EQ(SessionRole(At(13, "wireplumber", (u + "/session.slice/wireplumber.service").c_str())),
            AvoidReason::kSessionSlice);
  EXPECT_EQ(SessionRole(At(14, "gdm3", "/system.slice/gdm.service")), AvoidReason::kDisplayManager);
  auto leader = At(15, "sshd", "/user.slice/user-1000.slice/session-4.scope");
  leader.session = 15;
  EXPECT_EQ(SessionRole(leader), AvoidReason::kSessionLeader);
  // Not the leader: the shell a login started, the program it runs.
  auto shell = At(16, "bash", "/user.slice/user-1000.slice/session-4.scope");
  shell.session = 15;
  EXPECT_EQ(SessionRole(shell), AvoidReason::kNone);
  // An application: its own scope in app.slice, whatever it is called.
  EXPECT_EQ(
      SessionRole(At(17, "gnome-shell", (u + "/app.slice/app-gnome-firefox-1234.scope").c_str())),
      AvoidReason::kNone);
  // A look-alike outside user@.service, and a unit merely named like one.
  EXPECT_EQ(SessionRole(At(18, "x", "/system.slice/session.slice/a.service")), AvoidReason::kNone);
  EXPECT_EQ(SessionRole(At(19, "x", "/user@1000.scope/session.slice/a")), AvoidReason::kNone);
  EXPECT_EQ(SessionRole(At(20, "x", "/")), AvoidReason::kNone);
  EXPECT_EQ(SessionRole(At(21, "x", "")), AvoidReason::kNone);
}

TEST(Session, ConfigNamesAddAndRemove) {
  const std::string u = kUser;
  const auto shell =
      At(10, "gnome-shell", (u + "/session.slice/org.gnome.Shell@x11.service").c_str());
  const std::vector<std::string> none;
  const std::vector<std::string> shell_name = {"gnome-shell"};
  EXPECT_EQ(AvoidReasonOf(shell, true, none, none), AvoidReason::kSessionSlice);
  EXPECT_EQ(AvoidReasonOf(shell, false, none, none), AvoidReason::kNone) << "session_avoid off";
  EXPECT_EQ(AvoidReasonOf(shell, true, none, shell_name), AvoidReason::kNone) << "unavoid_comm";
  const auto tab = At(11, "Xorg", "/user.slice/user-1000.slice/session-2.scope");
  EXPECT_EQ(AvoidReasonOf(tab, false, std::vector<std::string>{"Xorg"}, none),
            AvoidReason::kConfigComm);
}

// The desktop: a browser of several processes in its app scope, a compositor and an
// audio server in the session's services. The largest browser process is the victim; the
// compositor and the audio server, larger still, are chosen only when nothing else is left.
TEST(Session, TheBrowserDiesBeforeTheCompositorAndTheAudioServer) {
  const std::string u = kUser;
  const std::string app = u + "/app.slice/app-browser.scope";
  auto snap = Snapshot{};
  snap.page_size = 4096;
  snap.total_pages = 1024 * 1024;
  snap.processes = {At(10, "compositor", (u + "/session.slice/compositor.service").c_str(), 900),
                    At(11, "audio", (u + "/session.slice/pipewire.service").c_str(), 700),
                    At(12, "browser", app.c_str(), 300), At(13, "browser", app.c_str(), 500),
                    At(14, "browser", app.c_str(), 200)};
  Ranker r(config::RankConfig{});
  auto out = r.Rank(snap, 1);
  ASSERT_EQ(out.candidates.size(), 5u);
  EXPECT_EQ(snap.processes[out.candidates[0].index].pid, 13) << "the largest browser process";
  EXPECT_EQ(out.candidates[0].avoid, AvoidReason::kNone);
  EXPECT_EQ(out.candidates[3].avoid, AvoidReason::kSessionSlice);
  EXPECT_EQ(out.candidates[4].avoid, AvoidReason::kSessionSlice);
  // With the browser gone, the larger of the two session services is next.
  snap.processes.resize(2);
  out = r.Rank(snap, 1);
  ASSERT_EQ(out.candidates.size(), 2u);
  EXPECT_EQ(snap.processes[out.candidates[0].index].pid, 10);
}

TEST(Session, ADesktopNameIsAvoidedNotProtected) {
  // Xorg by name alone: chosen after everything else, but chosen (a process can take any
  // name; a protected name would let a leak named "Xorg" take the machine).
  auto snap = Snapshot{};
  snap.page_size = 4096;
  snap.total_pages = 1024 * 1024;
  snap.processes = {At(10, "Xorg", "/system.slice/x.service", 900),
                    At(11, "tab", "/user.slice/app", 100)};
  Ranker r(config::RankConfig{});
  auto out = r.Rank(snap, 1);
  ASSERT_EQ(out.candidates.size(), 2u);
  EXPECT_TRUE(out.protected_processes.empty());
  EXPECT_EQ(snap.processes[out.candidates[0].index].pid, 11);
  EXPECT_EQ(out.candidates[1].avoid, AvoidReason::kConfigComm);
}

}  // namespace
}  // namespace reaperd::policy
