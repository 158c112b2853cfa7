// The "event" notifier: a "warning" JSON line on the daemon's event stream (what reaperd-bus
// turns into LowMemoryWarning), with the scope and level escaped; nobody to tell is kNoTarget,
// so the chain backs it off like a socket nobody listens on.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "reclaim/notifier.h"
#include "sys/clock.h"

namespace reaperd::reclaim {
namespace {

struct Fixture {
  sys::FakeClock clock;
  RecordingSink sink;
  Logger log{sink, LogLevel::kDebug};
  sys::RealSystemView view = *sys::RealSystemView::Open();
  config::NotifierConfig cfg;
  Fixture() {
    cfg.kind = config::NotifierKind::kEvent;
    cfg.name = "lowmem \"warning\"";
  }
};

NotifyContext Context() {
  NotifyContext ctx;
  ctx.scope.kind = policy::ScopeKind::kCgroup;
  ctx.scope.cgroup = "/a\"b\\c";
  ctx.level = pressure::Level::kReclaim;
  ctx.sample.available_bytes = 123;
  ctx.sample.total_bytes = 456;
  return ctx;
}

TEST(EventNotifierTest, PostsAWarningLineForTheStream) {
  Fixture f;
  std::vector<std::string> posted;
  const EventPost post = [&](std::string line) {
    posted.push_back(std::move(line));
    return true;
  };
  auto n = MakeNotifier(f.cfg, {f.view, f.clock, f.log, &post});
  ASSERT_TRUE(n);
  EXPECT_EQ(n->kind(), "event");
  EXPECT_EQ(n->Run(Context(), 1000), NotifyOutcome::kDone);
  ASSERT_EQ(posted.size(), 1u);
  const auto j = nlohmann::json::parse(posted[0], nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << posted[0];
  EXPECT_EQ(j.value("event", ""), "warning");
  EXPECT_EQ(j.value("scope", ""), "cgroup:/a\"b\\c");
  EXPECT_EQ(j.value("step", ""), "lowmem \"warning\"");
  EXPECT_EQ(j.value("level", ""), "reclaim");
  EXPECT_EQ(j.value("available_bytes", 0), 123);
  EXPECT_EQ(j.value("total_bytes", 0), 456);
}

TEST(EventNotifierTest, NobodySubscribedOrNoStreamIsNoTarget) {
  Fixture f;
  const EventPost nobody = [](std::string) { return false; };
  EXPECT_EQ(MakeNotifier(f.cfg, {f.view, f.clock, f.log, &nobody})->Run(Context(), 1000),
            NotifyOutcome::kNoTarget);
  EXPECT_EQ(MakeNotifier(f.cfg, {f.view, f.clock, f.log})->Run(Context(), 1000),
            NotifyOutcome::kNoTarget);
}

}  // namespace
}  // namespace reaperd::reclaim
