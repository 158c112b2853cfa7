// Every kind of config error names the file, the line (and column), and the dotted key.
#include <gtest/gtest.h>

#include <string>

#include "config/config.h"

namespace reaperd::config {
namespace {

const std::string kDir = REAPERD_FIXTURES "/config/";

struct ErrorCase {
  const char* fixture;
  int line;
  int column;  // 0: only checked to be present (> 0)
  const char* key;
  const char* message_part;
};

class FixtureErrorTest : public testing::TestWithParam<ErrorCase> {};

TEST_P(FixtureErrorTest, NamesFileLineAndKey) {
  const ErrorCase& c = GetParam();
  const std::string path = kDir + c.fixture;
  auto cfg = LoadConfigFile(path);
  ASSERT_FALSE(cfg.has_value()) << c.fixture << " parsed";
  const ConfigError& e = cfg.error();
  EXPECT_EQ(e.file, path);
  EXPECT_EQ(e.line, c.line);
  if (c.column > 0) {
    EXPECT_EQ(e.column, c.column);
  } else {
    EXPECT_GT(e.column, 0);
  }
  EXPECT_EQ(e.key, c.key);
  EXPECT_NE(e.message.find(c.message_part), std::string::npos) << e.message;
  const std::string where = path + ":" + std::to_string(e.line) + ":" + std::to_string(e.column);
  const std::string s = e.ToString();
  EXPECT_TRUE(s.starts_with(where + ": ")) << s;
  if (*c.key != '\0') {
    EXPECT_NE(s.find(std::string(": ") + c.key + ": "), std::string::npos) << s;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, FixtureErrorTest,
    testing::Values(
        ErrorCase{"syntax.toml", 2, 0, "", "string"},
        ErrorCase{"duplicate_key.toml", 4, 0, "", "deadline_ms"},
        ErrorCase{"unknown_key.toml", 3, 1, "kill.dedline_ms", "unknown key"},
        ErrorCase{"unknown_table.toml", 4, 0, "killer", "unknown table [killer]"},
        ErrorCase{"unknown_subtable.toml", 4, 0, "kill.extra", "unknown table [kill.extra]"},
        ErrorCase{"wrong_type.toml", 3, 15, "kill.deadline_ms",
                  "expected an integer, got a string"},
        ErrorCase{"out_of_range.toml", 3, 18, "kill.reaper_threads", "17 is out of range 1..16"},
        ErrorCase{"bad_regex.toml", 15, 8, "rule[2].comm", "invalid regex \"(unclosed\""},
        ErrorCase{"regex_too_long.toml", 6, 8, "rule[0].comm", "longer than 1024 characters"},
        ErrorCase{"bad_enum.toml", 3, 9, "kill.widen",
                  "\"group\" is not one of \"none\", \"process_group\", \"cgroup\""},
        ErrorCase{"bad_order.toml", 3, 29, "detector.reclaim_available_percent",
                  "12 must not exceed detector.warn_available_percent (10)"},
        ErrorCase{"weight_sign.toml", 4, 10, "rule[0].weight", "-1000..-1 (got 300)"},
        ErrorCase{"rule_not_array.toml", 1, 0, "rule", "expected an array of tables [[rule]]"},
        ErrorCase{"comm_too_long.toml", 4, 3, "rank.protect_comm[1]", "\"systemd-journald\""}),
    [](const testing::TestParamInfo<ErrorCase>& param) {
      std::string name = param.param.fixture;
      name = name.substr(0, name.find('.'));
      return name;
    });

// Inline cases: one TOML text, the key and message it must fail with, and its line.
struct InlineCase {
  const char* text;
  int line;
  const char* key;
  const char* message_part;
};

class InlineErrorTest : public testing::TestWithParam<InlineCase> {};

std::string RuleWith(const char* key, const std::string& pattern) {
  return std::string("[[rule]]\naction = \"protect\"\n") + key + " = \"" + pattern + "\"\n";
}
const std::string kLongComm = RuleWith("comm", std::string(1025, 'a'));
const std::string kDeepCmdline =
    RuleWith("cmdline", std::string(33, '(') + "a" + std::string(33, ')'));

TEST_P(InlineErrorTest, FailsWithKey) {
  const InlineCase& c = GetParam();
  auto cfg = ParseConfig(c.text, "inline.toml");
  ASSERT_FALSE(cfg.has_value()) << c.text;
  EXPECT_EQ(cfg.error().file, "inline.toml");
  EXPECT_EQ(cfg.error().line, c.line) << cfg.error().ToString();
  EXPECT_EQ(cfg.error().key, c.key) << cfg.error().ToString();
  EXPECT_NE(cfg.error().message.find(c.message_part), std::string::npos) << cfg.error().ToString();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, InlineErrorTest,
    testing::Values(
        // Types.
        InlineCase{"kill = 5\n", 1, "kill", "expected a table [kill], got an integer"},
        InlineCase{"[kill]\ndeadline_ms = 5000.0\n", 2, "kill.deadline_ms", "an integer"},
        InlineCase{"[daemon]\ndry_run = 1\n", 2, "daemon.dry_run", "expected a boolean"},
        InlineCase{"[daemon]\nwatch_limited_cgroups = \"yes\"\n", 2, "daemon.watch_limited_cgroups",
                   "expected a boolean"},
        InlineCase{"[daemon]\nwatch_limited_cgroups_under = \"machine.slice\"\n", 2,
                   "daemon.watch_limited_cgroups_under", "not an absolute cgroup path"},
        InlineCase{"[daemon]\nwatch_limited_cgroups_under = \"/a/../b\"\n", 2,
                   "daemon.watch_limited_cgroups_under", "without \"..\""},
        InlineCase{"[daemon]\nmax_cgroup_scopes = 0\n", 2, "daemon.max_cgroup_scopes", "1"},
        InlineCase{"[daemon]\nrescan_interval_ms = 50\n", 2, "daemon.rescan_interval_ms", "100"},
        InlineCase{"[daemon]\nwatch_limited = true\n", 2, "daemon.watch_limited", "unknown"},
        InlineCase{"[detector]\nhysteresis_percent = \"2\"\n", 2, "detector.hysteresis_percent",
                   "expected a number, got a string"},
        InlineCase{"[rank]\nprotect_uid = [0, \"root\"]\n", 2, "rank.protect_uid[1]",
                   "expected an integer, got a string"},
        InlineCase{"[rank]\nprotect_comm = \"sshd\"\n", 2, "rank.protect_comm",
                   "expected an array of strings"},
        InlineCase{"rule = 3\n", 1, "rule", "expected an array of tables"},
        InlineCase{"top = 1\n", 1, "top", "unknown key"},
        InlineCase{"[rank.rule]\naction = \"prefer\"\n", 1, "rank.rule", "unknown table"},
        InlineCase{"[[rule]]\naction = \"prefer\"\nweight = 1\ncomm = \"a\"\nfoo = 2\n", 5,
                   "rule[0].foo", "unknown key"},
        // Ranges.
        InlineCase{"[detector]\nwarn_available_percent = 101\n", 2,
                   "detector.warn_available_percent", "out of range 0..100"},
        InlineCase{"[detector]\nkill_available_percent = nan\n", 2,
                   "detector.kill_available_percent", "out of range"},
        InlineCase{"[detector]\npsi_window_ms = 100\n", 2, "detector.psi_window_ms",
                   "100 is out of range 500..10000"},
        InlineCase{"[kill]\ndeadline_ms = 0\n", 2, "kill.deadline_ms", "out of range 1..600000"},
        InlineCase{"[kill]\nreaper_threads = 0\n", 2, "kill.reaper_threads", "1..16"},
        InlineCase{"[kill]\nreaper_realtime_priority = 100\n", 2, "kill.reaper_realtime_priority",
                   "0..99"},
        InlineCase{"[rank]\nprotect_uid = [4294967295]\n", 2, "rank.protect_uid[0]",
                   "out of range"},
        InlineCase{"[rank]\ncmdline_max = -1\n", 2, "rank.cmdline_max", "out of range"},
        InlineCase{"[[rule]]\naction = \"prefer\"\nweight = 1001\ncomm = \"a\"\n", 3,
                   "rule[0].weight", "out of range -1000..1000"},
        // Across keys: the key the text set is named, with its line.
        InlineCase{"[detector]\nkill_available_percent = 8\n", 2, "detector.kill_available_percent",
                   "must not exceed detector.reclaim_available_percent (7)"},
        InlineCase{"[detector]\n\nwarn_available_percent = 5\n", 3,
                   "detector.warn_available_percent",
                   "5 must not be below detector.reclaim_available_percent (7)"},
        InlineCase{"[detector]\ninterval_slow_ms = 50\n", 2, "detector.interval_slow_ms",
                   "50 must not be below detector.interval_fast_ms (100)"},
        InlineCase{"[kill]\nsignal_grace_ms = 5000\n", 2, "kill.signal_grace_ms",
                   "5000 must be less than kill.deadline_ms (5000)"},
        InlineCase{"[kill]\nsignal_grace_ms = 100\ndeadline_ms = 100\n", 2, "kill.signal_grace_ms",
                   "100 must be less than kill.deadline_ms (100)"},
        InlineCase{"[rank]\ncmdline_max = 0\n[[rule]]\naction = \"prefer\"\nweight = 5\n"
                   "cmdline = \"x\"\n",
                   6, "rule[0].cmdline", "never reads command lines"},
        // Rules.
        InlineCase{"[[rule]]\naction = \"prefer\"\nweight = 5\n", 1, "rule[0]",
                   "at least one of comm, exe, cmdline, cgroup, uid"},
        InlineCase{"[[rule]]\nweight = 5\ncomm = \"a\"\n", 1, "rule[0].action", "missing"},
        InlineCase{"[[rule]]\naction = \"kill\"\nweight = 5\ncomm = \"a\"\n", 2, "rule[0].action",
                   "\"kill\" is not one of \"protect\", \"prefer\", \"avoid\""},
        InlineCase{"[[rule]]\naction = \"prefer\"\ncomm = \"a\"\n", 1, "rule[0].weight",
                   "1..1000 (got 0)"},
        InlineCase{"[[rule]]\naction = \"prefer\"\nweight = -5\ncomm = \"a\"\n", 3,
                   "rule[0].weight", "1..1000 (got -5)"},
        InlineCase{"[[rule]]\naction = \"protect\"\nweight = 5\ncomm = \"a\"\n", 3,
                   "rule[0].weight", "takes no weight"},
        InlineCase{"[[rule]]\nname = \"\"\naction = \"protect\"\ncomm = \"a\"\n", 2, "rule[0].name",
                   "must not be empty"},
        InlineCase{"[[rule]]\naction = \"protect\"\nexe = \"\"\n", 3, "rule[0].exe", "empty regex"},
        InlineCase{"[[rule]]\naction = \"protect\"\ncgroup = \"a[\"\n", 3, "rule[0].cgroup",
                   "invalid regex"},
        InlineCase{"[[rule]]\naction = \"protect\"\ncmdline = \"x{2,1}\"\n", 3, "rule[0].cmdline",
                   "invalid regex"},
        // A repeat count past what std::regex parses safely (libstdc++ overflows a long on
        // 4444444444444444444: found by fuzz_config) or builds without a huge automaton.
        InlineCase{"[[rule]]\naction = \"protect\"\ncomm = \"a{4444444444444444444}\"\n", 3,
                   "rule[0].comm", "repeat count above 1000"},
        InlineCase{"[[rule]]\naction = \"protect\"\nexe = \"a{2,1001}\"\n", 3, "rule[0].exe",
                   "repeat count above 1000"},
        InlineCase{"[[rule]]\naction = \"protect\"\ncomm = \"(a)\\\\4444444444444444444\"\n", 3,
                   "rule[0].comm", "back-reference above 1000"},
        // Rules are matched in linear time, which takes no back-reference (session 18).
        InlineCase{"[[rule]]\naction = \"protect\"\ncmdline = \"(a+)\\\\1\"\n", 3,
                   "rule[0].cmdline", "back-references are not supported"},
        // std::regex compiles by recursion, a level per term and more per group: a long or
        // deeply nested pattern overflowed the stack (fuzz_config, session 17: a 19 KB comm).
        InlineCase{kLongComm.c_str(), 3, "rule[0].comm", "longer than 1024 characters"},
        InlineCase{kDeepCmdline.c_str(), 3, "rule[0].cmdline", "groups nested deeper than 32"},
        InlineCase{"[[rule]]\naction = \"protect\"\nuid = -1\n", 3, "rule[0].uid", "out of range"},
        // Enums and lists.
        InlineCase{"[daemon]\nlog_level = \"verbose\"\n", 2, "daemon.log_level",
                   "\"verbose\" is not one of \"debug\", \"info\""},
        InlineCase{"[kill]\nlast_resort = \"sysrq\"\n", 2, "kill.last_resort",
                   "not one of \"none\", \"kernel\", \"panic\", \"reboot\""},
        InlineCase{"[rank]\nprotect_comm = [\"\"]\n", 2, "rank.protect_comm[0]", "never match"},
        InlineCase{"[rank]\nprotect_cgroup = [\"system.slice\"]\n", 2, "rank.protect_cgroup[0]",
                   "starts with /"},
        InlineCase{"[rank]\nprotect_cgroup = [\"/\"]\n", 2, "rank.protect_cgroup[0]",
                   "every process"},
        InlineCase{"[rank]\nprotect_cgroup = [\"/a/\"]\n", 2, "rank.protect_cgroup[0]",
                   "trailing /"}));

TEST(ConfigErrorTest, ARegexAtTheBoundsIsAccepted) {
  EXPECT_TRUE(ParseConfig(RuleWith("comm", std::string(1024, 'a')), "x").has_value());
  // Brackets and escaped parentheses open no group.
  EXPECT_TRUE(
      ParseConfig(RuleWith("cmdline", std::string(32, '(') + "[((]\\\\(" + std::string(32, ')')),
                  "x")
          .has_value());
}

TEST(ConfigErrorTest, ToStringLeavesOutWhatIsUnknown) {
  EXPECT_EQ((ConfigError{"f.toml", 3, 7, "kill.x", "bad"}).ToString(), "f.toml:3:7: kill.x: bad");
  EXPECT_EQ((ConfigError{"f.toml", 3, 0, "kill.x", "bad"}).ToString(), "f.toml:3: kill.x: bad");
  EXPECT_EQ((ConfigError{"f.toml", 0, 0, "", "cannot open"}).ToString(), "f.toml: cannot open");
}

TEST(ConfigErrorTest, OneErrorTheFirstMet) {
  // Two bad keys: one error is reported, about the first key read, not a pile of follow-ups.
  auto cfg = ParseConfig("[kill]\nreaper_threads = 0\nmrelease_retries = -1\n", "x");
  ASSERT_FALSE(cfg.has_value());
  EXPECT_EQ(cfg.error().key, "kill.reaper_threads");
}

}  // namespace
}  // namespace reaperd::config
