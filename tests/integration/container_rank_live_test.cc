// Issue 16, `reaperd rank` on real cgroups laid out the way the kubelet's cgroupfs driver lays
// out pods: a BestEffort pod's process ranks before a bigger Guaranteed pod's, and a root
// process named kubelet outside any container is protected, with the reason rank shows.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "integration/support/cgroup_sandbox.h"
#include "integration/support/live_util.h"

namespace reaperd::itest {
namespace {

constexpr std::uint64_t kMiB = 1 << 20;

// A child that names itself comm, touches mib MiB and waits to be killed; placed in the
// cgroup dir (cgroup.procs) before it returns.
pid_t Spawn(const char* comm, std::size_t mib, const std::string& dir) {
  int ready[2];
  if (::pipe(ready) != 0) std::abort();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(ready[0]);
    ::prctl(PR_SET_NAME, comm, 0, 0, 0);
    auto* mem = static_cast<char*>(std::malloc(mib << 20));
    if (mem == nullptr) ::_exit(1);
    std::memset(mem, 0x5a, mib << 20);
    if (::write(ready[1], "y", 1) != 1) ::_exit(3);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char c = 'n';
  EXPECT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  EXPECT_TRUE(WriteFile(dir + "/cgroup.procs", std::to_string(pid)));
  return pid;
}

TEST(ContainerRankLive, QosOrdersPodsAndTheKubeletIsProtected) {
  auto sb = live::Sandbox("rankpods", 512 * kMiB);
  ASSERT_TRUE(sb);
  const std::string id_a(64, 'a'), id_b(64, 'b');
  const std::string besteffort = sb->dir() + "/kubepods/besteffort/pod0a0b/" + id_a;
  const std::string guaranteed = sb->dir() + "/kubepods/pod0c0d/" + id_b;
  const std::string pods = sb->dir() + "/kubepods";
  const std::vector<std::string> dirs = {
      pods,       pods + "/besteffort", pods + "/besteffort/pod0a0b",
      besteffort, pods + "/pod0c0d",    guaranteed};
  for (const std::string& d : dirs) ASSERT_EQ(::mkdir(d.c_str(), 0755), 0) << d;
  std::vector<pid_t> kids = {Spawn("small", 20, besteffort), Spawn("big", 60, guaranteed),
                             Spawn("kubelet", 80, sb->dir())};
  const std::string cmd =
      std::string(REAPERD_BINARY) + " rank --json --top 0 --scope cgroup:" + sb->cgroup();
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    std::array<char, 65536> buf;
    std::size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    ::pclose(p);
  }
  for (pid_t k : kids) {
    ::kill(k, SIGKILL);
    ::waitpid(k, nullptr, 0);
  }
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) ::rmdir(it->c_str());

  auto j = nlohmann::json::parse(out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << out;
  std::vector<pid_t> order;
  for (const auto& c : j["candidates"]) order.push_back(c["process"]["pid"].get<pid_t>());
  ASSERT_EQ(order, (std::vector<pid_t>{kids[0], kids[1]})) << out;
  EXPECT_EQ(j["candidates"][0]["score"]["qos_order"], "besteffort (first)") << out;
  EXPECT_EQ(j["candidates"][1]["score"]["qos_order"], "guaranteed (last)") << out;
  bool kubelet = false;
  for (const auto& pr : j["protected"]) {
    if (pr["process"]["pid"].get<pid_t>() != kids[2]) continue;
    kubelet = true;
    EXPECT_EQ(pr["reason"], "kubelet or container runtime") << out;
  }
  EXPECT_TRUE(kubelet) << out;
}

}  // namespace
}  // namespace reaperd::itest
