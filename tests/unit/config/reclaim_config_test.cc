// [reclaim] with its notifiers, [hooks] and [watchdog]: defaults, every key documented, a
// full round trip, and the errors a user can make in them.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "config/config.h"
#include "config/toml_reader.h"

namespace reaperd::config {
namespace {

const char* kFull = R"(
[reclaim]
enabled = false
settle_ms = 300
min_freed_mib = 4
backoff_after = 2
backoff_initial_ms = 1000
backoff_max_ms = 8000
interval_ms = 2000
kill_budget_ms = 150

[[reclaim.notifier]]
name = "cg"
kind = "cgroup_reclaim"
timeout_ms = 700
cgroup = "/a/b"
reclaim_mib = 32

[[reclaim.notifier]]
kind = "drop_caches"

[[reclaim.notifier]]
kind = "signal"
comm = ["holder", "cache"]
signal = "SIGUSR2"

[[reclaim.notifier]]
kind = "socket"
socket = "/run/app/trim.sock"

[[reclaim.notifier]]
kind = "hook"
argv = ["/bin/echo", "hi"]

[[reclaim.notifier]]
name = "lowmem warning"
kind = "event"
timeout_ms = 10

[hooks.warn]
argv = ["/usr/bin/notify-send", "low memory"]
timeout_ms = 1000
[hooks.pre_kill]
argv = ["/bin/true"]
timeout_ms = 100
[hooks.post_kill]
argv = ["/bin/true"]
timeout_ms = 3000

[watchdog]
enabled = false
check_interval_ms = 500
d_state_ms = 2000
psi_full_percent = 30.0
psi_full_sustain_ms = 1000
loop_late_ms = 2000
report_interval_ms = 1000
max_tasks = 8
read_stack = false
report_path = "/tmp/stalls.jsonl"
)";

TEST(ReclaimConfigTest, DefaultFileDocumentsTheSectionsAsTheStructDefaults) {
  KeyReport keys;
  auto cfg = ParseConfigWithKeys(kDefaultConfigToml, "<default>", &keys);
  ASSERT_TRUE(cfg.has_value()) << cfg.error().ToString();
  EXPECT_EQ(cfg->reclaim, ReclaimConfig{});
  EXPECT_EQ(cfg->hooks, HooksConfig{});
  EXPECT_EQ(cfg->watchdog, WatchdogConfig{});
  const std::set<std::string> present(keys.present.begin(), keys.present.end());
  for (const char* k : {"reclaim.settle_ms", "reclaim.kill_budget_ms", "hooks.pre_kill.timeout_ms",
                        "watchdog.d_state_ms", "watchdog.report_path"}) {
    EXPECT_TRUE(present.contains(k)) << k;
  }
}

TEST(ReclaimConfigTest, EveryNotifierKeyIsDocumented) {
  KeyReport keys;
  auto cfg = ParseConfigWithKeys(kFull, "full", &keys);
  ASSERT_TRUE(cfg.has_value()) << cfg.error().ToString();
  const std::string_view text = kDefaultConfigToml;
  const std::size_t doc = text.find("# Notifiers:");
  ASSERT_NE(doc, std::string_view::npos);
  const std::string_view block = text.substr(doc, text.find("# BEGIN EXAMPLE NOTIFIERS") - doc);
  int n = 0;
  for (const std::string& k : keys.known) {
    if (!k.starts_with("reclaim.notifier[")) continue;
    const std::string leaf = k.substr(k.find("].") + 2);
    ++n;
    EXPECT_NE(block.find("#   " + leaf), std::string_view::npos) << leaf;
  }
  EXPECT_GE(n, 9);
}

TEST(ReclaimConfigTest, FullRoundTrip) {
  auto cfg = ParseConfig(kFull, "full");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().ToString();
  const ReclaimConfig& r = cfg->reclaim;
  EXPECT_FALSE(r.enabled);
  EXPECT_EQ(r.settle_ms, 300);
  EXPECT_EQ(r.min_freed_mib, 4u);
  EXPECT_EQ(r.backoff_after, 2);
  EXPECT_EQ(r.backoff_initial_ms, 1000);
  EXPECT_EQ(r.backoff_max_ms, 8000);
  EXPECT_EQ(r.interval_ms, 2000);
  EXPECT_EQ(r.kill_budget_ms, 150);
  ASSERT_EQ(r.notifiers.size(), 6u);
  EXPECT_EQ(r.notifiers[0].name, "cg");
  EXPECT_EQ(r.notifiers[0].kind, NotifierKind::kCgroupReclaim);
  EXPECT_EQ(r.notifiers[0].timeout_ms, 700);
  EXPECT_EQ(r.notifiers[0].cgroup, "/a/b");
  EXPECT_EQ(r.notifiers[0].reclaim_mib, 32u);
  EXPECT_EQ(r.notifiers[1].name, "drop_caches 1");
  EXPECT_EQ(r.notifiers[2].comm, (std::vector<std::string>{"holder", "cache"}));
  EXPECT_EQ(SignalName(r.notifiers[2].signal), "SIGUSR2");
  EXPECT_EQ(r.notifiers[3].socket, "/run/app/trim.sock");
  EXPECT_EQ(r.notifiers[4].argv, (std::vector<std::string>{"/bin/echo", "hi"}));
  EXPECT_EQ(r.notifiers[5].kind, NotifierKind::kEvent);
  EXPECT_EQ(r.notifiers[5].name, "lowmem warning");
  EXPECT_EQ(cfg->hooks.warn.argv.size(), 2u);
  EXPECT_EQ(cfg->hooks.warn.timeout_ms, 1000);
  EXPECT_EQ(cfg->hooks.pre_kill.timeout_ms, 100);
  EXPECT_EQ(cfg->hooks.post_kill.timeout_ms, 3000);
  const WatchdogConfig& w = cfg->watchdog;
  EXPECT_FALSE(w.enabled);
  EXPECT_EQ(w.check_interval_ms, 500);
  EXPECT_EQ(w.d_state_ms, 2000);
  EXPECT_EQ(w.psi_full_percent, 30.0);
  EXPECT_EQ(w.psi_full_sustain_ms, 1000);
  EXPECT_EQ(w.loop_late_ms, 2000);
  EXPECT_EQ(w.report_interval_ms, 1000);
  EXPECT_EQ(w.max_tasks, 8);
  EXPECT_FALSE(w.read_stack);
  EXPECT_EQ(w.report_path, "/tmp/stalls.jsonl");
}

struct BadCase {
  const char* text;
  int line;
  const char* key;
  const char* message_part;
};

class ReclaimConfigErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(ReclaimConfigErrorTest, NamesLineKeyAndProblem) {
  const BadCase& c = GetParam();
  auto cfg = ParseConfig(c.text, "t.toml");
  ASSERT_FALSE(cfg.has_value());
  EXPECT_EQ(cfg.error().line, c.line) << cfg.error().ToString();
  EXPECT_EQ(cfg.error().key, c.key) << cfg.error().ToString();
  EXPECT_NE(cfg.error().message.find(c.message_part), std::string::npos) << cfg.error().ToString();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ReclaimConfigErrorTest,
    ::testing::Values(
        BadCase{"[reclaim]\nbogus = 1\n", 2, "reclaim.bogus", "unknown key"},
        BadCase{"[[reclaim.notifier]]\nname = \"x\"\n", 1, "reclaim.notifier[0].kind", "missing"},
        BadCase{"[[reclaim.notifier]]\nkind = \"magic\"\n", 2, "reclaim.notifier[0].kind",
                "is not one of"},
        BadCase{"[[reclaim.notifier]]\nkind = \"signal\"\nargv = [\"/bin/true\"]\ncomm = [\"a\"]\n",
                3, "reclaim.notifier[0].argv", "applies only to kind = \"hook\""},
        BadCase{"[[reclaim.notifier]]\nkind = \"hook\"\nargv = [\"sleep\", \"1\"]\n", 3,
                "reclaim.notifier[0].argv", "absolute path"},
        BadCase{"[[reclaim.notifier]]\nkind = \"hook\"\n", 1, "reclaim.notifier[0].argv",
                "missing"},
        BadCase{"[[reclaim.notifier]]\nkind = \"signal\"\n", 1, "reclaim.notifier[0].comm",
                "comm names"},
        BadCase{"[[reclaim.notifier]]\nkind = \"signal\"\ncomm = [\"a\"]\nsignal = \"SIGKILL\"\n",
                4, "reclaim.notifier[0].signal", "is not one of"},
        BadCase{"[[reclaim.notifier]]\nkind = \"socket\"\nsocket = \"rel.sock\"\n", 3,
                "reclaim.notifier[0].socket", "absolute path"},
        BadCase{"[[reclaim.notifier]]\nkind = \"hook\"\nargv = [\"/bin/true\"]\nfoo = 1\n", 4,
                "reclaim.notifier[0].foo", "unknown key"},
        BadCase{"[reclaim]\nbackoff_initial_ms = 9000\nbackoff_max_ms = 1000\n", 2,
                "reclaim.backoff_initial_ms", "must not exceed"},
        BadCase{"[hooks.pre_kill]\nargv = [\"/bin/true\"]\ntimeout_ms = 5000\n", 3,
                "hooks.pre_kill.timeout_ms", "too long"},
        BadCase{"[hooks.warn]\nargv = [\"notify-send\"]\n", 2, "hooks.warn.argv", "absolute path"},
        BadCase{"[hooks]\nwarm = 1\n", 2, "hooks.warm", "unknown key"},
        BadCase{"[hooks]\nwarn = 1\n", 2, "hooks.warn", "expected a table"},
        BadCase{"[watchdog]\nd_state_ms = 10\n", 2, "watchdog.d_state_ms", ""},
        BadCase{"[watchdog]\nreport_path = \"stalls.jsonl\"\n", 2, "watchdog.report_path",
                "absolute path"}));

}  // namespace
}  // namespace reaperd::config
