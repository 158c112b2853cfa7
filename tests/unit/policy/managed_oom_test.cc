// ManagedOOMMemoryPressure=kill as systemd-oomd applies it: when it is due (the opted-in
// cgroup's memory.pressure above the limit for the whole duration, with reclaim going on, not
// right after a kill) and which candidate below it dies (avoid last, omit never, an idle one
// never).
#include "policy/managed_oom.h"

#include <gtest/gtest.h>

#include <vector>

#include "policy/snapshot.h"

namespace reaperd::policy {
namespace {

constexpr std::int64_t kSec = 1000LL * 1000 * 1000;

ManagedOomCgroup Slice(std::uint32_t limit_permyriad = 2000, std::int64_t duration = 2 * kSec) {
  return {"/lab.slice/lab-workload.slice", limit_permyriad, duration};
}

TEST(ManagedOomLimit, ScaledLikeSystemdsUnitProperty) {
  // systemctl show lab-workload.slice -p ManagedOOMMemoryPressureLimit, as D-Bus gives it:
  // 20% is 858993459 (UINT32_SCALE_FROM_PERMYRIAD(2000)), 50% is 2147483648.
  EXPECT_EQ(ManagedOomLimitPermyriad(858993459, 6000), 2000u);
  EXPECT_EQ(ManagedOomLimitPermyriad(2147483648u, 6000), 5000u);
  EXPECT_EQ(ManagedOomLimitPermyriad(4294967295u, 6000), 10000u);
  EXPECT_EQ(ManagedOomLimitPermyriad(0, 6000), 6000u);  // not set: the default
}

TEST(ManagedOomTrigger, PressureAboveForTheDurationWithReclaimIsDue) {
  ManagedOomTrigger t;
  const auto s = Slice();
  std::uint64_t pgscan = 1000;
  EXPECT_FALSE(t.Observe(10 * kSec, 35.0, pgscan, s));
  EXPECT_FALSE(t.Observe(11 * kSec, 38.0, pgscan += 500, s));
  EXPECT_TRUE(t.Observe(12 * kSec, 38.5, pgscan += 500, s));
}

TEST(ManagedOomTrigger, ABriefSpikeIsNotDue) {
  ManagedOomTrigger t;
  const auto s = Slice();
  std::uint64_t pgscan = 0;
  for (int i = 0; i < 30; ++i) {
    // Above for 1.5 s of every 3: never the whole 2 s duration.
    const std::int64_t now = 100 * kSec + i * kSec / 2;
    const double avg10 = (i % 6) < 3 ? 80.0 : 5.0;
    EXPECT_FALSE(t.Observe(now, avg10, pgscan += 100, s)) << i;
  }
}

TEST(ManagedOomTrigger, AtOrBelowTheLimitIsNotDue) {
  ManagedOomTrigger t;
  const auto s = Slice(2000);
  std::uint64_t pgscan = 0;
  for (int i = 0; i < 60; ++i) EXPECT_FALSE(t.Observe(i * kSec, 20.0, pgscan += 100, s));
}

TEST(ManagedOomTrigger, NoReclaimActivityIsNotDue) {
  // Pressure without scanning (refaults of a cgroup whose culprit is gone): a kill would not
  // help, as systemd-oomd reasons.
  ManagedOomTrigger t;
  const auto s = Slice();
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(t.Observe(i * kSec, 90.0, 5000, s));
}

TEST(ManagedOomTrigger, AfterAKillWaitsForTheDelayAndAWholeDurationAgain) {
  ManagedOomTrigger t;
  const auto s = Slice(2000, 2 * kSec);
  std::uint64_t pgscan = 0;
  t.Observe(0, 50.0, pgscan += 100, s);
  t.Observe(kSec, 50.0, pgscan += 100, s);
  ASSERT_TRUE(t.Observe(2 * kSec, 50.0, pgscan += 100, s));
  t.NoteKill(2 * kSec);
  std::int64_t now = 2 * kSec;
  // Within the post-kill delay: never due, however high.
  while (now < 2 * kSec + kManagedOomPostKillNs - kSec) {
    now += kSec;
    EXPECT_FALSE(t.Observe(now, 90.0, pgscan += 100, s)) << now / kSec;
  }
  now = 2 * kSec + kManagedOomPostKillNs;  // the delay is over: the duration starts afresh
  EXPECT_FALSE(t.Observe(now, 90.0, pgscan += 100, s));
  EXPECT_FALSE(t.Observe(now + kSec, 90.0, pgscan += 100, s));
  EXPECT_TRUE(t.Observe(now + 2 * kSec, 90.0, pgscan += 100, s));
}

TEST(ManagedOomSelect, TheCandidateScanningMostDies) {
  const std::vector<ManagedOomCandidate> c = {
      {"/w.slice/testchill.service", 0, 200 << 10, 0},
      {"/w.slice/testmunch.service", 9000, 12 << 20, 0},
      {"/w.slice/other.service", 100, 400 << 20, 0},
  };
  EXPECT_EQ(SelectManagedOomVictim(c), 1);
}

TEST(ManagedOomSelect, AvoidOnlyWhenNoOtherIsEligible) {
  std::vector<ManagedOomCandidate> c = {
      {"/w.slice/testbloat.service", 90000, 3 << 20, kOomdAvoid},
      {"/w.slice/testmunch.service", 9000, 12 << 20, 0},
  };
  EXPECT_EQ(SelectManagedOomVictim(c), 1);
  c[1].pgscan_delta = 0;  // the other one scans nothing: not eligible
  EXPECT_EQ(SelectManagedOomVictim(c), 0);
}

TEST(ManagedOomSelect, AStalledChildThatScannedNothingThisSecondBeatsAnAvoidedOne) {
  // The systemd-guest lab (TEST-55, 64 MiB swap full): testmunch, throttled at MemoryHigh,
  // scanned no page in the second before the decision, but stalls; testbloat (avoid) scans.
  std::vector<ManagedOomCandidate> c = {
      {"/w.slice/testbloat.service", 1762, 3 << 20, kOomdAvoid, true},
      {"/w.slice/testmunch.service", 0, 12 << 20, 0, true},
      {"/w.slice/testchill.service", 0, 200 << 10, 0, false},
  };
  EXPECT_EQ(SelectManagedOomVictim(c), 1);
  c[1].stalled = false;  // neither scanning nor stalling: not eligible, the avoided one is left
  EXPECT_EQ(SelectManagedOomVictim(c), 0);
}

TEST(ManagedOomSelect, OmitAndIdleAreNeverChosen) {
  const std::vector<ManagedOomCandidate> c = {
      {"/w.slice/omitted.service", 90000, 1 << 30, kOomdOmit},
      {"/w.slice/idle.service", 0, 1 << 30, 0},
  };
  EXPECT_EQ(SelectManagedOomVictim(c), -1);
  EXPECT_EQ(SelectManagedOomVictim({}), -1);
}

TEST(ManagedOomSelect, TiesGoToTheLargerThenByPathWhateverTheOrder) {
  std::vector<ManagedOomCandidate> c = {
      {"/w/b", 10, 100, 0},
      {"/w/a", 10, 100, 0},
      {"/w/c", 10, 200, 0},
  };
  EXPECT_EQ(SelectManagedOomVictim(c), 2);
  c[2].memory_current = 100;
  EXPECT_EQ(SelectManagedOomVictim(c), 1);
}

}  // namespace
}  // namespace reaperd::policy
