// The embedded default, a full round trip, and the accepted forms of values.
#include "config/config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "config/toml_reader.h"

namespace reaperd::config {
namespace {

const std::string kDir = REAPERD_FIXTURES "/config/";

TEST(DefaultConfigTest, EmbeddedFileParsesToTheStructDefaults) {
  auto cfg = ParseConfig(kDefaultConfigToml, "<default>");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().ToString();
  const Config defaults;
  EXPECT_EQ(cfg->daemon, defaults.daemon);
  EXPECT_EQ(cfg->detector, defaults.detector);
  EXPECT_EQ(cfg->kill, defaults.kill);
  EXPECT_EQ(cfg->rank, defaults.rank);
  EXPECT_EQ(*cfg, DefaultConfig());
}

TEST(DefaultConfigTest, EmbeddedFileIsThePackagedFile) {
  auto from_file = LoadConfigFile(REAPERD_SOURCE_DIR "/packaging/config/reaperd.toml");
  ASSERT_TRUE(from_file.has_value()) << from_file.error().ToString();
  EXPECT_EQ(*from_file, DefaultConfig());
}

TEST(DefaultConfigTest, SpellsOutEveryKeyTheParserKnows) {
  KeyReport keys;
  ASSERT_TRUE(ParseConfigWithKeys(kDefaultConfigToml, "<default>", &keys).has_value());
  const std::set<std::string> present(keys.present.begin(), keys.present.end());
  int leaves = 0;
  for (const std::string& k : keys.known) {
    if (k.find('.') == std::string::npos) continue;  // a section name
    ++leaves;
    EXPECT_TRUE(present.contains(k)) << k << " is missing from packaging/config/reaperd.toml";
  }
  EXPECT_GT(leaves, 0);
}

// The rules are commented out in the default; their keys must still be documented there.
TEST(DefaultConfigTest, DocumentsEveryRuleKey) {
  KeyReport keys;
  ASSERT_TRUE(ParseConfigWithKeys("[[rule]]\naction = \"protect\"\nuid = 0\n", "x", &keys));
  const std::string_view text = kDefaultConfigToml;
  const std::size_t doc = text.find("# Rules:");
  const std::size_t doc_end = text.find("# BEGIN EXAMPLE RULES");
  ASSERT_NE(doc, std::string_view::npos);
  ASSERT_NE(doc_end, std::string_view::npos);
  const std::string_view block = text.substr(doc, doc_end - doc);
  int rule_keys = 0;
  for (const std::string& k : keys.known) {
    if (!k.starts_with("rule[0].")) continue;
    ++rule_keys;
    const std::string leaf = k.substr(std::string_view("rule[0].").size());
    // Documented as "#   key  ..." or in a list "#   a, key, ...".
    const bool documented = block.find("#   " + leaf) != std::string_view::npos ||
                            block.find(", " + leaf) != std::string_view::npos;
    EXPECT_TRUE(documented) << leaf << " is not documented in the rules comment";
  }
  EXPECT_GT(rule_keys, 0);
}

// Uncommenting the example rules of the default file gives a valid config.
TEST(DefaultConfigTest, ExampleRulesAreValid) {
  const std::string_view text = kDefaultConfigToml;
  const std::size_t begin = text.find("# BEGIN EXAMPLE RULES\n");
  const std::size_t end = text.find("# END EXAMPLE RULES");
  ASSERT_NE(begin, std::string_view::npos);
  ASSERT_NE(end, std::string_view::npos);
  std::string uncommented(text.substr(0, begin));
  std::string_view block = text.substr(begin, end - begin);
  block.remove_prefix(block.find('\n') + 1);
  while (!block.empty()) {
    std::string_view line = block.substr(0, block.find('\n'));
    block.remove_prefix(std::min(block.size(), line.size() + 1));
    if (line.starts_with("# ")) line.remove_prefix(2);
    if (line == "#") line = "";
    uncommented += std::string(line) + "\n";
  }
  auto cfg = ParseConfig(uncommented, "<examples>");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().ToString();
  ASSERT_EQ(cfg->rank.rules.size(), 3U);
  EXPECT_EQ(cfg->rank.rules[0].action, RuleAction::kPrefer);
  EXPECT_EQ(cfg->rank.rules[0].cmdline, "--type=renderer");
  EXPECT_EQ(cfg->rank.rules[1].action, RuleAction::kAvoid);
  EXPECT_LT(cfg->rank.rules[1].weight, 0);
  EXPECT_EQ(cfg->rank.rules[2].action, RuleAction::kProtect);
  EXPECT_EQ(cfg->rank.rules[2].cgroup, "^/system\\.slice/postgresql");
}

TEST(ParseConfigTest, EmptyTextGivesTheDefaults) {
  auto cfg = ParseConfig("", "empty");
  ASSERT_TRUE(cfg.has_value());
  EXPECT_EQ(*cfg, Config{});
}

Config FullExpected() {
  Config c;
  c.daemon = {.log_level = "debug",
              .dry_run = true,
              .watch_limited_cgroups = false,
              .watch_limited_cgroups_under = "/machine.slice",
              .max_cgroup_scopes = 8,
              .rescan_interval_ms = 1000};
  c.detector = {.warn_available_percent = 20.5,
                .reclaim_available_percent = 15.0,
                .kill_available_percent = 5.5,
                .kill_time_to_exhaustion_ms = 3000,
                .psi_some_warn_percent = 20.0,
                .psi_full_kill_percent = 60.0,
                .swap_used_kill_percent = 80.0,
                .psi_window_ms = 2000,
                .psi_sustain_ms = 500,
                .interval_fast_ms = 50,
                .interval_slow_ms = 3000,
                .hysteresis_percent = 3.5,
                .trend_window_ms = 800,
                .tte_confirm_samples = 4,
                .victim_return_percent = 60.0,
                .victim_settle_ms = 300};
  c.kill = {.signal_grace_ms = 1000,
            .deadline_ms = 8000,
            .widen = Widen::kCgroup,
            .honour_oom_group = false,
            .step_up = Widen::kProcessGroup,
            .last_resort = LastResort::kPanic,
            .last_resort_after_misses = 5,
            .reaper_threads = 4,
            .reaper_realtime_priority = 10,
            .mrelease_retries = 3,
            .mrelease_retry_delay_ms = 50};
  c.rank.protect_comm = {"Xorg", "sshd"};
  c.rank.avoid_comm = {"firefox"};
  c.rank.unavoid_comm = {"pipewire"};
  c.rank.session_avoid = false;
  c.rank.protect_cgroup = {"/system.slice/postgresql.service", "/init.scope"};
  c.rank.protect_uid = {0, 1000};
  c.rank.cmdline_max = 8192;
  c.rank.growth_weight = 250;
  Rule tabs;
  tabs.name = "browser tabs";
  tabs.action = RuleAction::kPrefer;
  tabs.weight = 300;
  tabs.comm = "^(chrome|firefox)";
  tabs.cmdline = "--type=renderer";
  Rule editors;
  editors.name = "editors";
  editors.action = RuleAction::kAvoid;
  editors.weight = -200;
  editors.exe = "/usr/bin/(emacs|vim)$";
  editors.cgroup = "^/user\\.slice";
  editors.uid = 1000;
  Rule postgres;
  postgres.name = "rule 2";  // the default name: no name in the file
  postgres.action = RuleAction::kProtect;
  postgres.comm = "^postgres$";
  c.rank.rules = {tabs, editors, postgres};
  return c;
}

TEST(ParseConfigTest, FullConfigRoundTripsEveryField) {
  auto cfg = LoadConfigFile(kDir + "full.toml");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().ToString();
  const Config want = FullExpected();
  EXPECT_EQ(cfg->daemon, want.daemon);
  EXPECT_EQ(cfg->detector, want.detector);
  EXPECT_EQ(cfg->kill, want.kill);
  EXPECT_EQ(cfg->rank.protect_comm, want.rank.protect_comm);
  EXPECT_EQ(cfg->rank.avoid_comm, want.rank.avoid_comm);
  EXPECT_EQ(cfg->rank.unavoid_comm, want.rank.unavoid_comm);
  EXPECT_EQ(cfg->rank.session_avoid, want.rank.session_avoid);
  EXPECT_EQ(cfg->rank.protect_cgroup, want.rank.protect_cgroup);
  EXPECT_EQ(cfg->rank.protect_uid, want.rank.protect_uid);
  EXPECT_EQ(cfg->rank.cmdline_max, want.rank.cmdline_max);
  EXPECT_EQ(cfg->rank.growth_weight, want.rank.growth_weight);
  ASSERT_EQ(cfg->rank.rules.size(), want.rank.rules.size());
  for (std::size_t i = 0; i < want.rank.rules.size(); ++i) {
    EXPECT_EQ(cfg->rank.rules[i], want.rank.rules[i]) << "rule " << i;
  }
  EXPECT_EQ(*cfg, want);
}

// The fixture is only a round trip of every field if it sets every field to a non-default.
TEST(ParseConfigTest, FullFixtureSetsEveryKeyOffItsDefault) {
  const Config want = FullExpected();
  const Config d;
  EXPECT_NE(want.daemon.log_level, d.daemon.log_level);
  EXPECT_NE(want.daemon.dry_run, d.daemon.dry_run);
  const DetectorConfig& wd = want.detector;
  const DetectorConfig& dd = d.detector;
  for (auto m :
       {&DetectorConfig::warn_available_percent, &DetectorConfig::reclaim_available_percent,
        &DetectorConfig::kill_available_percent, &DetectorConfig::psi_some_warn_percent,
        &DetectorConfig::psi_full_kill_percent, &DetectorConfig::hysteresis_percent,
        &DetectorConfig::victim_return_percent}) {
    EXPECT_NE(wd.*m, dd.*m);
  }
  for (auto m : {&DetectorConfig::kill_time_to_exhaustion_ms, &DetectorConfig::psi_window_ms,
                 &DetectorConfig::psi_sustain_ms, &DetectorConfig::interval_fast_ms,
                 &DetectorConfig::interval_slow_ms, &DetectorConfig::trend_window_ms,
                 &DetectorConfig::tte_confirm_samples, &DetectorConfig::victim_settle_ms}) {
    EXPECT_NE(wd.*m, dd.*m);
  }
  const KillConfig& wk = want.kill;
  const KillConfig& dk = d.kill;
  for (auto m : {&KillConfig::signal_grace_ms, &KillConfig::deadline_ms,
                 &KillConfig::last_resort_after_misses, &KillConfig::reaper_threads,
                 &KillConfig::reaper_realtime_priority, &KillConfig::mrelease_retries,
                 &KillConfig::mrelease_retry_delay_ms}) {
    EXPECT_NE(wk.*m, dk.*m);
  }
  EXPECT_NE(wk.widen, dk.widen);
  EXPECT_NE(wk.honour_oom_group, dk.honour_oom_group);
  EXPECT_NE(wk.step_up, dk.step_up);
  EXPECT_NE(wk.last_resort, dk.last_resort);
  EXPECT_NE(want.rank.protect_comm, d.rank.protect_comm);
  EXPECT_NE(want.rank.avoid_comm, d.rank.avoid_comm);
  EXPECT_NE(want.rank.unavoid_comm, d.rank.unavoid_comm);
  EXPECT_NE(want.rank.session_avoid, d.rank.session_avoid);
  EXPECT_NE(want.rank.protect_cgroup, d.rank.protect_cgroup);
  EXPECT_NE(want.rank.protect_uid, d.rank.protect_uid);
  EXPECT_NE(want.rank.cmdline_max, d.rank.cmdline_max);
  EXPECT_NE(want.rank.growth_weight, d.rank.growth_weight);
}

// "rule[2].comm" -> "rule[].comm", so the keys of all rules compare as one set.
std::string WithoutRuleIndex(const std::string& key) {
  if (!key.starts_with("rule[")) return key;
  return "rule[]" + key.substr(key.find(']') + 1);
}

TEST(ParseConfigTest, FullFixtureSetsEveryKeyTheParserKnows) {
  std::ifstream in(kDir + "full.toml");
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  KeyReport keys;
  ASSERT_TRUE(ParseConfigWithKeys(text, "full.toml", &keys).has_value());
  std::set<std::string> present;
  for (const std::string& k : keys.present) present.insert(WithoutRuleIndex(k));
  int leaves = 0;
  for (const std::string& k : keys.known) {
    if (k.find('.') == std::string::npos) continue;  // a section name
    ++leaves;
    EXPECT_TRUE(present.contains(WithoutRuleIndex(k))) << k << " is not set in full.toml";
  }
  EXPECT_GT(leaves, 0);
}

TEST(ParseConfigTest, AcceptsEveryTomlSpellingOfATable) {
  // Dotted keys and inline tables are TOML too; both must reach the same fields.
  auto dotted = ParseConfig("kill.deadline_ms = 7000\ndaemon = { dry_run = true }\n", "x");
  ASSERT_TRUE(dotted.has_value()) << dotted.error().ToString();
  EXPECT_EQ(dotted->kill.deadline_ms, 7000);
  EXPECT_TRUE(dotted->daemon.dry_run);
}

TEST(ParseConfigTest, WholeNumbersAreAcceptedAsPercentages) {
  auto cfg = ParseConfig("[detector]\nwarn_available_percent = 12\n", "x");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().ToString();
  EXPECT_EQ(cfg->detector.warn_available_percent, 12.0);
}

TEST(ParseConfigTest, EmptyRuleArrayMeansNoRules) {
  auto cfg = ParseConfig("rule = []\n", "x");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().ToString();
  EXPECT_TRUE(cfg->rank.rules.empty());
}

TEST(ParseConfigTest, EnumNamesRoundTrip) {
  for (Widen w : {Widen::kNone, Widen::kProcessGroup, Widen::kCgroup}) {
    auto cfg = ParseConfig("[kill]\nwiden = \"" + std::string(Name(w)) + "\"\n", "x");
    ASSERT_TRUE(cfg.has_value()) << Name(w);
    EXPECT_EQ(cfg->kill.widen, w);
    auto ladder = ParseConfig("[kill]\nstep_up = \"" + std::string(Name(w)) + "\"\n", "x");
    ASSERT_TRUE(ladder.has_value()) << Name(w);
    EXPECT_EQ(ladder->kill.step_up, w);
  }
  for (LastResort r :
       {LastResort::kNone, LastResort::kKernelOom, LastResort::kPanic, LastResort::kReboot}) {
    auto cfg = ParseConfig("[kill]\nlast_resort = \"" + std::string(Name(r)) + "\"\n", "x");
    ASSERT_TRUE(cfg.has_value()) << Name(r);
    EXPECT_EQ(cfg->kill.last_resort, r);
  }
  for (RuleAction a : {RuleAction::kProtect, RuleAction::kPrefer, RuleAction::kAvoid}) {
    const int weight = a == RuleAction::kPrefer ? 1 : a == RuleAction::kAvoid ? -1 : 0;
    auto cfg = ParseConfig("[[rule]]\naction = \"" + std::string(Name(a)) +
                               "\"\nweight = " + std::to_string(weight) + "\nuid = 0\n",
                           "x");
    ASSERT_TRUE(cfg.has_value()) << cfg.error().ToString();
    EXPECT_EQ(cfg->rank.rules[0].action, a);
  }
}

}  // namespace
}  // namespace reaperd::config
