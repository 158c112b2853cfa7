// What reaperd-bus publishes for each event of the daemon's stream: LowMemoryWarning 50 / 100
// / 255 on the way up through warn / reclaim / kill (100 left to the reclaim chain's `event`
// step when the daemon says it has one), the chain's warning at its level, and a Killed
// notice for every kill; nothing for the rest.
#include "bus/bus_events.h"

#include <gtest/gtest.h>

namespace reaperd::bus {
namespace {

using nlohmann::json;

json Level(const char* from, const char* to, bool warning_step = false) {
  return {{"event", "level"},
          {"scope", "system"},
          {"from", from},
          {"to", to},
          {"warning_step", warning_step}};
}

TEST(BusEventsTest, LevelsGoingUpWarnWithTheApisValues) {
  EXPECT_EQ(Translate(Level("ok", "warn")).warning, 50);
  EXPECT_EQ(Translate(Level("warn", "reclaim")).warning, 100);
  EXPECT_EQ(Translate(Level("ok", "kill")).warning, 255);
  EXPECT_EQ(Translate(Level("ok", "warn")).scope, "system");
}

TEST(BusEventsTest, LevelsGoingDownSayNothing) {
  EXPECT_FALSE(Translate(Level("kill", "reclaim")).warning);
  EXPECT_FALSE(Translate(Level("warn", "ok")).warning);
}

TEST(BusEventsTest, ReclaimWarningIsTheChainsStepWhenItHasOne) {
  EXPECT_FALSE(Translate(Level("warn", "reclaim", true)).warning);
  EXPECT_EQ(Translate(Level("ok", "warn", true)).warning, 50);
  const json step = {{"event", "warning"}, {"scope", "cgroup:/a"}, {"level", "reclaim"}};
  EXPECT_EQ(Translate(step).warning, 100);
  EXPECT_EQ(Translate(step).scope, "cgroup:/a");
}

TEST(BusEventsTest, KillBecomesAKilledNotice) {
  const json kill = {{"event", "kill"},           {"scope", "cgroup:/u"},  {"pid", 42},
                     {"comm", "leaker"},          {"uid", 1000},           {"rss_bytes", 123456789},
                     {"container", "docker:abc"}, {"outcome", "signalled"}};
  const BusAction a = Translate(kill);
  ASSERT_TRUE(a.killed);
  EXPECT_FALSE(a.warning);
  EXPECT_EQ(a.killed->scope, "cgroup:/u");
  EXPECT_EQ(a.killed->pid, 42u);
  EXPECT_EQ(a.killed->comm, "leaker");
  EXPECT_EQ(a.killed->uid, 1000u);
  EXPECT_EQ(a.killed->rss_bytes, 123456789u);
  EXPECT_EQ(a.killed->container, "docker:abc");
  EXPECT_EQ(a.killed->outcome, "signalled");
  // No container: an empty string on the bus.
  json bare = kill;
  bare.erase("container");
  EXPECT_EQ(Translate(bare).killed->container, "");
}

TEST(BusEventsTest, OtherEventsAndGarbagePublishNothing) {
  for (const json& e : {json{{"event", "reclaim_step"}, {"step", "x"}},
                        json{{"event", "kill_result"}}, json{{"event", "lost"}, {"count", 3}},
                        json{{"event", "subscribed"}}, json("not an object"), json()}) {
    const BusAction a = Translate(e);
    EXPECT_FALSE(a.warning) << e.dump();
    EXPECT_FALSE(a.killed) << e.dump();
  }
}

TEST(BusEventsTest, SessionBusPathPutsTheUidInTheTemplate) {
  EXPECT_EQ(SessionBusPath("/run/user/%u/bus", 1000), "/run/user/1000/bus");
  EXPECT_EQ(SessionBusPath("/t/%u/%u", 7), "/t/7/7");
  EXPECT_EQ(SessionBusPath("/no/uid/here%", 7), "/no/uid/here%");
}

TEST(BusEventsTest, NoticeNamesTheProgramItsSizeAndWhere) {
  KillNotice k;
  k.scope = "cgroup:/user.slice/user-1000.slice";
  k.pid = 4242;
  k.comm = "firefox";
  k.uid = 1000;
  k.rss_bytes = 1536ULL << 20;
  EXPECT_EQ(NoticeSummary(k), "firefox was stopped: out of memory");
  EXPECT_EQ(NoticeBody(k),
            "firefox (pid 4242) was using 1536 MiB when memory ran out "
            "(cgroup:/user.slice/user-1000.slice). reaperd stopped it to keep the system "
            "responsive.");
  k.container = "docker:0123abcd";
  EXPECT_NE(NoticeBody(k).find("in container docker:0123abcd"), std::string::npos);
  k.comm.clear();
  EXPECT_EQ(NoticeSummary(k), "A program was stopped: out of memory");
}

}  // namespace
}  // namespace reaperd::bus
