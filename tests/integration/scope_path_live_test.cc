// A cgroup scope named by the absolute path a user types (under the memory controller's
// mount) is watched; a scope that does not exist stops `run` and `check-config` before they
// start, naming the path, instead of a daemon that guards nothing.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "support/cgroup_sandbox.h"
#include "support/daemon.h"

namespace reaperd::itest {
namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;

// No output to system paths; the status socket in the test's own directory.
constexpr const char* kConfig = R"(
[report]
kill_report_path = ""
metrics_textfile_path = ""
status_socket = "@DIR@/status.sock"
[watchdog]
report_path = ""
)";

struct Output {
  int status = -1;
  std::string text;  // stdout and stderr
};

Output RunCommand(const std::string& cmd) {
  Output o;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return o;
  std::array<char, 4096> buf{};
  for (std::size_t n; (n = std::fread(buf.data(), 1, buf.size(), p)) > 0;)
    o.text.append(buf.data(), n);
  o.status = ::pclose(p);
  return o;
}

TEST(ScopePathLive, AbsolutePathUnderTheMountIsSampled) {
  std::string why;
  auto sb = CgroupSandbox::Create("abs", 96 * kMiB, &why);
  ASSERT_TRUE(sb) << why;
  ASSERT_EQ(sb->dir().rfind(CgroupSandbox::kMount, 0), 0u) << sb->dir();
  TempConfig cfg(kConfig);
  ASSERT_TRUE(cfg.ok());
  // Daemon prefixes "cgroup:": this is `--scope cgroup:/sys/fs/cgroup/memory/.../abs-N`.
  Daemon d({sb->dir()}, 30000, {"--config", cfg.path(), "--dry-run"});
  ASSERT_TRUE(d.WaitStarted()) << d.Log();
  // Named the way /proc/PID/cgroup names it, and watched through its pressure_level source.
  const auto start = d.Lines("start");
  ASSERT_EQ(start.size(), 1u) << d.Log();
  EXPECT_EQ(TextField(start[0], "scopes"), "\"cgroup:" + sb->cgroup() + "\"") << start[0];
  EXPECT_NE(start[0].find("pressure_level:cgroup:" + sb->cgroup()), std::string::npos) << start[0];
  EXPECT_TRUE(d.Lines("sample").empty()) << d.Log();  // no "cannot sample" warning

  const Output status = RunCommand(std::string(REAPERD_BINARY) + " status --json --socket " +
                                   cfg.dir() + "/status.sock");
  ASSERT_EQ(status.status, 0) << status.text << d.Log();
  auto j = nlohmann::json::parse(status.text, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << status.text;
  ASSERT_EQ(j["scopes"].size(), 1u) << status.text;
  const auto& s = j["scopes"][0];
  EXPECT_EQ(s["scope"], "cgroup:" + sb->cgroup()) << status.text;
  // Sampled against the sandbox's own limit, not the host's MemTotal.
  EXPECT_EQ(s["total_bytes"].get<std::uint64_t>(), 96 * kMiB) << status.text;
  EXPECT_LE(s["available_bytes"].get<std::uint64_t>(), 96 * kMiB) << status.text;
}

TEST(ScopePathLive, MissingScopeRefusesToStartNamingThePath) {
  std::string why;
  auto sb = CgroupSandbox::Create("missing", 64 * kMiB, &why);
  ASSERT_TRUE(sb) << why;
  TempConfig cfg(kConfig);
  ASSERT_TRUE(cfg.ok());
  const std::string bin = REAPERD_BINARY;
  for (const std::string& path : {sb->dir() + "/no-such-child", sb->cgroup() + "/no-such-child"}) {
    const Output run = RunCommand(bin + " run --no-mlock --dry-run --run-for-ms 5000 --config " +
                                  cfg.path() + " --scope cgroup:" + path);
    ASSERT_TRUE(WIFEXITED(run.status)) << run.text;
    EXPECT_NE(WEXITSTATUS(run.status), 0) << run.text;
    EXPECT_NE(run.text.find("no such cgroup " + sb->dir() + "/no-such-child"), std::string::npos)
        << run.text;
    EXPECT_EQ(run.text.find("start version="), std::string::npos) << run.text;

    const Output rank =
        RunCommand(bin + " rank --config " + cfg.path() + " --scope cgroup:" + path);
    EXPECT_NE(rank.status, 0) << rank.text;
    EXPECT_NE(rank.text.find("no-such-child"), std::string::npos) << rank.text;
  }
  // An auto scope under a missing cgroup, on the command line or in the config.
  const Output autos = RunCommand(bin + " run --no-mlock --dry-run --run-for-ms 5000 --config " +
                                  cfg.path() + " --scope auto:" + sb->dir() + "/gone");
  EXPECT_NE(autos.status, 0) << autos.text;
  EXPECT_NE(autos.text.find(sb->dir() + "/gone"), std::string::npos) << autos.text;
  TempConfig under(std::string(kConfig) + "[daemon]\nwatch_limited_cgroups_under = \"" + sb->dir() +
                   "/gone\"\n");
  ASSERT_TRUE(under.ok());
  const Output check = RunCommand(bin + " check-config " + under.path());
  EXPECT_NE(check.status, 0) << check.text;
  EXPECT_NE(check.text.find(sb->dir() + "/gone"), std::string::npos) << check.text;
  // The same config with a cgroup that exists is fine.
  TempConfig fine(std::string(kConfig) + "[daemon]\nwatch_limited_cgroups_under = \"" + sb->dir() +
                  "\"\n");
  ASSERT_TRUE(fine.ok());
  const Output ok = RunCommand(bin + " check-config " + fine.path());
  EXPECT_EQ(ok.status, 0) << ok.text;
}

}  // namespace
}  // namespace reaperd::itest
