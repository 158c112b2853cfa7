#include "kill/last_resort.h"

#include <gtest/gtest.h>

#include "unit/kill/fakes.h"

namespace reaperd::kill {
namespace {

ScopeKey Cgroup(std::string_view path) {
  ScopeKey k;
  k.kind = policy::ScopeKind::kCgroup;
  k.cgroup.Assign(path);
  return k;
}

TEST(LastResortLadder, FiresAfterConfiguredMissesInARow) {
  config::KillConfig cfg;
  cfg.last_resort = config::LastResort::kKernelOom;
  cfg.last_resort_after_misses = 3;
  testing::FakeSysrq sysrq;
  LastResortLadder ladder(cfg, sysrq);
  ScopeKey a = Cgroup("/a");
  EXPECT_EQ(ladder.NoteMiss(a), config::LastResort::kNone);
  EXPECT_EQ(ladder.NoteMiss(a), config::LastResort::kNone);
  auto fire = ladder.NoteMiss(a);
  EXPECT_EQ(fire, config::LastResort::kKernelOom);
  ASSERT_TRUE(ladder.Fire(fire));
  EXPECT_EQ(sysrq.Commands(), std::vector<char>{'f'});
  EXPECT_EQ(ladder.misses(a), 0);
}

TEST(LastResortLadder, SuccessEndsTheRunAndScopesCountApart) {
  config::KillConfig cfg;
  cfg.last_resort_after_misses = 2;
  testing::FakeSysrq sysrq;
  LastResortLadder ladder(cfg, sysrq);
  ScopeKey a = Cgroup("/a"), b = Cgroup("/b");
  ladder.NoteMiss(a);
  ladder.NoteSuccess(a);
  EXPECT_EQ(ladder.NoteMiss(a), config::LastResort::kNone);
  EXPECT_EQ(ladder.NoteMiss(b), config::LastResort::kNone);
  EXPECT_EQ(ladder.misses(a), 1);
  EXPECT_EQ(ladder.misses(b), 1);
}

TEST(LastResortLadder, NoneNeverFiresAndPanicRebootMapToSysrq) {
  config::KillConfig cfg;
  cfg.last_resort = config::LastResort::kNone;
  cfg.last_resort_after_misses = 1;
  testing::FakeSysrq sysrq;
  LastResortLadder ladder(cfg, sysrq);
  EXPECT_EQ(ladder.NoteMiss(Cgroup("/a")), config::LastResort::kNone);
  EXPECT_TRUE(ladder.Fire(config::LastResort::kNone));
  EXPECT_TRUE(sysrq.Commands().empty());
  EXPECT_EQ(SysrqCommand(config::LastResort::kPanic), 'c');
  EXPECT_EQ(SysrqCommand(config::LastResort::kReboot), 'b');
}

TEST(SkipList, AddContainsRemoveAndBound) {
  SkipList s(2);
  EXPECT_TRUE(s.Add({10, 1}));
  EXPECT_TRUE(s.Add({10, 1}));  // once only
  EXPECT_TRUE(s.Add({11, 2}));
  EXPECT_FALSE(s.Add({12, 3}));
  EXPECT_TRUE(s.Contains({10, 1}));
  EXPECT_FALSE(s.Contains({10, 2}));  // same PID, another process
  s.Remove({10, 1});
  std::vector<policy::ProcessId> out;
  s.CopyTo(out);
  EXPECT_EQ(out, (std::vector<policy::ProcessId>{{11, 2}}));
}

}  // namespace
}  // namespace reaperd::kill
