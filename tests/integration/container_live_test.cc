// Issue 16: a victim in a cgroup laid out the way the kubelet's cgroupfs driver lays out a
// pod's container (kubepods/burstable/pod<uid>/<container id>) is named by its container in
// the kill line, from the cgroup path alone: real cgroups, a real kill by the daemon. And in a
// pod laid out the way the kubelet's systemd driver names it, with the pod's log directory
// where the kubelet keeps it, the kill line, the kill report and the metrics name the
// container and the pod's namespace and name.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>

#include "integration/support/cgroup_sandbox.h"
#include "integration/support/daemon.h"
#include "integration/support/hog.h"
#include "integration/support/live_util.h"

namespace reaperd::itest {
namespace {

constexpr std::uint64_t kMiB = 1 << 20;
const char* const kPod = "pod1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901";
const char* const kContainer = "3f1c9a6e0b2d4f8a9c7e5d3b1a0f2e4d6c8b0a9f7e5d3c1b2a4f6e8d0c2b4a6e";

TEST(ContainerLive, AKillInAPodsContainerNamesTheContainer) {
  auto sb = live::Sandbox("node", 256 * kMiB);
  ASSERT_TRUE(sb);
  // The pod's layout below the scope (the scope is the node's slice here).
  std::string dir = sb->dir();
  for (const std::string part : {"kubepods", "burstable", kPod, kContainer}) {
    dir += "/" + part;
    ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0) << dir;
  }
  Daemon d({sb->cgroup()}, 30000);
  ASSERT_TRUE(d.WaitStarted()) << d.Log();
  Hog hog = Hog::Spawn({.grow_mib_per_s = 60, .grow_max_mib = 400}, nullptr);
  ASSERT_GT(hog.pid(), 0);
  ASSERT_TRUE(WriteFile(dir + "/cgroup.procs", std::to_string(hog.pid())));
  EXPECT_TRUE(hog.WaitDead(hog.pid(), 20000)) << d.Log();
  d.Stop();
  auto kills = d.Lines("kill");
  ASSERT_EQ(kills.size(), 1u) << d.Log();
  EXPECT_EQ(Field(kills[0], "pid"), static_cast<std::uint64_t>(hog.pid()));
  EXPECT_EQ(TextField(kills[0], "container"), "\"cri:3f1c9a6e0b2d\"") << kills[0];
  hog.Kill();
  // Leaf first: the sandbox removes only its own directory.
  for (int i = 0; i < 4; ++i) {
    ::rmdir(dir.c_str());
    dir.resize(dir.rfind('/'));
  }
}

// reaperd in a container's cgroup namespace (as a DaemonSet's pod on cgroup v2, or Podman's
// default there), with the host's hierarchy mounted: /proc/PID/cgroup of the leaker in a
// sibling cgroup reads "/../leak-...", the mount shows it as the scope's path. Red on the old
// code: no process of the scope matched it, the scope had no candidate, and the kernel's memcg
// OOM killer killed the hog.
TEST(ContainerLive, InItsOwnCgroupNamespaceReaperdStillKillsInTheScope) {
  auto home = live::Sandbox("nsroot", 512 * kMiB);
  auto sb = live::Sandbox("nsleak", 256 * kMiB);
  ASSERT_TRUE(home && sb);
  Daemon d({sb->cgroup()}, 30000, {}, home->dir());
  ASSERT_TRUE(d.WaitStarted()) << d.Log();
  auto start = d.Lines("start");
  ASSERT_FALSE(start.empty());
  EXPECT_EQ(TextField(start.back(), "cgroup_ns_base"), "\"" + home->cgroup() + "\"")
      << start.back();
  Hog hog = Hog::Spawn({.grow_mib_per_s = 200, .grow_max_mib = 600}, sb.get());
  ASSERT_GT(hog.pid(), 0);
  EXPECT_TRUE(hog.WaitDead(hog.pid(), 15000)) << d.Log();
  EXPECT_TRUE(WaitFor([&] { return !d.Lines("reaped").empty(); }, 5000)) << d.Log();
  d.Stop();
  EXPECT_EQ(sb->OomKills(), 0u) << "the kernel's memcg OOM killer acted first\n" << d.Log();
  auto kills = d.Lines("kill");
  ASSERT_EQ(kills.size(), 1u) << d.Log();
  EXPECT_EQ(Field(kills[0], "pid"), static_cast<std::uint64_t>(hog.pid()));
  EXPECT_EQ(TextField(kills[0], "cgroup"), "\"" + sb->cgroup() + "\"") << kills[0];
}

TEST(ContainerLive, AKillInAKubeletNamedPodCarriesContainerAndPodInReportAndMetrics) {
  const std::string uid = "0c1d2e3f-4a5b-6c7d-8e9f-a0b1c2d3e4f5";
  std::string slice_uid = uid;
  for (char& c : slice_uid) c = c == '-' ? '_' : c;
  TempConfig cfg(
      "[report]\nkill_report_path = \"@DIR@/kills.jsonl\"\n"
      "metrics_textfile_path = \"@DIR@/reaperd.prom\"\nmetrics_interval_ms = 1000\n"
      "status_socket = \"\"\npod_logs_dir = \"@DIR@/pods\"\n");
  ASSERT_TRUE(cfg.ok());
  // The kubelet's pod log directory: <namespace>_<name>_<uid>/<container name>/.
  const std::string pods = cfg.dir() + "/pods";
  const std::string pod_dir = pods + "/shop_cart-5d8f7-x2x4q_" + uid;
  for (const std::string& d : {pods, pod_dir, pod_dir + "/cart"}) {
    ASSERT_EQ(::mkdir(d.c_str(), 0755), 0) << d;
  }
  auto sb = live::Sandbox("node", 256 * kMiB);
  ASSERT_TRUE(sb);
  std::string dir = sb->dir();
  const std::string parts[] = {"kubepods.slice", "kubepods-burstable.slice",
                               "kubepods-burstable-pod" + slice_uid + ".slice",
                               std::string("cri-containerd-") + kContainer + ".scope"};
  for (const std::string& part : parts) {
    dir += "/" + part;
    ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0) << dir;
  }
  Daemon d({sb->cgroup()}, 30000, {"--config", cfg.path()});
  ASSERT_TRUE(d.WaitStarted()) << d.Log();
  Hog hog = Hog::Spawn({.grow_mib_per_s = 60, .grow_max_mib = 400}, nullptr);
  ASSERT_GT(hog.pid(), 0);
  ASSERT_TRUE(WriteFile(dir + "/cgroup.procs", std::to_string(hog.pid())));
  EXPECT_TRUE(hog.WaitDead(hog.pid(), 20000)) << d.Log();
  d.Stop();  // writes the metrics file a last time
  hog.Kill();
  auto kills = d.Lines("kill");
  ASSERT_EQ(kills.size(), 1u) << d.Log();
  EXPECT_EQ(TextField(kills[0], "container"), "\"containerd:3f1c9a6e0b2d\"") << kills[0];
  EXPECT_EQ(TextField(kills[0], "pod_namespace"), "\"shop\"") << kills[0];
  EXPECT_EQ(TextField(kills[0], "pod"), "\"cart-5d8f7-x2x4q\"") << kills[0];

  const std::string report = ReadFile(cfg.dir() + "/kills.jsonl");
  auto r = nlohmann::json::parse(report.substr(0, report.find('\n')), nullptr, false);
  ASSERT_FALSE(r.is_discarded()) << report;
  const auto& c = r["victim"]["container"];
  EXPECT_EQ(c["engine"], "containerd") << report;
  EXPECT_EQ(c["qos"], "burstable") << report;
  EXPECT_EQ(c["pod_namespace"], "shop") << report;
  EXPECT_EQ(c["pod_name"], "cart-5d8f7-x2x4q") << report;

  const std::string metrics = ReadFile(cfg.dir() + "/reaperd.prom");
  const std::string labels =
      "container=\"containerd:3f1c9a6e0b2d\",pod_namespace=\"shop\",pod=\"cart-5d8f7-x2x4q\"";
  EXPECT_NE(metrics.find("reaperd_kills_total{scope=\"cgroup:" + sb->cgroup() + "\",outcome="),
            std::string::npos)
      << metrics;
  bool found = false;
  for (std::size_t at = metrics.find("reaperd_kills_total{"); at != std::string::npos;
       at = metrics.find("reaperd_kills_total{", at + 1)) {
    found =
        found || metrics.substr(at, metrics.find('\n', at) - at).find(labels) != std::string::npos;
  }
  EXPECT_TRUE(found) << metrics;
  for (int i = 0; i < 4; ++i) {
    ::rmdir(dir.c_str());
    dir.resize(dir.rfind('/'));
  }
  for (const std::string& dd : {pod_dir + "/cart", pod_dir, pods}) ::rmdir(dd.c_str());
}

}  // namespace
}  // namespace reaperd::itest
