// The system scope's kill decides on a standing snapshot (engine_kill.cc): the kill reads only
// new processes and the top kRereadTop candidates again and carries the rest over from the
// last whole read. A process outside that top which grew since must not be missed: memory
// used that no re-read entry accounts for makes the kill read /proc whole. Through a fixture
// /proc of 12 processes and fake process ops.
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/log.h"
#include "config/config.h"
#include "daemon/engine.h"
#include "daemon/engine_internal.h"
#include "sys/system_view.h"
#include "unit/alloc/fake_system.h"
#include "unit/daemon/engine_test_base.h"
#include "unit/kill/fakes.h"

namespace reaperd::daemon {
namespace {

using alloc_test::FakeSystem;
using alloc_test::kFirstPid;
using alloc_test::kFlags;
using alloc_test::kProcesses;

constexpr int kBigFirst = kFirstPid + kProcesses;  // 104..111: the top 8 at the whole read
constexpr int kBig = 8;
constexpr long kTotalKb = 16777216;

class EngineStanding : public testing::EngineTestBase {
 protected:
  void SetUp() override {
    for (int pid = kBigFirst; pid < kBigFirst + kBig; ++pid) {
      AddProcess(pid, 20 * 1024 + (pid - kBigFirst) * 1024);  // 20..27 MiB
    }
  }
  // One more process in the fixture /proc, of kb KiB (removed with the tree).
  void AddProcess(int pid, long kb) {
    sys_.AddProcess(pid, kb);
    ops_.procs[pid] = {};
  }
  // The process's files gone while its directory is still listed (it exits between the
  // listing and the read).
  void RemoveProcessFiles(int pid) {
    for (const char* f : {"stat", "statm", "status"}) {
      ::unlink((sys_.dir + "/" + std::to_string(pid) + "/" + f).c_str());
    }
  }
  // A process of kb KiB of anonymous memory (status, statm and stat say so).
  void SetAnonKb(int pid, long kb) {
    const std::string d = sys_.dir + "/" + std::to_string(pid);
    alloc_test::WriteFile(d + "/stat", FakeSystem::Stat(pid, kFlags));
    alloc_test::WriteFile(d + "/statm", FakeSystem::Statm(kb));
    alloc_test::WriteFile(d + "/status", FakeSystem::Status(pid, kb));
  }
  void SetAvailableKb(long kb) { ASSERT_TRUE(sys_.SetMeminfo(FakeSystem::Meminfo(kb))); }
  // The largest of the big ones at the whole read (27 MiB).
  static constexpr int kTop = kBigFirst + kBig - 1;
  // From warn's 8% available (StartAtWarn), kTop grows 1200 MiB and the system comes to the
  // kill level; more_used_kb is used elsewhere besides. The caller ticks.
  void GrowTheTopToTheKillLevel(long more_used_kb = 0) {
    const long used_then_kb = kTotalKb - kTotalKb * 8 / 100;
    const long grew_kb = 1200 * 1024;
    SetAnonKb(kTop, 27 * 1024 + grew_kb);
    SetAvailableKb(kTotalKb - used_then_kb - more_used_kb - grew_kb);
  }
  // Started and idle at ok long enough for the start-up's read to age, then kTop grows 5% of
  // memory a tick at ok (45% to 35% available, still above warn), then to 1% available: the
  // kill level, straight from ok, ticked.
  void KillTheTopAfterAFastFallAtOk() {
    Start();
    Tick(kStandingWholeNs + kStandingMaxAgeNs + sys::kSecond);
    ASSERT_EQ(engine_->status()[0].decision.level, pressure::Level::kOk);
    for (int pct : {45, 40, 35, 1}) {
      SetAnonKb(kTop, 27 * 1024 + kTotalKb / 2 - kTotalKb * pct / 100);
      SetAvailableKb(kTotalKb * pct / 100);
      Tick();
      if (pct > 1) {
        ASSERT_EQ(engine_->status()[0].decision.level, pressure::Level::kOk) << pct;
      }
    }
  }
  // The engine over the fixture /proc, guarding the system, started (its whole read at
  // start-up, with FakeSystem's meminfo: 50% available).
  void Start() {
    auto v = sys::RealSystemView::Open(sys_.dir, std::string(REAPERD_FIXTURES) + "/cgroup/host-v1");
    ASSERT_TRUE(v.has_value()) << v.error().ToString();
    view_.emplace(std::move(*v));
    MakeEngine(*view_);
  }
  // Started, then at warn (8% available) long enough for the standing snapshot's whole read
  // at warn: the baseline of what is used.
  void StartAtWarn() {
    Start();
    SetAvailableKb(kTotalKb * 8 / 100);
    Tick(kStandingWholeNs + sys::kSecond);  // at warn, past the whole-read period: read whole
    ASSERT_EQ(engine_->status()[0].decision.level, pressure::Level::kWarn);
    Tick();
    ASSERT_EQ(Killed(), std::vector<pid_t>{});
  }
  std::vector<pid_t> Killed() {
    std::lock_guard lock(ops_.mu);
    std::vector<pid_t> out;
    for (const auto& s : ops_.sent) {
      if (s.sig == SIGKILL) out.push_back(s.pid);
    }
    return out;
  }
  // The number after " key=" in line (-1 if absent).
  static long Field(const std::string& line, const std::string& key) {
    const auto at = line.find(" " + key + "=");
    return at == std::string::npos ? -1 : std::stol(line.substr(at + key.size() + 2));
  }
  std::string KillLine() const {
    for (const auto& l : sink_.Lines()) {
      if (l.find("seq=") != std::string::npos && l.find(" rss_mib=") != std::string::npos) {
        return l;
      }
    }
    return "";
  }

  std::optional<sys::RealSystemView> view_;
};

// Process 100 (1000 KiB at the whole read, outside the top 8) grows to 600 MiB, and the
// system comes to the kill level. Red on the old refresh: the largest of the old top (111,
// 27 MiB) was killed, 100 ranked by its old 1000 KiB. The kill reads again only the four
// carried-over candidates that could have grown past the first (100..103), not all of /proc:
// red before, read=whole_after_refresh.
TEST_F(EngineStanding, AGrowerOutsideTheTopIsSeenThroughMemoryNobodyRead) {
  StartAtWarn();
  SetAnonKb(kFirstPid, 600 * 1024);
  SetAvailableKb(kTotalKb / 100);
  Tick();
  EXPECT_EQ(Killed(), std::vector<pid_t>{kFirstPid}) << KillLine();
  EXPECT_NE(KillLine().find("read=refresh_rivals read_unchanged=0 rivals_read=4 "),
            std::string::npos)
      << KillLine();
}

// More rivals than a kill reads one by one (kMaxRivals): 40 more small processes, carried
// over, any of which could be the grower. The kill reads /proc whole.
TEST_F(EngineStanding, MoreRivalsThanTheKillReadsOneByOneReadWhole) {
  constexpr int kSmallFirst = 200;
  constexpr int kSmall = static_cast<int>(kMaxRivals) + 8;
  for (int pid = kSmallFirst; pid < kSmallFirst + kSmall; ++pid) AddProcess(pid, 512);
  StartAtWarn();
  SetAnonKb(kSmallFirst + 5, 600 * 1024);
  SetAvailableKb(kTotalKb / 100);
  Tick();
  EXPECT_EQ(Killed(), std::vector<pid_t>{kSmallFirst + 5}) << KillLine();
  EXPECT_NE(KillLine().find("read=whole_after_refresh "), std::string::npos) << KillLine();
  EXPECT_NE(KillLine().find(" rivals_read=0 "), std::string::npos) << KillLine();
}

// A rival that is gone by the second look is dropped, what it held counted as freed; the
// grower among the others is still found.
TEST_F(EngineStanding, ARivalGoneByTheSecondLookIsDropped) {
  StartAtWarn();
  SetAnonKb(kFirstPid + 1, 600 * 1024);
  RemoveProcessFiles(kFirstPid);
  SetAvailableKb(kTotalKb / 100);
  Tick();
  EXPECT_EQ(Killed(), std::vector<pid_t>{kFirstPid + 1}) << KillLine();
  EXPECT_NE(KillLine().find("read=refresh_rivals "), std::string::npos) << KillLine();
  EXPECT_NE(KillLine().find(" candidates=11 "), std::string::npos) << KillLine();
}

// The growth is the top candidate's own, which the refresh reads again: it accounts for the
// used memory, so the carried-over entries stay unread (the fast path is kept).
TEST_F(EngineStanding, GrowthTheRefreshReadsKeepsTheRefresh) {
  StartAtWarn();
  GrowTheTopToTheKillLevel();
  Tick();
  EXPECT_EQ(Killed(), std::vector<pid_t>{kTop}) << KillLine();
  EXPECT_NE(KillLine().find("read=refresh read_unchanged=4"), std::string::npos) << KillLine();
}

// At warn the standing snapshot is refreshed every second and read whole every
// kStandingWholeNs, not read whole every second: three refreshes after the whole read, the
// kill's snapshot is that whole read's, 3 s and more old. Red before: snapshot_age_ms=0 (read
// whole each second).
TEST_F(EngineStanding, AtWarnTheStandingSnapshotIsRefreshedBetweenWholeReads) {
  StartAtWarn();
  for (int k = 0; k < 3; ++k) Tick(sys::kSecond + 10 * sys::kMilli);
  GrowTheTopToTheKillLevel();
  Tick();
  EXPECT_EQ(Killed(), std::vector<pid_t>{kTop}) << KillLine();
  EXPECT_NE(KillLine().find("read=refresh "), std::string::npos) << KillLine();
  EXPECT_GE(Field(KillLine(), "snapshot_age_ms"), 3000) << KillLine();
}

// With a task census (/proc/loadavg) that vouches, neither the periodic refresh at warn nor
// the kill lists /proc: each probes the PIDs allocated since the last census (one new
// process here, read; its PID's neighbour made and gone). Red before: listed=1 (no field).
TEST_F(EngineStanding, WhenTheTaskCensusVouchesNoRefreshListsProc) {
  const int procs = kProcesses + kBig;  // 100..111
  sys_.Add("loadavg", "0.00 0.00 0.00 1/" + std::to_string(procs) + " 111\n");
  sys_.AddDir("self");
  sys_.AddDir("self/ns");
  sys_.files.push_back(sys_.dir + "/self/ns/pid");
  ASSERT_EQ(::symlink("pid:[4026531836]", sys_.files.back().c_str()), 0);
  StartAtWarn();
  AddProcess(113, 2048);
  sys_.Add("loadavg", "0.00 0.00 0.00 1/" + std::to_string(procs + 1) + " 113\n");
  Tick(sys::kSecond + 10 * sys::kMilli);  // the periodic refresh: probes 112 and 113
  GrowTheTopToTheKillLevel(2048);         // and 113's 2 MiB
  Tick();
  EXPECT_EQ(Killed(), std::vector<pid_t>{kTop}) << KillLine();
  EXPECT_NE(KillLine().find("read=refresh "), std::string::npos) << KillLine();
  EXPECT_EQ(Field(KillLine(), "listed"), 0) << KillLine();
  EXPECT_EQ(Field(KillLine(), "probed"), 0) << KillLine();
  EXPECT_EQ(Field(KillLine(), "candidates"), procs + 1) << KillLine();
}

// A fast fall seen at ok (the kill floor a few seconds away, warn not reached yet) reads the
// standing snapshot whole while memory is there to read it with, as warn does: the hog then
// reaches the kill level in one sample and the kill only refreshes. Red before: read=whole
// (at ok the start-up's read was left to age, and a kill straight from ok read /proc whole:
// 165 ms under TCG in the lab's fast_hog).
TEST_F(EngineStanding, AFastFallAtOkReadsTheStandingSnapshotBeforeTheKill) {
  ASSERT_NO_FATAL_FAILURE(KillTheTopAfterAFastFallAtOk());
  EXPECT_EQ(Killed(), std::vector<pid_t>{kTop}) << KillLine();
  EXPECT_NE(KillLine().find("read=refresh "), std::string::npos) << KillLine();
  EXPECT_LE(Field(KillLine(), "snapshot_age_ms"), 500) << KillLine();
}

// While memory falls fast at ok, the top candidates' files are held as at warn: the kill
// straight from ok re-reads them with four preads each, not a directory and five files each
// (in the lab's growers, eight new growers read so cost 3-4 ms of the first kill under TCG).
// Red before: read_held=0 (nothing was held below warn).
TEST_F(EngineStanding, AFastFallAtOkHoldsTheTopCandidatesFiles) {
  ASSERT_NO_FATAL_FAILURE(KillTheTopAfterAFastFallAtOk());  // nothing held while idle
  EXPECT_EQ(Killed(), std::vector<pid_t>{kTop}) << KillLine();
  EXPECT_NE(KillLine().find("read=refresh "), std::string::npos) << KillLine();
  EXPECT_EQ(Field(KillLine(), "read_held"), static_cast<long>(kRereadTop)) << KillLine();
}

// A burst of new processes that grow together at ok, none large alone (the lab's growers):
// with the kill near, the standing snapshot is refreshed every kStandingNearRefreshNs, so
// the growers are read while small, ranked as they pass the old top, and held: the kill
// straight from ok re-reads all eight through held files. Red before: the last refresh was
// the first falling tick's whole read (growers of 9 MiB, below the old top), none after it
// for 3 s, and the kill read the growers (and four more) again as rivals, by path
// (rivals_read=12).
TEST_F(EngineStanding, ABurstOfGrowersAtOkIsHeldBeforeTheKill) {
  Start();
  Tick(kStandingWholeNs + kStandingMaxAgeNs + sys::kSecond);  // idle at ok: the read ages
  constexpr int kGrowerFirst = 120;
  constexpr int kGrowers = 8;
  for (int pid = kGrowerFirst; pid < kGrowerFirst + kGrowers; ++pid) AddProcess(pid, 1024);
  // Every grower 8 MiB larger each 100 ms (640 MiB/s in all): past the old top (20-27 MiB)
  // at the fourth tick; memory from 14% to 11% available, the floor 2-3 s away.
  long each_kb = 1024;
  long avail_kb = kTotalKb * 14 / 100;
  auto grow = [&](long by_kb) {
    each_kb += by_kb;
    avail_kb -= kGrowers * by_kb;
    for (int pid = kGrowerFirst; pid < kGrowerFirst + kGrowers; ++pid) {
      SetAnonKb(pid, each_kb + (pid - kGrowerFirst) * 16);
    }
    SetAvailableKb(avail_kb);
    Tick(100 * sys::kMilli);
  };
  for (int k = 0; k < 6; ++k) {
    grow(8 * 1024);
    ASSERT_EQ(Killed(), std::vector<pid_t>{}) << k << " " << KillLine();
    ASSERT_EQ(engine_->status()[0].decision.level, pressure::Level::kOk) << k;
  }
  grow(180 * 1024);  // 1.4 GiB in one step: the kill level, straight from ok
  ASSERT_EQ(Killed().size(), 1u) << KillLine();
  EXPECT_GE(Killed()[0], kGrowerFirst) << KillLine();
  EXPECT_NE(KillLine().find("read=refresh "), std::string::npos) << KillLine();
  EXPECT_EQ(Field(KillLine(), "rivals_read"), 0) << KillLine();
  EXPECT_EQ(Field(KillLine(), "read_held"), static_cast<long>(kRereadTop)) << KillLine();
}

// After a kill the top stays held while the episode lasts, even with memory back and rising:
// a burst's next kill comes at the next fall's first tick, straight from ok, before a hold
// made there could serve it (the lab's growers: 8 of 20 second kills re-read the seven
// growers left by path). Red before: read_held=0 at the second kill.
TEST_F(EngineStanding, AfterAKillTheTopStaysHeldThroughTheEpisode) {
  StartAtWarn();
  GrowTheTopToTheKillLevel();
  Tick();
  ASSERT_EQ(Killed(), std::vector<pid_t>{kTop}) << KillLine();
  RemoveProcessFiles(kTop);             // it exited
  SetAvailableKb(kTotalKb * 20 / 100);  // its memory back: ok, rising
  Tick(100 * sys::kMilli);
  ASSERT_EQ(engine_->status()[0].decision.level, pressure::Level::kOk);
  const int next = kTop - 1;  // the next of the old top grows at once, by 17% of memory
  const long grew_kb = kTotalKb * 17 / 100;
  SetAnonKb(next, 26 * 1024 + grew_kb);
  SetAvailableKb(kTotalKb * 20 / 100 - grew_kb);
  Tick(100 * sys::kMilli);
  ASSERT_EQ(Killed().size(), 2u) << sink_.Lines().back();
  std::string second;
  for (const auto& l : sink_.Lines()) {
    if (l.find("seq=2 ") != std::string::npos && l.find(" rss_mib=") != std::string::npos)
      second = l;
  }
  EXPECT_EQ(Killed()[1], next) << second;
  EXPECT_GE(Field(second, "read_held"), 6) << second;
}

// At warn the top candidates' files are held too (the kill re-reads all of the top through
// them); idle at ok nothing is (NothingIsHeldAtAFlatOk: a kill straight from a flat ok reads
// its top by path).
TEST_F(EngineStanding, TheTopIsHeldAtWarn) {
  StartAtWarn();
  GrowTheTopToTheKillLevel();
  Tick();
  EXPECT_EQ(Killed(), std::vector<pid_t>{kTop}) << KillLine();
  EXPECT_EQ(Field(KillLine(), "read_held"), static_cast<long>(kRereadTop)) << KillLine();
}

TEST_F(EngineStanding, NothingIsHeldAtAFlatOk) {
  Start();
  Tick();
  Tick();
  const long grew_kb = kTotalKb / 2 - kTotalKb / 100;
  SetAnonKb(kTop, 27 * 1024 + grew_kb);
  SetAvailableKb(kTotalKb / 100);
  Tick();
  EXPECT_EQ(Killed(), std::vector<pid_t>{kTop}) << KillLine();
  EXPECT_EQ(Field(KillLine(), "read_held"), 0) << KillLine();
}

// At ok the fall only keeps the snapshot young enough for a kill to refresh it, not at warn's
// pace (a whole read every 10 s, a refresh every second: in the lab's growers, whose memory
// falls at ok between kills, that cost 0.7 s of CPU under TCG): four seconds of falling at
// ok after the whole read, and the kill's snapshot is that read's. Red at warn's pace:
// snapshot_age_ms=0 (refreshed each second; and read whole at the first fall).
TEST_F(EngineStanding, AFallAtOkKeepsTheSnapshotOnlyYoungEnoughForTheKill) {
  Start();
  Tick(kStandingWholeNs - 3 * sys::kSecond);  // the start-up's read, 7 s old: a kill accepts it
  long grew_kb = 0;
  for (int k = 0; k < 40; ++k) {  // 5% of memory a second, 50% to 30%: the floor 5-9 s away
    grew_kb += kTotalKb / 200;
    SetAnonKb(kTop, 27 * 1024 + grew_kb);
    SetAvailableKb(kTotalKb / 2 - grew_kb);
    Tick(100 * sys::kMilli);
    ASSERT_EQ(engine_->status()[0].decision.level, pressure::Level::kOk) << k;
    if (k > 0) {
      ASSERT_LE(engine_->status()[0].decision.time_to_exhaustion_ms, 10'000) << k;
    }
  }
  grew_kb = kTotalKb / 2 - kTotalKb / 100;
  SetAnonKb(kTop, 27 * 1024 + grew_kb);
  SetAvailableKb(kTotalKb / 100);
  Tick(100 * sys::kMilli);
  EXPECT_EQ(Killed(), std::vector<pid_t>{kTop}) << KillLine();
  EXPECT_NE(KillLine().find("read=refresh "), std::string::npos) << KillLine();
  EXPECT_GE(Field(KillLine(), "snapshot_age_ms"), 10000) << KillLine();
}

// A process outside the top that grows at warn is read again at the next periodic refresh
// (a rival there), and joins the top: the kill re-reads it with the top, and what it grew is
// already seen (the refreshes' seen growth counts on from the whole read), so no rival is
// left to read at the kill.
TEST_F(EngineStanding, AGrowerAtWarnJoinsTheTopAtTheNextRefresh) {
  StartAtWarn();
  const long used_then_kb = kTotalKb - kTotalKb * 8 / 100;
  SetAnonKb(kFirstPid, 1000 + 200 * 1024);  // 200 MiB more, still at warn
  SetAvailableKb(kTotalKb - used_then_kb - 200 * 1024);
  Tick(sys::kSecond + 10 * sys::kMilli);  // the periodic refresh
  ASSERT_EQ(Killed(), std::vector<pid_t>{});
  SetAnonKb(kFirstPid, 1000 + 1200 * 1024);  // and 1000 MiB more: the kill level
  SetAvailableKb(kTotalKb - used_then_kb - 1200 * 1024);
  Tick();
  EXPECT_EQ(Killed(), std::vector<pid_t>{kFirstPid}) << KillLine();
  EXPECT_NE(KillLine().find("read=refresh "), std::string::npos) << KillLine();
}

// The start-up's whole read counts as a baseline too (a sample is taken before it): a kill
// soon after start, on that read still fresh, keeps the refresh when the growth is the top
// candidate's own. Red before: read=whole_after_refresh (no baseline: the refresh could not
// vouch, and under TCG the whole read cost 90-150 ms in the lab's growers).
TEST_F(EngineStanding, AKillSoonAfterStartCountsFromTheStartUpRead) {
  Start();
  Tick();
  const long grew_kb = kTotalKb / 2 - kTotalKb / 100;
  SetAnonKb(kTop, 27 * 1024 + grew_kb);
  SetAvailableKb(kTotalKb / 100);
  Tick();
  EXPECT_EQ(Killed(), std::vector<pid_t>{kTop}) << KillLine();
  EXPECT_NE(KillLine().find("read=refresh "), std::string::npos) << KillLine();
}

// The growth nobody read: used memory's growth less what the refresh saw, plus what may have
// been filled since the sample, at twice the measured fill rate. Red with the fill taken as
// the fastest hog's 2 GiB/s: 20 MiB for 10 ms, which under TCG (refreshes of 5-10 ms) sent
// every kill beside a few mid-sized processes to a whole read.
TEST(EngineStandingMath, UnseenGrowthIsUsedGrowthLessSeenPlusTheMeasuredFill) {
  constexpr double kMiBd = 1024.0 * 1024.0;
  constexpr std::int64_t kMs = 1'000'000;
  constexpr std::int64_t k100MiB = 100LL << 20;
  // Memory falling at 100 MiB/s, read 10 ms after the sample: 2 MiB of slack.
  EXPECT_NEAR(UnseenGrowthBytes(k100MiB, 0, k100MiB, -100 * kMiBd, 10 * kMs) / kMiBd, 2.0, 0.01);
  // 30 MiB grew where the refresh did not read.
  EXPECT_NEAR(UnseenGrowthBytes(k100MiB, 0, 70LL << 20, 0, 0) / kMiBd, 30.0, 0.01);
  // A flat trend still allows kMinFillBytesPerSecond: 0.64 MiB in 10 ms.
  EXPECT_NEAR(UnseenGrowthBytes(0, 0, 0, 0, 10 * kMs) / kMiBd, 0.64, 0.01);
  // More seen than used grew (a process freed memory meanwhile): nothing unseen.
  EXPECT_EQ(UnseenGrowthBytes(0, k100MiB, 0, 0, 0), 0.0);
}

}  // namespace
}  // namespace reaperd::daemon
