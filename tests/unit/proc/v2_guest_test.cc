// Golden tests on cgroup v2 files captured in the lab VM (tests/fixtures/cgroup/v2-guest/README):
// a 64 MiB child whose hog the memcg OOM killer ended, and the guest's meminfo and PSI.
#include <gtest/gtest.h>

#include "fixture.h"
#include "proc/cgroup_memory.h"
#include "proc/meminfo.h"
#include "proc/psi.h"

namespace reaperd::proc {
namespace {

using testing::Fixture;

std::string Guest(const std::string& f) { return Fixture("cgroup/v2-guest/" + f); }

TEST(V2Guest, MemoryEventsAfterAMemcgOomKill) {
  for (const char* f : {"lab.slice/memory.events", "lab.slice/memory.events.local"}) {
    auto e = ParseMemoryEvents(Guest(f));
    ASSERT_TRUE(e.has_value()) << f;
    EXPECT_EQ(e->low, 0u);
    EXPECT_EQ(e->high, 0u);
    EXPECT_EQ(e->max, 117u);
    EXPECT_EQ(e->oom, 1u);
    EXPECT_EQ(e->oom_kill, 1u);
    EXPECT_EQ(e->oom_group_kill, 0u);
  }
}

TEST(V2Guest, LimitsAndUsage) {
  EXPECT_EQ(ParseCgroupValue(Guest("lab.slice/memory.max")).value(), 67108864u);
  EXPECT_EQ(ParseCgroupValue(Guest("lab.slice/memory.high")).value(), 50331648u);
  EXPECT_EQ(ParseCgroupValue(Guest("lab.slice/memory.current")).value(), 9068544u);
  EXPECT_EQ(ParseCgroupValue(Guest("lab.slice/memory.swap.max")).value(), kUnlimited);
  EXPECT_EQ(ParseCgroupValue(Guest("lab.slice/memory.swap.current")).value(), 0u);
  EXPECT_EQ(ParseCgroupValue(Guest("lab.slice/memory.oom.group")).value(), 0u);
}

TEST(V2Guest, MemoryStat) {
  auto s = ParseMemoryStatV2(Guest("lab.slice/memory.stat"));
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->anon, 8454144u);
  EXPECT_EQ(s->file, 528384u);
  EXPECT_EQ(s->kernel, 86016u);
  EXPECT_EQ(s->shmem, 0u);
  EXPECT_EQ(s->file_mapped, 253952u);
  EXPECT_EQ(s->inactive_file, 524288u);
  EXPECT_EQ(s->active_file, 4096u);
  EXPECT_EQ(s->slab_reclaimable, 6872u);
  EXPECT_EQ(s->workingset_refault_anon, 0u);
  EXPECT_EQ(s->workingset_refault_file, 380u);
  EXPECT_EQ(s->pgscan, 1189u);
  EXPECT_EQ(s->pgsteal, 474u);
  EXPECT_EQ(s->pgmajfault, 25u);
  // The root cgroup's memory.stat parses too (it has more keys).
  EXPECT_TRUE(ParseMemoryStatV2(Guest("memory.stat")).has_value());
}

TEST(V2Guest, CgroupAndSystemPsi) {
  auto cg = ParsePsi(Guest("lab.slice/memory.pressure"));
  ASSERT_TRUE(cg.has_value());
  EXPECT_DOUBLE_EQ(cg->some.avg10, 0.44);
  EXPECT_DOUBLE_EQ(cg->some.avg60, 0.09);
  EXPECT_DOUBLE_EQ(cg->some.avg300, 0.02);
  EXPECT_EQ(cg->some.total_us, 68921u);
  ASSERT_TRUE(cg->has_full);
  EXPECT_EQ(cg->full.total_us, 68921u);
  auto sys = ParsePsi(Guest("proc/pressure/memory"));
  ASSERT_TRUE(sys.has_value());
  EXPECT_DOUBLE_EQ(sys->some.avg10, 0.36);
  EXPECT_EQ(sys->some.total_us, 64563u);
  EXPECT_EQ(sys->full.total_us, 56542u);
}

TEST(V2Guest, Meminfo) {
  auto m = ParseMemInfo(Guest("proc/meminfo"));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->mem_total, 480016u * 1024);
  EXPECT_EQ(m->mem_free, 435304u * 1024);
  EXPECT_EQ(m->mem_available, 440168u * 1024);
  EXPECT_EQ(m->swap_total, 0u);
  EXPECT_TRUE(m->has_mem_available);
}

}  // namespace
}  // namespace reaperd::proc
