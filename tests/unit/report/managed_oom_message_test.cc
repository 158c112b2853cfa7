// The managed-oom request's payload: the records are systemd's io.systemd.ManagedOOM
// ControlGroup records (src/core/core-varlink.c: mode, path, property, limit scaled to
// UINT32_MAX), here as reaperd-managed-oom builds them from the unit properties of TEST-55's
// workload slice (ManagedOOMMemoryPressureLimit=20% is 858993459 on D-Bus) and of Debian's
// user@.service drop-in of systemd-oomd (50%).
#include "report/managed_oom_message.h"

#include <gtest/gtest.h>

#include <string>

namespace reaperd::report {
namespace {

constexpr std::int64_t kSec = 1000LL * 1000 * 1000;

TEST(ManagedOomMessage, SystemdsRecordsGiveTheTable) {
  auto t = ParseManagedOomMessage(
      R"({"cgroups":[)"
      R"({"mode":"kill","path":"/lab.slice/lab-workload.slice","property":"ManagedOOMMemoryPressure","limit":858993459},)"
      R"({"mode":"kill","path":"/user.slice/user-1000.slice/user@1000.service","property":"ManagedOOMMemoryPressure","limit":2147483648},)"
      R"({"mode":"kill","path":"/system.slice","property":"ManagedOOMMemoryPressure","limit":0,"duration":2000000}],)"
      R"("defaultMemoryPressureLimit":6000,"defaultMemoryPressureDurationUSec":30000000})");
  ASSERT_TRUE(t) << t.error().ToString();
  ASSERT_EQ(t->cgroups.size(), 3u);
  EXPECT_EQ(t->skipped, 0);
  EXPECT_EQ(t->cgroups[0],
            (policy::ManagedOomCgroup{"/lab.slice/lab-workload.slice", 2000, 30 * kSec}));
  EXPECT_EQ(t->cgroups[1].limit_permyriad, 5000u);
  EXPECT_EQ(t->cgroups[2].limit_permyriad, 6000u);  // 0: oomd.conf's default
  EXPECT_EQ(t->cgroups[2].duration_ns, 2 * kSec);   // systemd 257's per-unit duration
}

TEST(ManagedOomMessage, OomdConfDefaultsApply) {
  // A drop-in such as TEST-55's (DefaultMemoryPressureDurationSec=2s), no limit on the unit.
  auto t = ParseManagedOomMessage(
      R"({"cgroups":[{"mode":"kill","path":"/w.slice","property":"ManagedOOMMemoryPressure"}],)"
      R"("defaultMemoryPressureLimit":4000,"defaultMemoryPressureDurationUSec":2000000})");
  ASSERT_TRUE(t);
  ASSERT_EQ(t->cgroups.size(), 1u);
  EXPECT_EQ(t->cgroups[0].limit_permyriad, 4000u);
  EXPECT_EQ(t->cgroups[0].duration_ns, 2 * kSec);
  // Without defaults: systemd-oomd's own, 60% and 30 s.
  t = ParseManagedOomMessage(
      R"({"cgroups":[{"mode":"kill","path":"/w.slice","property":"ManagedOOMMemoryPressure"}]})");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->cgroups[0].limit_permyriad, 6000u);
  EXPECT_EQ(t->cgroups[0].duration_ns, 30 * kSec);
}

TEST(ManagedOomMessage, OtherRecordsAreSkippedAndCounted) {
  auto t = ParseManagedOomMessage(
      R"({"cgroups":[)"
      R"({"mode":"kill","path":"/a.slice","property":"ManagedOOMSwap"},)"
      R"({"mode":"auto","path":"/b.slice","property":"ManagedOOMMemoryPressure"},)"
      R"({"mode":"kill","path":"/../etc","property":"ManagedOOMMemoryPressure"},)"
      R"({"mode":"kill","path":"relative","property":"ManagedOOMMemoryPressure"},)"
      R"({"mode":"kill","path":"/","property":"ManagedOOMMemoryPressure"},)"
      R"({"mode":"kill","path":"/c.slice","property":"ManagedOOMMemoryPressure","limit":-1},)"
      R"({"mode":"kill","path":"/d.slice","property":"ManagedOOMMemoryPressure","limit":99999999999},)"
      R"(7,)"
      R"({"mode":"kill","path":"/e.slice//f.slice/","property":"ManagedOOMMemoryPressure"}]})");
  ASSERT_TRUE(t);
  ASSERT_EQ(t->cgroups.size(), 1u);
  EXPECT_EQ(t->cgroups[0].path, "/e.slice/f.slice");
  EXPECT_EQ(t->skipped, 8);
}

TEST(ManagedOomMessage, BadInputIsAClearError) {
  for (const char* bad : {"", "{", "[]", R"({"cgroups":{}})", R"({"x":[]})",
                          R"({"cgroups":[],"defaultMemoryPressureLimit":10001})",
                          R"({"cgroups":[],"defaultMemoryPressureDurationUSec":-5})"}) {
    auto t = ParseManagedOomMessage(bad);
    ASSERT_FALSE(t) << bad;
    EXPECT_EQ(t.error().code, Errc::kInvalid) << bad;
  }
  std::string many = R"({"cgroups":[)";
  for (int i = 0; i < 65; ++i) {
    if (i > 0) many += ',';
    many += R"({"mode":"kill","property":"ManagedOOMMemoryPressure","path":"/s)" +
            std::to_string(i) + R"("})";
  }
  many += "]}";
  EXPECT_FALSE(ParseManagedOomMessage(many));
  EXPECT_TRUE(ParseManagedOomMessage(R"({"cgroups":[]})"));  // nothing opted in
}

}  // namespace
}  // namespace reaperd::report
