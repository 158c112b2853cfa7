// A cgroup scope's kill finds its victim's mm sharers without walking /proc when the
// candidate was watched at warn (issue 13): the sharers the watch recorded, plus every PID
// allocated since (the /proc/loadavg cursor), each probed by kcmp. Everything the watch
// cannot vouch for falls back to the walk.
#include <gtest/gtest.h>

#include <algorithm>

#include "kill/victim.h"
#include "unit/kill/fakes.h"

namespace reaperd::kill {
namespace {

using testing::World;

constexpr sys::Nanos kWatchedAt = 100 * sys::kSecond;
constexpr sys::Nanos kKillAt = kWatchedAt + 500 * sys::kMilli;

struct Watched : ::testing::Test {
  World w;
  config::KillConfig cfg;
  Victim v;

  void SetUp() override {
    w.snapshot.scope.kind = policy::ScopeKind::kCgroup;
    w.snapshot.scope.cgroup = "/sandbox";
    auto& p = w.Add(100, 5000, 1000, 1);
    w.Publish(p, 1);
    w.view.SetProc("sys/kernel/pid_max", "32768\n");
    Cursor(1000);
  }
  void Cursor(pid_t last) {
    w.view.SetProc("loadavg", "0.10 0.20 0.30 1/80 " + std::to_string(last) + "\n");
  }
  std::vector<policy::Score> Top() const { return std::vector<policy::Score>(1); }
  bool Member(pid_t pid) const {
    const auto a = v.active();
    return std::any_of(a.begin(), a.end(), [pid](const kill::Member& m) { return m.pid == pid; });
  }
  // kcmp calls that compared the victim with pid.
  int Compared(pid_t pid) {
    return static_cast<int>(std::count(w.ops.kcmp_calls.begin(), w.ops.kcmp_calls.end(),
                                       std::pair<pid_t, pid_t>{100, pid}));
  }
  // The watch as the engine runs it at warn, then a kill at `at`, counting its walks.
  void WatchThenForget(VictimBuilder& b) {
    ASSERT_EQ(b.WatchSharers(w.snapshot, Top(), kWatchedAt), 1u);
    w.view.list_calls = 0;
    w.ops.kcmp_calls.clear();
  }
};

TEST_F(Watched, KillAfterTheWatchReadsNoListingAndFindsOldAndNewSharers) {
  w.Outside(300, 9300, "/elsewhere", 1);  // shares the mm since before the watch
  w.Outside(301, 9301, "/elsewhere", 7);  // does not
  VictimBuilder b(w.view, w.ops, cfg);
  WatchThenForget(b);
  w.Outside(1003, 9400, "/elsewhere", 1);  // a CLONE_VM child made after the watch
  Cursor(1005);
  ASSERT_TRUE(b.Build(w.snapshot, 0, kKillAt, v));
  EXPECT_EQ(w.view.list_calls, 0) << "the kill walked /proc";
  EXPECT_TRUE(Member(300));
  EXPECT_TRUE(Member(1003)) << "a sharer created after the watch was missed";
  EXPECT_FALSE(Member(301));
  EXPECT_EQ(Compared(301), 0) << "an old process with its own mm was compared again";
  for (pid_t pid = 1001; pid <= 1005; ++pid) EXPECT_EQ(Compared(pid), 1) << pid;
}

TEST_F(Watched, ProtectedSharerCreatedAfterTheWatchStillRefusesTheVictim) {
  VictimBuilder b(w.view, w.ops, cfg);
  WatchThenForget(b);
  w.Outside(1002, 9400, "/elsewhere", 1);
  auto p = w.Outside(1002, 9400, "/elsewhere", 1);
  p.comm.Assign("sshd");  // protect_comm
  w.Publish(p);
  Cursor(1002);
  auto built = b.Build(w.snapshot, 0, kKillAt, v);
  ASSERT_FALSE(built);
  EXPECT_STREQ(built.error().context, VictimBuilder::kMmSharedError);
  EXPECT_EQ(v.mm_shared_with, 1002);
  EXPECT_EQ(w.view.list_calls, 0);
}

TEST_F(Watched, ANewThreadOfTheVictimIsNotTakenForASharer) {
  VictimBuilder b(w.view, w.ops, cfg);
  WatchThenForget(b);
  w.Outside(1001, 5000, "/sandbox", 1);
  w.view.SetProc("1001/status",
                 "Name:\thog\nUmask:\t0022\nState:\tS\nTgid:\t100\nPid:\t1001\nUid:\t0\t0\t0\t0\n");
  Cursor(1001);
  ASSERT_TRUE(b.Build(w.snapshot, 0, kKillAt, v));
  EXPECT_FALSE(Member(1001));
  EXPECT_EQ(v.member_count, 1u);
}

TEST_F(Watched, ASharerThatExecedSinceTheWatchIsLeftAlone) {
  w.Outside(300, 9300, "/elsewhere", 1);
  VictimBuilder b(w.view, w.ops, cfg);
  WatchThenForget(b);
  w.ops.procs[300].mm = 9;  // exec gave it an mm of its own
  ASSERT_TRUE(b.Build(w.snapshot, 0, kKillAt, v));
  EXPECT_FALSE(Member(300));
  EXPECT_EQ(w.view.list_calls, 0);
}

TEST_F(Watched, PidsThatWrappedPastPidMaxAreProbedAtBothEnds) {
  Cursor(32760);
  VictimBuilder b(w.view, w.ops, cfg);
  WatchThenForget(b);
  w.Outside(32765, 9400, "/elsewhere", 1);
  w.Outside(305, 9401, "/elsewhere", 1);
  Cursor(310);
  ASSERT_TRUE(b.Build(w.snapshot, 0, kKillAt, v));
  EXPECT_EQ(w.view.list_calls, 0);
  EXPECT_TRUE(Member(32765));
  EXPECT_TRUE(Member(305));
  EXPECT_EQ(Compared(32768), 0) << "pid_max itself is never allocated";
}

TEST_F(Watched, TooManyPidsSinceTheWatchMeansAWalk) {
  VictimBuilder b(w.view, w.ops, cfg);
  WatchThenForget(b);
  w.Outside(3000, 9400, "/elsewhere", 1);
  Cursor(1000 + static_cast<pid_t>(SharerWatch::kMaxProbe) + 1);
  ASSERT_TRUE(b.Build(w.snapshot, 0, kKillAt, v));
  EXPECT_EQ(w.view.list_calls, 1);
  EXPECT_TRUE(Member(3000));
}

TEST_F(Watched, AnOldWatchMeansAWalk) {
  VictimBuilder b(w.view, w.ops, cfg);
  WatchThenForget(b);
  ASSERT_TRUE(b.Build(w.snapshot, 0, kWatchedAt + b.sharer_watch().max_age_ns() + 1, v));
  EXPECT_EQ(w.view.list_calls, 1);
}

TEST_F(Watched, AnUnreadableCursorMeansAWalk) {
  VictimBuilder b(w.view, w.ops, cfg);
  WatchThenForget(b);
  w.view.proc.erase("loadavg");
  ASSERT_TRUE(b.Build(w.snapshot, 0, kKillAt, v));
  EXPECT_EQ(w.view.list_calls, 1);
}

TEST_F(Watched, AReusedPidIsNotVouchedForByTheWatchOfItsOldProcess) {
  VictimBuilder b(w.view, w.ops, cfg);
  WatchThenForget(b);
  // The snapshot of the kill names another process under pid 100.
  w.snapshot.processes[0].starttime = 5001;
  w.view.SetProc("100/stat", testing::StatLine(100, "hog", 5001));
  ASSERT_TRUE(b.Build(w.snapshot, 0, kKillAt, v));
  EXPECT_EQ(w.view.list_calls, 1);
}

TEST_F(Watched, ACandidateWhosePidWasReusedDuringTheWalkIsNotWatched) {
  VictimBuilder b(w.view, w.ops, cfg);
  // The candidate died and its pid was reused before the walk read its start time again.
  w.view.SetProc("100/stat", testing::StatLine(100, "hog", 5001));
  b.WatchSharers(w.snapshot, Top(), kWatchedAt);
  w.view.SetProc("100/stat", testing::StatLine(100, "hog", 5000));
  w.view.list_calls = 0;
  ASSERT_TRUE(b.Build(w.snapshot, 0, kKillAt, v));
  EXPECT_EQ(w.view.list_calls, 1);
}

TEST_F(Watched, AWatchThatStillVouchesIsNotWalkedAgain) {
  VictimBuilder b(w.view, w.ops, cfg);
  EXPECT_EQ(b.WatchSharers(w.snapshot, Top(), kWatchedAt), 1u);
  Cursor(1010);
  EXPECT_EQ(b.WatchSharers(w.snapshot, Top(), kWatchedAt + sys::kSecond), 0u);
  EXPECT_EQ(b.sharer_watch().walks(), 1u);
  Cursor(1010 + static_cast<pid_t>(SharerWatch::kMaxProbe));
  EXPECT_EQ(b.WatchSharers(w.snapshot, Top(), kWatchedAt + sys::kSecond), 1u);
  // Walked again at half its age.
  Cursor(5200);
  const sys::Nanos half = b.sharer_watch().max_age_ns() / 2;
  EXPECT_EQ(b.WatchSharers(w.snapshot, Top(), kWatchedAt + sys::kSecond + half / 2), 0u);
  EXPECT_EQ(b.WatchSharers(w.snapshot, Top(), kWatchedAt + sys::kSecond + half + 1), 1u);
}

TEST_F(Watched, TheWatchLastsAsLongAsACycleOfPidsTakes) {
  VictimBuilder small(w.view, w.ops, cfg);
  EXPECT_EQ(small.sharer_watch().max_age_ns(), 2 * sys::kSecond);  // pid_max 32768
  w.view.SetProc("sys/kernel/pid_max", "4194304\n");
  VictimBuilder big(w.view, w.ops, cfg);
  EXPECT_EQ(big.sharer_watch().max_age_ns(), 30 * sys::kSecond);
}

TEST_F(Watched, OneWalkWatchesSeveralCandidates) {
  auto& second = w.Add(101, 5001, 900, 2);
  w.Publish(second, 1);
  w.Outside(300, 9300, "/elsewhere", 2);
  VictimBuilder b(w.view, w.ops, cfg);
  w.view.list_calls = 0;  // the constructor sized its buffers from a listing
  std::vector<policy::Score> top(2);
  top[1].index = 1;
  ASSERT_EQ(b.WatchSharers(w.snapshot, top, kWatchedAt), 2u);
  EXPECT_EQ(w.view.list_calls, 1);
  w.view.list_calls = 0;
  ASSERT_TRUE(b.Build(w.snapshot, 1, kKillAt, v));
  EXPECT_EQ(w.view.list_calls, 0);
  EXPECT_TRUE(Member(300));
}

TEST_F(Watched, ASystemScopeNeverUsesTheWatchNorWalks) {
  w.snapshot.scope = policy::Scope{};
  VictimBuilder b(w.view, w.ops, cfg);
  WatchThenForget(b);
  ASSERT_TRUE(b.Build(w.snapshot, 0, kKillAt, v));
  EXPECT_EQ(w.view.list_calls, 0);
}

}  // namespace
}  // namespace reaperd::kill
