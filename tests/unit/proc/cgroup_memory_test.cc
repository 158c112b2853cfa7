// Golden tests of the cgroup memory parsers: v1 on the captured host-v1 tree, v2 on the
// v2-docs tree (format from the kernel docs, to be replaced by a capture: cgroup/v2-guest).
#include "proc/cgroup_memory.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "unit/proc/fixture.h"

namespace reaperd::proc {
namespace {

using testing::Fixture;

TEST(CgroupValue, CapturedV1) {
  EXPECT_EQ(*ParseCgroupValue(Fixture("cgroup/host-v1/reaperd-capture/memory.limit_in_bytes")),
            134217728u);
  EXPECT_EQ(*ParseCgroupValue(Fixture("cgroup/host-v1/reaperd-capture/memory.usage_in_bytes")),
            7770112u);
  // The unlimited root: 9223372036854771712 in the file.
  EXPECT_EQ(*ParseCgroupValue(Fixture("cgroup/host-v1/memory.limit_in_bytes")), kUnlimited);
  EXPECT_EQ(*ParseCgroupValue(Fixture("cgroup/host-v1/memory.usage_in_bytes")), 21184512u);
}

TEST(CgroupValue, V2Docs) {
  EXPECT_EQ(*ParseCgroupValue(Fixture("cgroup/v2-docs/reaperd-capture/memory.high")), kUnlimited);
  EXPECT_EQ(*ParseCgroupValue(Fixture("cgroup/v2-docs/reaperd-capture/memory.max")), 134217728u);
  EXPECT_EQ(*ParseCgroupValue(Fixture("cgroup/v2-docs/reaperd-capture/memory.current")), 7770112u);
}

TEST(CgroupValue, Hostile) {
  EXPECT_EQ(*ParseCgroupValue(Fixture("cgroup/hostile/limit_u64_max")), kUnlimited);
  EXPECT_EQ(ParseCgroupValue(Fixture("cgroup/hostile/limit_overflow")).error().code, Errc::kRange);
  EXPECT_EQ(ParseCgroupValue(Fixture("cgroup/hostile/empty")).error().code, Errc::kParse);
  EXPECT_EQ(ParseCgroupValue(Fixture("cgroup/hostile/garbage")).error().code, Errc::kParse);
  EXPECT_EQ(ParseCgroupValue("-1\n").error().code, Errc::kRange);
}

TEST(MemoryStatV1, Captured) {
  auto child = ParseMemoryStatV1(Fixture("cgroup/host-v1/reaperd-capture/memory.stat"));
  ASSERT_TRUE(child) << child.error().ToString();
  EXPECT_EQ(child->cache, 0u);
  EXPECT_EQ(child->rss, 6836224u);
  EXPECT_EQ(child->total_rss, 6836224u);
  EXPECT_EQ(child->total_cache, 0u);
  EXPECT_EQ(child->hierarchical_memory_limit, 134217728u);

  auto root = ParseMemoryStatV1(Fixture("cgroup/host-v1/memory.stat"));
  ASSERT_TRUE(root) << root.error().ToString();
  EXPECT_EQ(root->cache, 622592u);
  EXPECT_EQ(root->rss, 2945024u);
  EXPECT_EQ(root->shmem, 0u);
  EXPECT_EQ(root->total_cache, 8093696u);
  EXPECT_EQ(root->total_rss, 9781248u);  // its own rss plus the child's 6836224
  EXPECT_EQ(root->total_active_file, 4227072u);
  EXPECT_EQ(root->total_inactive_file, 3866624u);
  EXPECT_EQ(root->total_pgmajfault, 5u);
  EXPECT_EQ(root->hierarchical_memory_limit, kUnlimited);
}

TEST(MemoryStatV1, Hostile) {
  auto huge = ParseMemoryStatV1(Fixture("cgroup/hostile/memory.stat_huge"));
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->total_rss, std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(ParseMemoryStatV1(Fixture("cgroup/hostile/memory.stat_no_rss")).error().code,
            Errc::kMissing);
  EXPECT_EQ(
      ParseMemoryStatV1(Fixture("cgroup/hostile/memory.stat_truncated_mid_line")).error().code,
      Errc::kParse);
  EXPECT_EQ(ParseMemoryStatV1(Fixture("cgroup/hostile/empty")).error().code, Errc::kParse);
  EXPECT_EQ(ParseMemoryStatV1(Fixture("cgroup/hostile/garbage")).error().code, Errc::kParse);
}

// The sampler's two counters, found by key: the same figures as the whole parse, on every
// capture, and nothing taken from a line whose key only ends like theirs.
TEST(MemoryStatFileLru, AgreesWithTheWholeParse) {
  for (const char* f :
       {"cgroup/host-v1/memory.stat", "cgroup/host-v1/reaperd-capture/memory.stat"}) {
    auto whole = ParseMemoryStatV1(Fixture(f));
    auto lru = ParseMemoryStatFileLru(Fixture(f), true);
    ASSERT_TRUE(whole && lru) << f;
    EXPECT_EQ(lru->inactive, whole->total_inactive_file) << f;
    EXPECT_EQ(lru->active, whole->total_active_file) << f;
  }
  for (const char* f :
       {"cgroup/v2-guest/lab.slice/memory.stat", "cgroup/v2-docs/reaperd-capture/memory.stat"}) {
    auto whole = ParseMemoryStatV2(Fixture(f));
    auto lru = ParseMemoryStatFileLru(Fixture(f), false);
    ASSERT_TRUE(whole && lru) << f;
    EXPECT_EQ(lru->inactive, whole->inactive_file) << f;
    EXPECT_EQ(lru->active, whole->active_file) << f;
  }
  // The key on the first line; "active_file" inside "inactive_file" is not it.
  auto first = ParseMemoryStatFileLru("inactive_file 7\nactive_file 3\n", false);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->inactive, 7u);
  EXPECT_EQ(first->active, 3u);
  EXPECT_EQ(ParseMemoryStatFileLru("inactive_file 7\n", false).error().code, Errc::kMissing);
  // v1: the cgroup's own counters are not the hierarchy's.
  EXPECT_EQ(ParseMemoryStatFileLru("inactive_file 7\nactive_file 3\n", true).error().code,
            Errc::kMissing);
}

TEST(MemoryStatFileLru, Hostile) {
  EXPECT_EQ(ParseMemoryStatFileLru(Fixture("cgroup/hostile/empty"), true).error().code,
            Errc::kMissing);
  EXPECT_EQ(ParseMemoryStatFileLru(Fixture("cgroup/hostile/garbage"), false).error().code,
            Errc::kMissing);
  EXPECT_EQ(ParseMemoryStatFileLru("inactive_file 12x\nactive_file 3\n", false).error().code,
            Errc::kParse);
  EXPECT_EQ(ParseMemoryStatFileLru("inactive_file 99999999999999999999999\nactive_file 3\n", false)
                .error()
                .code,
            Errc::kRange);
}

TEST(OomControl, Captured) {
  // The capture's hog was killed by the memcg OOM killer in the child, once.
  auto child = ParseOomControl(Fixture("cgroup/host-v1/reaperd-capture/memory.oom_control"));
  ASSERT_TRUE(child) << child.error().ToString();
  EXPECT_FALSE(child->oom_kill_disable);
  EXPECT_FALSE(child->under_oom);
  EXPECT_EQ(child->oom_kill, 1u);
  auto root = ParseOomControl(Fixture("cgroup/host-v1/memory.oom_control"));
  ASSERT_TRUE(root);
  EXPECT_EQ(root->oom_kill, 0u);
  auto before_4_13 = ParseOomControl("oom_kill_disable 1\nunder_oom 1\n");
  ASSERT_TRUE(before_4_13);
  EXPECT_TRUE(before_4_13->oom_kill_disable);
  EXPECT_TRUE(before_4_13->under_oom);
  EXPECT_EQ(before_4_13->oom_kill, 0u);
}

TEST(OomControl, Hostile) {
  EXPECT_EQ(ParseOomControl(Fixture("cgroup/hostile/oom_control_bad_bool")).error().code,
            Errc::kRange);
  EXPECT_EQ(ParseOomControl(Fixture("cgroup/hostile/oom_control_truncated")).error().code,
            Errc::kParse);
  EXPECT_EQ(ParseOomControl(Fixture("cgroup/hostile/empty")).error().code, Errc::kParse);
}

TEST(MemoryEvents, V2Docs) {
  auto e = ParseMemoryEvents(Fixture("cgroup/v2-docs/reaperd-capture/memory.events"));
  ASSERT_TRUE(e) << e.error().ToString();
  EXPECT_EQ(e->oom, 1u);
  EXPECT_EQ(e->oom_kill, 1u);
  EXPECT_EQ(e->oom_group_kill, 0u);
  EXPECT_EQ(e->max, 0u);
  EXPECT_TRUE(ParseMemoryEvents(Fixture("cgroup/v2-docs/reaperd-capture/memory.events.local")));
}

TEST(MemoryEvents, EachKeyLandsInItsField) {
  auto e = ParseMemoryEvents("low 1\nhigh 2\nmax 3\noom 4\noom_kill 5\noom_group_kill 6\nnew 7\n");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->low, 1u);
  EXPECT_EQ(e->high, 2u);
  EXPECT_EQ(e->max, 3u);
  EXPECT_EQ(e->oom, 4u);
  EXPECT_EQ(e->oom_kill, 5u);
  EXPECT_EQ(e->oom_group_kill, 6u);
  EXPECT_EQ(ParseMemoryEvents("low 0\nhigh 0\n").error().code, Errc::kMissing);
  EXPECT_EQ(ParseMemoryEvents("low 0\noom_kill\n").error().code, Errc::kParse);
  EXPECT_EQ(ParseMemoryEvents(Fixture("cgroup/hostile/garbage")).error().code, Errc::kParse);
}

TEST(MemoryStatV2, V2Docs) {
  auto s = ParseMemoryStatV2(Fixture("cgroup/v2-docs/reaperd-capture/memory.stat"));
  ASSERT_TRUE(s) << s.error().ToString();
  EXPECT_EQ(s->anon, 6836224u);  // v1 rss of the same capture
  EXPECT_EQ(s->file, 0u);
  EXPECT_EQ(s->pgmajfault, 0u);
}

TEST(MemoryStatV2, EachKeyLandsInItsField) {
  // Every key of the documented list, with its position as its value, so a key wired to
  // the wrong field shows up.
  const char* keys[] = {"anon",
                        "file",
                        "kernel",
                        "shmem",
                        "sock",
                        "file_mapped",
                        "active_file",
                        "inactive_file",
                        "slab_reclaimable",
                        "workingset_refault_anon",
                        "workingset_refault_file",
                        "pgscan",
                        "pgsteal",
                        "pgmajfault"};
  std::string text = "kernel_stack 99\n";
  std::uint64_t value = 1;
  for (const char* k : keys) text += std::string(k) + " " + std::to_string(value++) + "\n";
  auto s = ParseMemoryStatV2(text);
  ASSERT_TRUE(s) << s.error().ToString();
  const std::uint64_t got[] = {s->anon,
                               s->file,
                               s->kernel,
                               s->shmem,
                               s->sock,
                               s->file_mapped,
                               s->active_file,
                               s->inactive_file,
                               s->slab_reclaimable,
                               s->workingset_refault_anon,
                               s->workingset_refault_file,
                               s->pgscan,
                               s->pgsteal,
                               s->pgmajfault};
  for (std::size_t i = 0; i < std::size(got); ++i) EXPECT_EQ(got[i], i + 1) << keys[i];
  EXPECT_EQ(ParseMemoryStatV2("kernel 5\n").error().code, Errc::kMissing);
  EXPECT_EQ(ParseMemoryStatV2(Fixture("cgroup/hostile/empty")).error().code, Errc::kParse);
}

}  // namespace
}  // namespace reaperd::proc
