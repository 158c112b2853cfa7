// Hostile processes against the real `reaperd` binary, in memory-limited v1 cgroups the tests
// create: names and command lines built to break parsers, logs and terminals, more than 1 MiB
// of argv, zombies, a bounded fork bomb, a huge process outside the scope and a protected one
// inside it. reaperd must print no raw control byte, bound what it reads, and kill only the
// process (or group) it should.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "integration/support/cgroup_sandbox.h"
#include "integration/support/daemon.h"
#include "integration/support/hog.h"
#include "integration/support/hostile.h"

namespace reaperd::itest {
namespace {

// The binary is re-executed as a hostile helper (see SpawnHostile); the helper never
// returns to gtest's main.
[[maybe_unused]] const bool kHelperChecked = [] {
  RunHostileHelperIfAsked();
  return true;
}();

constexpr std::uint64_t kMiB = 1024 * 1024;

// No output to system paths, no last resort ever: only the test's processes may die.
constexpr const char* kSafe = R"(
[report]
kill_report_path = ""
metrics_textfile_path = ""
status_socket = ""
[watchdog]
report_path = ""
)";

// 12 bytes of comm: a ')' that ends a naive stat parse, a newline, an ANSI escape that
// would repaint a terminal, and two bytes that are not UTF-8.
const std::string kEvilComm = "a) b\n\x1b[31m\xff\xfe";
const std::vector<std::string> kEvilArgv = {"evil)\n(name", "\x1b]0;pwned\x07", "\xc3\x28 bad",
                                            "tab\there", "cr\rlf\n"};

std::unique_ptr<CgroupSandbox> Sandbox(const char* name, std::uint64_t limit) {
  std::string why;
  auto sb = CgroupSandbox::Create(name, limit, &why);
  if (!sb) ADD_FAILURE() << "no cgroup sandbox: " << why;
  return sb;
}

// More than 1 MiB of argv, within ARG_MAX: 12 arguments of 100 KiB (MAX_ARG_STRLEN is
// 128 KiB), led by the hostile ones.
std::vector<std::string> HugeArgv() {
  std::vector<std::string> argv = kEvilArgv;
  for (int i = 0; i < 12; ++i) argv.push_back(std::string(100 * 1024, static_cast<char>('k' + i)));
  return argv;
}

// What /proc/PID/cmdline shows, the way reaperd displays it: arguments joined by spaces.
std::string Joined(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) out += (out.empty() ? "" : " ") + a;
  return out;
}

// The one invalid UTF-8 sequence of kEvilArgv ("\xc3" before an ASCII byte) as the JSON
// output replaces it.
std::string AsJsonShowsIt(std::string s) {
  auto bad = s.find("\xc3\x28");
  if (bad != std::string::npos) s.replace(bad, 1, "\xef\xbf\xbd");
  return s;
}

// `reaperd rank` of the cgroup scope, bounded: a rank that does not return within 60 s
// (hostile input) fails the test with status 124 instead of hanging it.
std::string Rank(const std::string& cgroup, const std::string& config, bool json) {
  std::vector<std::string> args = {"/usr/bin/timeout", "60", REAPERD_BINARY, "rank"};
  args.insert(args.end(), {"--scope", "cgroup:" + cgroup, "--top", "0", "--config", config});
  if (json) args.push_back("--json");
  int status = 0;
  std::string out = RunCapture(args, &status);
  EXPECT_EQ(status, 0) << "(124: the rank did not return) " << out.substr(0, 4096);
  return out;
}

const nlohmann::json* Find(const nlohmann::json& list, pid_t pid) {
  for (const auto& e : list) {
    if (e["process"]["pid"].get<pid_t>() == pid) return &e;
  }
  return nullptr;
}

// Decision lines ("kill seq=..."), not the per-candidate notes the engine also logs.
std::vector<std::string> Decisions(const Daemon& d) {
  std::vector<std::string> out;
  for (auto& l : d.Lines("kill")) {
    if (l.find(" seq=") != std::string::npos) out.push_back(l);
  }
  return out;
}

TEST(HostileLive, RankPrintsNoRawControlBytesAndBoundsTheCmdline) {
  auto sb = Sandbox("hostile-rank", 512 * kMiB);
  ASSERT_TRUE(sb);
  Helper evil = SpawnHostile({.comm = kEvilComm, .argv = kEvilArgv, .touch_mib = 8}, *sb);
  const auto huge_argv = HugeArgv();
  ASSERT_GT(Joined(huge_argv).size(), kMiB);
  Helper huge = SpawnHostile({.comm = "huge)\n", .argv = huge_argv, .touch_mib = 4}, *sb);
  ASSERT_GT(evil.pid(), 0);
  ASSERT_GT(huge.pid(), 0) << "execve with " << Joined(huge_argv).size() << " bytes of argv";
  constexpr std::size_t kCmdlineMax = 2048;
  TempConfig cfg(std::string(kSafe) + "[rank]\ncmdline_max = " + std::to_string(kCmdlineMax) +
                 "\n");
  ASSERT_TRUE(cfg.ok());

  const std::string text = Rank(sb->cgroup(), cfg.path(), false);
  EXPECT_EQ(ControlBytes(text), "") << text;
  EXPECT_NE(text.find(" " + std::to_string(evil.pid()) + " "), std::string::npos) << text;
  EXPECT_NE(text.find("a) b\\n\\x1b[31m\\xff\\xfe"), std::string::npos) << text;
  EXPECT_NE(text.find("evil)\\n(name \\x1b]0;pwned\\x07"), std::string::npos) << text;

  const std::string out = Rank(sb->cgroup(), cfg.path(), true);
  EXPECT_EQ(ControlBytes(out), "");
  auto j = nlohmann::json::parse(out, nullptr, false);  // strict: UTF-8 and escapes checked
  ASSERT_FALSE(j.is_discarded()) << out.substr(0, 4096);
  const auto* e = Find(j["candidates"], evil.pid());
  const auto* h = Find(j["candidates"], huge.pid());
  ASSERT_TRUE(e && h) << j.dump(2);
  // Valid bytes come back exactly; invalid UTF-8 is replaced (U+FFFD), never passed raw.
  EXPECT_EQ((*e)["process"]["comm"], "a) b\n\x1b[31m\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ((*e)["process"]["cmdline"], AsJsonShowsIt(Joined(kEvilArgv)));
  // The scan read at most rank.cmdline_max bytes of the 1.2 MiB command line.
  const std::string cmd = (*h)["process"]["cmdline"].get<std::string>();
  EXPECT_EQ(cmd, AsJsonShowsIt(Joined(huge_argv).substr(0, kCmdlineMax)));
}

// A command line is anyone's to write; a rule's pattern is the administrator's. libstdc++'s
// default matcher backtracks: "(a+)+b" against 4000 a's takes 2^4000 steps, and a rank (the
// daemon's, at a kill) never returned. Rules are matched in linear time since session 18.
TEST(HostileLive, ACmdlineBuiltToBacktrackDoesNotStallTheRank) {
  auto sb = Sandbox("hostile-regex", 256 * kMiB);
  ASSERT_TRUE(sb);
  const std::string as(4000, 'a');
  Helper miss = SpawnHostile({.comm = "backtrack", .argv = {as}, .touch_mib = 2}, *sb);
  Helper hit = SpawnHostile({.comm = "backtrack", .argv = {as + "b"}, .touch_mib = 2}, *sb);
  ASSERT_GT(miss.pid(), 0);
  ASSERT_GT(hit.pid(), 0);
  TempConfig cfg(std::string(kSafe) +
                 "[[rule]]\nname = \"evil\"\naction = \"prefer\"\nweight = 100\n"
                 "cmdline = \"(a+)+b\"\n");
  ASSERT_TRUE(cfg.ok());
  const std::string out = Rank(sb->cgroup(), cfg.path(), true);
  ASSERT_FALSE(::testing::Test::HasFailure()) << "the rank failed or did not return";
  auto j = nlohmann::json::parse(out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << out.substr(0, 4096);
  const auto* m = Find(j["candidates"], miss.pid());
  const auto* h = Find(j["candidates"], hit.pid());
  ASSERT_TRUE(m && h) << j.dump(2).substr(0, 4096);
  EXPECT_TRUE((*m)["score"]["rules"].empty());
  ASSERT_EQ((*h)["score"]["rules"].size(), 1u);
  EXPECT_EQ((*h)["score"]["rules"][0]["rule"], "evil");
}

TEST(HostileLive, DaemonKillsTheHostileBiggestAndLogsItEscaped) {
  auto sb = Sandbox("hostile-kill", 256 * kMiB);
  ASSERT_TRUE(sb);
  TempConfig cfg(std::string(kSafe) + "[kill]\nlast_resort = \"none\"\n");
  ASSERT_TRUE(cfg.ok());
  Hog bystander = Hog::Spawn({.touch_mib = 24}, sb.get());
  ASSERT_GT(bystander.pid(), 0);
  Daemon d({sb->cgroup()}, 30000, {"--config", cfg.path()});
  ASSERT_TRUE(d.WaitStarted()) << d.Log();
  Helper evil = SpawnHostile({.comm = kEvilComm,
                              .argv = HugeArgv(),
                              .touch_mib = 64,
                              .grow_mib_per_s = 100,
                              .grow_max_mib = 400},
                             *sb);
  const pid_t evil_pid = evil.pid();
  ASSERT_GT(evil_pid, 0);
  EXPECT_TRUE(evil.WaitDead(15000)) << d.Log();
  d.Stop();
  EXPECT_FALSE(bystander.Dead(bystander.pid()));
  EXPECT_EQ(sb->OomKills(), 0u) << d.Log();
  const auto kills = Decisions(d);
  ASSERT_EQ(kills.size(), 1u) << d.Log();
  EXPECT_EQ(Field(kills[0], "pid"), static_cast<std::uint64_t>(evil_pid)) << kills[0];
  EXPECT_NE(kills[0].find("comm=\"a) b\\n\\x1b[31m\\xff\\xfe\""), std::string::npos) << kills[0];
  EXPECT_EQ(ControlBytes(d.Log()), "") << d.Log();
}

TEST(HostileLive, ZombiesAreNeverChosen) {
  auto sb = Sandbox("hostile-zombie", 256 * kMiB);
  ASSERT_TRUE(sb);
  pid_t zombie = 0;
  Helper parent = SpawnZombieParent(*sb, 64, &zombie);
  ASSERT_GT(parent.pid(), 0);
  ASSERT_GT(zombie, 0);
  ASSERT_TRUE(WaitFor(
      [&] {
        std::string stat = ReadFile("/proc/" + std::to_string(zombie) + "/stat");
        auto close = stat.rfind(')');
        return close != std::string::npos && stat.compare(close, 4, ") Z ") == 0;
      },
      5000));
  TempConfig cfg(std::string(kSafe) + "[kill]\nlast_resort = \"none\"\n");
  ASSERT_TRUE(cfg.ok());
  // v1 moves an exited task to the root cgroup, so the zombie is outside the cgroup scope;
  // in the system scope it is protected for having no mm (rank only reads; no signal).
  auto j = nlohmann::json::parse(Rank(sb->cgroup(), cfg.path(), true));
  EXPECT_EQ(Find(j["candidates"], zombie), nullptr);
  int status = 0;
  auto sys = nlohmann::json::parse(RunCapture(
      {REAPERD_BINARY, "rank", "--json", "--top", "0", "--config", cfg.path()}, &status));
  ASSERT_EQ(status, 0);
  EXPECT_EQ(Find(sys["candidates"], zombie), nullptr);
  const auto* z = Find(sys["protected"], zombie);
  ASSERT_NE(z, nullptr) << "the zombie " << zombie << " is not listed";
  EXPECT_EQ((*z)["reason"], "no memory (zombie or exiting)");

  // Under pressure, the daemon kills the hog, not the zombie nor its sleeping parent.
  Daemon d({sb->cgroup()}, 30000, {"--config", cfg.path()});
  ASSERT_TRUE(d.WaitStarted()) << d.Log();
  Hog hog = Hog::Spawn({.touch_mib = 32, .grow_mib_per_s = 100, .grow_max_mib = 400}, sb.get());
  ASSERT_GT(hog.pid(), 0);
  EXPECT_TRUE(hog.WaitDead(hog.pid(), 15000)) << d.Log();
  d.Stop();
  const auto kills = Decisions(d);
  ASSERT_EQ(kills.size(), 1u) << d.Log();
  EXPECT_EQ(Field(kills[0], "pid"), static_cast<std::uint64_t>(hog.pid()));
  EXPECT_FALSE(parent.Dead());
  EXPECT_EQ(sb->OomKills(), 0u);
}

// A bomb of up to 200 children of 4 MiB each (800 MiB) in a 256 MiB cgroup, one fork every
// 20 ms: the daemon kills one victim widened per `widen`, in one decision, before the kernel
// acts. Returns how many processes are left in the cgroup 5 s after the bomb's parent died.
std::size_t ForkBombSurvivors(const char* widen) {
  auto sb = Sandbox("hostile-bomb", 256 * kMiB);
  if (!sb) return ~std::size_t{0};
  TempConfig cfg(std::string(kSafe) + "[kill]\nlast_resort = \"none\"\nwiden = \"" + widen +
                 "\"\n");
  EXPECT_TRUE(cfg.ok());
  Daemon d({sb->cgroup()}, 30000, {"--config", cfg.path()});
  EXPECT_TRUE(d.WaitStarted()) << d.Log();
  Helper bomb = SpawnForkBomb(*sb, 200, 4, 20);
  EXPECT_GT(bomb.pid(), 0);
  EXPECT_TRUE(bomb.WaitDead(15000)) << d.Log();
  EXPECT_TRUE(WaitFor([&] { return !d.Lines("reaped").empty(); }, 5000)) << d.Log();
  WaitFor([&] { return sb->Procs().empty(); }, 5000);
  const std::size_t left = sb->Procs().size();
  d.Stop();
  EXPECT_EQ(sb->OomKills(), 0u) << d.Log();
  const auto kills = Decisions(d);
  EXPECT_EQ(kills.size(), 1u) << d.Log();
  const auto reaped = d.Lines("reaped");
  if (!reaped.empty()) {
    EXPECT_GT(Field(reaped[0], "signalled"), 1u) << reaped[0];
  }
  return left;
}

TEST(HostileLive, ForkBombDiesWithCgroupWidening) { EXPECT_EQ(ForkBombSurvivors("cgroup"), 0u); }

// Process-group widening signals every member of the group the scan saw, then re-walks
// /proc for children forked between the scan and the signal (the bomb forks every 20 ms):
// none may survive.
TEST(HostileLive, ForkBombDiesWithProcessGroupWidening) {
  EXPECT_EQ(ForkBombSurvivors("process_group"), 0u);
}

// A huge process outside the scope and the biggest one inside it, protected by comm: the
// daemon kills the small growing hog instead, and rank agrees.
TEST(HostileLive, OutsideTheScopeAndProtectedCommAreNeverChosen) {
  auto scope = Sandbox("hostile-scope", 256 * kMiB);
  auto outside = Sandbox("hostile-outside", 1024 * kMiB);
  ASSERT_TRUE(scope && outside);
  Helper big_outside = SpawnNamed(*outside, "bigoutside", 400);
  Helper guarded = SpawnNamed(*scope, "guarded)\n", 140);
  ASSERT_GT(big_outside.pid(), 0);
  ASSERT_GT(guarded.pid(), 0);
  TempConfig cfg(std::string(kSafe) +
                 "[kill]\nlast_resort = \"none\"\n"
                 "[rank]\nprotect_comm = [\"guarded)\\n\"]\n");
  ASSERT_TRUE(cfg.ok());
  auto j = nlohmann::json::parse(Rank(scope->cgroup(), cfg.path(), true));
  EXPECT_EQ(Find(j["candidates"], big_outside.pid()), nullptr);
  EXPECT_EQ(Find(j["protected"], big_outside.pid()), nullptr);
  const auto* g = Find(j["protected"], guarded.pid());
  ASSERT_NE(g, nullptr) << j.dump(2);
  EXPECT_EQ((*g)["reason"], "rank.protect_comm");

  Daemon d({scope->cgroup()}, 30000, {"--config", cfg.path()});
  ASSERT_TRUE(d.WaitStarted()) << d.Log();
  Hog hog = Hog::Spawn({.touch_mib = 16, .grow_mib_per_s = 60, .grow_max_mib = 300}, scope.get());
  ASSERT_GT(hog.pid(), 0);
  EXPECT_TRUE(hog.WaitDead(hog.pid(), 15000)) << d.Log();
  d.Stop();
  for (const auto& k : Decisions(d)) {
    EXPECT_EQ(Field(k, "pid"), static_cast<std::uint64_t>(hog.pid())) << d.Log();
  }
  EXPECT_FALSE(Decisions(d).empty()) << d.Log();
  EXPECT_FALSE(guarded.Dead());
  EXPECT_FALSE(big_outside.Dead());
  EXPECT_EQ(scope->OomKills(), 0u) << d.Log();
}

}  // namespace
}  // namespace reaperd::itest
