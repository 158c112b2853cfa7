// Golden tests of ParsePidStat; expected values read by hand from the captured stat files.
#include "proc/pid_stat.h"

#include <gtest/gtest.h>

#include <limits>

#include "unit/proc/fixture.h"

namespace reaperd::proc {
namespace {

using namespace testing;

TEST(PidStat, Normal) {
  auto s = ParsePidStat(PidFile(kNormal, "stat"));
  ASSERT_TRUE(s) << s.error().ToString();
  EXPECT_EQ(s->pid, kNormal);
  EXPECT_EQ(s->comm, "sleep");
  EXPECT_EQ(s->state, 'S');
  EXPECT_EQ(s->ppid, 19618);
  EXPECT_EQ(s->pgrp, 19574);
  EXPECT_EQ(s->session, 3106);
  EXPECT_EQ(s->flags, 4194304u);
  EXPECT_EQ(s->flags & kPfKthread, 0u);
  EXPECT_EQ(s->num_threads, 1);
  EXPECT_EQ(s->starttime, 49126u);
  EXPECT_EQ(s->vsize, 2990080u);
  EXPECT_EQ(s->rss_pages, 415);
}

TEST(PidStat, KernelThreads) {
  auto k = ParsePidStat(PidFile(kKthreadd, "stat"));
  ASSERT_TRUE(k) << k.error().ToString();
  EXPECT_EQ(k->comm, "kthreadd");
  EXPECT_EQ(k->ppid, 0);
  EXPECT_EQ(k->flags, 2129984u);
  EXPECT_NE(k->flags & kPfKthread, 0u);
  EXPECT_EQ(k->starttime, 6u);
  EXPECT_EQ(k->vsize, 0u);
  EXPECT_EQ(k->rss_pages, 0);

  // A kworker's name is longer than TASK_COMM_LEN: it is kept whole (it fits in 64).
  auto w = ParsePidStat(PidFile(kKworker, "stat"));
  ASSERT_TRUE(w) << w.error().ToString();
  EXPECT_EQ(w->comm, "kworker/0:0H-events_highpri");
  EXPECT_FALSE(w->comm.truncated());
  EXPECT_EQ(w->state, 'I');
  EXPECT_EQ(w->ppid, 2);
  EXPECT_EQ(w->flags, 69238880u);
  EXPECT_NE(w->flags & kPfKthread, 0u);
}

TEST(PidStat, Zombie) {
  auto z = ParsePidStat(PidFile(kZombie, "stat"));
  ASSERT_TRUE(z) << z.error().ToString();
  EXPECT_EQ(z->state, 'Z');
  EXPECT_EQ(z->ppid, kZombieParent);
  EXPECT_EQ(z->flags, 4227084u);
  EXPECT_NE(z->flags & kPfExiting, 0u);
  EXPECT_EQ(z->vsize, 0u);
  EXPECT_EQ(z->rss_pages, 0);
  EXPECT_EQ(z->starttime, 49134u);
}

TEST(PidStat, CommWithParenSpaceNewline) {
  auto s = ParsePidStat(PidFile(kWeirdComm, "stat"));
  ASSERT_TRUE(s) << s.error().ToString();
  EXPECT_EQ(s->comm, "a) b\n(c) d");
  EXPECT_EQ(s->state, 'S');
  EXPECT_EQ(s->ppid, 19618);
  EXPECT_EQ(s->vsize, 14286848u);
  EXPECT_EQ(s->rss_pages, 1996);
}

TEST(PidStat, MultiThreadedAndAdjusted) {
  auto t = ParsePidStat(PidFile(kThreaded, "stat"));
  ASSERT_TRUE(t) << t.error().ToString();
  EXPECT_EQ(t->comm, "python3");
  EXPECT_EQ(t->num_threads, 4);
  EXPECT_EQ(t->vsize, 240840704u);
  EXPECT_EQ(t->rss_pages, 2201);
  auto a = ParsePidStat(PidFile(kAdj500, "stat"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->rss_pages, 419);
}

TEST(PidStat, HostileComms) {
  auto utf8 = ParsePidStat(Fixture("proc/hostile/stat_comm_invalid_utf8"));
  ASSERT_TRUE(utf8) << utf8.error().ToString();
  EXPECT_EQ(utf8->comm, "\xff) (\xfe\nx");
  EXPECT_EQ(utf8->state, 'S');
  EXPECT_EQ(utf8->starttime, 49126u);

  auto parens = ParsePidStat(Fixture("proc/hostile/stat_comm_parens"));
  ASSERT_TRUE(parens) << parens.error().ToString();
  EXPECT_EQ(parens->comm, ") ) (( )");
  EXPECT_EQ(parens->ppid, 19618);

  auto longer = ParsePidStat(Fixture("proc/hostile/stat_comm_long"));
  ASSERT_TRUE(longer);
  EXPECT_TRUE(longer->comm.truncated());
  EXPECT_EQ(longer->comm.size(), 64u);
  EXPECT_EQ(longer->rss_pages, 415);
}

TEST(PidStat, HugeValuesFit) {
  auto s = ParsePidStat(Fixture("proc/hostile/stat_huge"));
  ASSERT_TRUE(s) << s.error().ToString();
  EXPECT_EQ(s->starttime, std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(s->vsize, std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(s->rss_pages, std::numeric_limits<std::int64_t>::max());
}

// The state alone agrees with the whole parse on every capture, comms with ") " inside
// included, and a line without a state is refused.
TEST(PidStatState, AgreesWithTheWholeParse) {
  for (const std::string& text :
       {PidFile(kNormal, "stat"), PidFile(kKthreadd, "stat"), PidFile(kZombie, "stat"),
        PidFile(kWeirdComm, "stat"), PidFile(kThreaded, "stat"),
        Fixture("proc/hostile/stat_comm_invalid_utf8"), Fixture("proc/hostile/stat_comm_parens")}) {
    auto whole = ParsePidStat(text);
    auto state = ParsePidStatState(text);
    ASSERT_TRUE(whole && state) << text;
    EXPECT_EQ(*state, whole->state) << text;
  }
  EXPECT_EQ(ParsePidStatState(Fixture("proc/hostile/stat_bad_state")).error().code, Errc::kParse);
  EXPECT_EQ(ParsePidStatState(Fixture("proc/hostile/stat_truncated_in_comm")).error().code,
            Errc::kParse);
  EXPECT_EQ(ParsePidStatState("1 (x) D").error().code, Errc::kParse);
  EXPECT_EQ(*ParsePidStatState("1 (x) D 0"), 'D');
}

TEST(PidStat, Rejects) {
  auto code = [](const char* name) {
    return ParsePidStat(Fixture(std::string("proc/hostile/") + name)).error().code;
  };
  EXPECT_EQ(code("stat_truncated_mid_line"), Errc::kParse);
  EXPECT_EQ(code("stat_truncated_mid_number"), Errc::kParse);
  EXPECT_EQ(code("stat_truncated_in_comm"), Errc::kParse);
  EXPECT_EQ(code("stat_overflow"), Errc::kRange);
  EXPECT_EQ(code("stat_flags_overflow"), Errc::kRange);
  EXPECT_EQ(code("stat_bad_state"), Errc::kParse);
  EXPECT_EQ(code("stat_word_in_field"), Errc::kParse);
  EXPECT_EQ(code("empty"), Errc::kParse);
  EXPECT_EQ(code("garbage"), Errc::kParse);
  EXPECT_FALSE(ParsePidStat(PidFile(kNormal, "status")));
}

}  // namespace
}  // namespace reaperd::proc
