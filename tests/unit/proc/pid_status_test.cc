// Golden tests of ParsePidStatus; expected values read by hand from the captured files.
#include "proc/pid_status.h"

#include <gtest/gtest.h>

#include <limits>

#include "unit/proc/fixture.h"

namespace reaperd::proc {
namespace {

using namespace testing;

TEST(PidStatus, Normal) {
  auto s = ParsePidStatus(PidFile(kNormal, "status"));
  ASSERT_TRUE(s) << s.error().ToString();
  EXPECT_EQ(s->name, "sleep");
  EXPECT_EQ(s->state, 'S');
  EXPECT_EQ(s->tgid, kNormal);
  EXPECT_EQ(s->ppid, 19618);
  EXPECT_EQ(s->uid_real, 0u);
  EXPECT_EQ(s->uid_effective, 0u);
  EXPECT_EQ(s->threads, 1);
  EXPECT_TRUE(s->has_mm);
  EXPECT_EQ(s->vm_rss, 1832u * 1024);
  EXPECT_EQ(s->rss_anon, 108u * 1024);
  EXPECT_EQ(s->rss_file, 1724u * 1024);
  EXPECT_EQ(s->rss_shmem, 0u);
  EXPECT_EQ(s->vm_swap, 0u);
  EXPECT_EQ(s->vm_pte, 48u * 1024);
}

TEST(PidStatus, NoMmForKernelThreadsAndZombies) {
  auto k = ParsePidStatus(PidFile(kKthreadd, "status"));
  ASSERT_TRUE(k) << k.error().ToString();
  EXPECT_EQ(k->name, "kthreadd");
  EXPECT_EQ(k->tgid, 2);
  EXPECT_EQ(k->ppid, 0);
  EXPECT_FALSE(k->has_mm);
  EXPECT_EQ(k->vm_rss, 0u);

  auto w = ParsePidStatus(PidFile(kKworker, "status"));
  ASSERT_TRUE(w);
  EXPECT_EQ(w->name, "kworker/0:0H-events_highpri");
  EXPECT_EQ(w->state, 'I');
  EXPECT_FALSE(w->has_mm);

  auto z = ParsePidStatus(PidFile(kZombie, "status"));
  ASSERT_TRUE(z) << z.error().ToString();
  EXPECT_EQ(z->state, 'Z');
  EXPECT_EQ(z->ppid, kZombieParent);
  EXPECT_FALSE(z->has_mm);
}

TEST(PidStatus, EscapedNameKeepsItsSpaces) {
  auto s = ParsePidStatus(PidFile(kWeirdComm, "status"));
  ASSERT_TRUE(s) << s.error().ToString();
  EXPECT_EQ(s->name, "a) b\\n(c) d");  // the kernel escapes the newline as backslash-n
  EXPECT_EQ(s->vm_rss, 8128u * 1024);
  EXPECT_EQ(s->rss_anon, 2768u * 1024);
  EXPECT_EQ(s->rss_file, 5360u * 1024);
  EXPECT_EQ(s->vm_pte, 60u * 1024);
}

TEST(PidStatus, MultiThreaded) {
  auto s = ParsePidStatus(PidFile(kThreaded, "status"));
  ASSERT_TRUE(s) << s.error().ToString();
  EXPECT_EQ(s->name, "python3");
  EXPECT_EQ(s->threads, 4);
  EXPECT_EQ(s->vm_rss, 8928u * 1024);
  EXPECT_EQ(s->rss_anon, 3472u * 1024);
  EXPECT_EQ(s->vm_pte, 88u * 1024);
}

TEST(PidStatus, Hostile) {
  auto utf8 = ParsePidStatus(Fixture("proc/hostile/status_name_invalid_utf8"));
  ASSERT_TRUE(utf8) << utf8.error().ToString();
  EXPECT_EQ(utf8->name, "\xff\xfe) x\\n");
  auto huge = ParsePidStatus(Fixture("proc/hostile/status_huge"));
  ASSERT_TRUE(huge) << huge.error().ToString();
  EXPECT_EQ(huge->vm_rss, std::numeric_limits<std::uint64_t>::max());  // saturated kB -> B

  auto code = [](const char* name) {
    return ParsePidStatus(Fixture(std::string("proc/hostile/") + name)).error().code;
  };
  EXPECT_EQ(code("status_no_name"), Errc::kMissing);
  EXPECT_EQ(code("status_no_uid"), Errc::kMissing);
  EXPECT_EQ(code("status_truncated_mid_number"), Errc::kParse);
  EXPECT_EQ(code("empty"), Errc::kParse);
  EXPECT_EQ(code("garbage"), Errc::kParse);
}

}  // namespace
}  // namespace reaperd::proc
