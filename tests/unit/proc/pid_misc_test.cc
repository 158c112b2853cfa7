// Golden tests of statm, oom_score_adj, oom_score, cmdline and cgroup parsing.
#include "proc/pid_misc.h"

#include <gtest/gtest.h>

#include <array>
#include <string_view>

#include "unit/proc/fixture.h"

namespace reaperd::proc {
namespace {

using namespace testing;

constexpr std::string_view kCaptureCgroup =
    "/process_api/f23a496f531af42c86ef3b5f16495f23/reaperd-capture";

TEST(Statm, Captured) {
  auto s = ParseStatm(PidFile(kNormal, "statm"));
  ASSERT_TRUE(s) << s.error().ToString();
  EXPECT_EQ(s->size, 730u);
  EXPECT_EQ(s->resident, 458u);
  EXPECT_EQ(s->shared, 431u);
  EXPECT_EQ(s->text, 5u);
  EXPECT_EQ(s->data, 89u);
  auto t = ParseStatm(PidFile(kThreaded, "statm"));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->size, 58799u);
  EXPECT_EQ(t->resident, 2232u);
  EXPECT_EQ(t->data, 7478u);
  auto z = ParseStatm(PidFile(kZombie, "statm"));  // no mm: all zero
  ASSERT_TRUE(z);
  EXPECT_EQ(z->size, 0u);
  EXPECT_EQ(z->resident, 0u);
}

TEST(Statm, Rejects) {
  EXPECT_EQ(ParseStatm(Fixture("proc/hostile/statm_truncated")).error().code, Errc::kParse);
  EXPECT_EQ(ParseStatm(Fixture("proc/hostile/statm_overflow")).error().code, Errc::kRange);
  EXPECT_EQ(ParseStatm(Fixture("proc/hostile/empty")).error().code, Errc::kParse);
  EXPECT_EQ(ParseStatm(Fixture("proc/hostile/garbage")).error().code, Errc::kParse);
}

TEST(OomScore, Captured) {
  EXPECT_EQ(*ParseOomScoreAdj(PidFile(kNormal, "oom_score_adj")), 0);
  EXPECT_EQ(*ParseOomScoreAdj(PidFile(kAdj500, "oom_score_adj")), 500);
  EXPECT_EQ(*ParseOomScore(PidFile(kNormal, "oom_score")), 666);
  EXPECT_EQ(*ParseOomScore(PidFile(kAdj500, "oom_score")), 999);
  EXPECT_EQ(*ParseOomScore(PidFile(kKthreadd, "oom_score")), 0);
}

TEST(OomScore, RangeAndGarbage) {
  EXPECT_EQ(*ParseOomScoreAdj(Fixture("proc/hostile/oom_score_adj_min")), -1000);
  EXPECT_EQ(ParseOomScoreAdj(Fixture("proc/hostile/oom_score_adj_out_of_range")).error().code,
            Errc::kRange);
  EXPECT_EQ(ParseOomScore(Fixture("proc/hostile/oom_score_out_of_range")).error().code,
            Errc::kRange);
  EXPECT_EQ(ParseOomScore("-1\n").error().code, Errc::kRange);
  EXPECT_EQ(ParseOomScoreAdj(Fixture("proc/hostile/empty")).error().code, Errc::kParse);
  EXPECT_EQ(ParseOomScoreAdj(Fixture("proc/hostile/garbage")).error().code, Errc::kParse);
  EXPECT_EQ(ParseOomScoreAdj("99999999999999999999\n").error().code, Errc::kRange);
}

TEST(Cmdline, JoinsArguments) {
  std::array<char, 256> out{};
  std::size_t n = FormatCmdline(PidFile(kNormal, "cmdline"), out);
  EXPECT_EQ(std::string_view(out.data(), n), "sleep 1000");
  n = FormatCmdline(PidFile(kWeirdComm, "cmdline"), out);
  EXPECT_EQ(std::string_view(out.data(), n),
            "/usr/bin/python3 -c import os, time\nfd = os.open(\"/proc/self/comm\", "
            "os.O_WRONLY)\nos.write(fd, b\"a) b\\n(c) d\")\ntime.sleep(1000)");
  EXPECT_EQ(FormatCmdline(PidFile(kZombie, "cmdline"), out), 0u);
  EXPECT_EQ(FormatCmdline(PidFile(kKthreadd, "cmdline"), out), 0u);
}

TEST(Cmdline, TruncatesAtTheBuffer) {
  std::array<char, 7> out{};
  std::size_t n = FormatCmdline(PidFile(kNormal, "cmdline"), out);
  EXPECT_EQ(std::string_view(out.data(), n), "sleep 1");
  EXPECT_EQ(FormatCmdline(std::string_view("a\0\0b\0\0", 6), out),
            4u);  // inner NULs kept as spaces
  EXPECT_EQ(std::string_view(out.data(), 4), "a  b");
}

TEST(PidCgroup, Captured) {
  auto c = ParsePidCgroup(PidFile(kNormal, "cgroup"));
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_TRUE(c->has_v1_memory);
  EXPECT_EQ(c->v1_memory_path, kCaptureCgroup);
  EXPECT_TRUE(c->has_v2);
  EXPECT_EQ(c->v2_path, "/");
  // A zombie has left its cgroups: the kernel shows it in the roots.
  auto z = ParsePidCgroup(PidFile(kZombie, "cgroup"));
  ASSERT_TRUE(z);
  EXPECT_EQ(z->v1_memory_path, "/");
}

TEST(PidCgroup, Formats) {
  auto v2 = ParsePidCgroup("0::/user.slice/user-1000.slice/session-2.scope\n");
  ASSERT_TRUE(v2);
  EXPECT_TRUE(v2->has_v2);
  EXPECT_FALSE(v2->has_v1_memory);
  EXPECT_EQ(v2->v2_path, "/user.slice/user-1000.slice/session-2.scope");
  auto joined = ParsePidCgroup("3:cpu,memory:/a:b\n");  // co-mounted; ':' inside the path
  ASSERT_TRUE(joined);
  EXPECT_EQ(joined->v1_memory_path, "/a:b");
  auto lookalike = ParsePidCgroup("3:memory_x:/a\n");
  ASSERT_TRUE(lookalike);
  EXPECT_FALSE(lookalike->has_v1_memory);
}

TEST(PidCgroup, Rejects) {
  EXPECT_EQ(ParsePidCgroup(Fixture("proc/hostile/cgroup_truncated")).error().code, Errc::kParse);
  EXPECT_EQ(ParsePidCgroup(Fixture("proc/hostile/empty")).error().code, Errc::kParse);
  EXPECT_EQ(ParsePidCgroup(Fixture("proc/hostile/garbage")).error().code, Errc::kParse);
}

}  // namespace
}  // namespace reaperd::proc
