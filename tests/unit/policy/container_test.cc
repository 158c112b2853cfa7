// Container identity from cgroup paths, on the layouts each engine writes (issue 16). The
// paths are those the engines and the kubelet create (systemd and cgroupfs drivers).
#include "policy/container.h"

#include <gtest/gtest.h>

#include <array>
#include <string>

namespace reaperd::policy {
namespace {

const std::string kId = "3f1c9a6e0b2d4f8a9c7e5d3b1a0f2e4d6c8b0a9f7e5d3c1b2a4f6e8d0c2b4a6e";

std::string Label(std::string_view path) {
  std::array<char, 128> buf{};
  return std::string(ContainerLabel(IdentifyContainer(path), buf));
}

TEST(Container, KubernetesSystemdDriverNamesPodQosAndRuntime) {
  const std::string path =
      "/kubepods.slice/kubepods-burstable.slice/"
      "kubepods-burstable-pod1b2c3d4e_5f60_7182_93a4_b5c6d7e8f901.slice/cri-containerd-" +
      kId + ".scope";
  auto c = IdentifyContainer(path);
  EXPECT_EQ(c.engine, ContainerEngine::kContainerd);
  EXPECT_EQ(c.id, kId);
  EXPECT_EQ(c.pod_uid, "1b2c3d4e_5f60_7182_93a4_b5c6d7e8f901");
  EXPECT_EQ(c.qos, PodQos::kBurstable);
  EXPECT_EQ(Label(path), "containerd:3f1c9a6e0b2d");
  auto crio = IdentifyContainer(
      "/kubepods.slice/kubepods-besteffort.slice/"
      "kubepods-besteffort-podaa_bb.slice/crio-" +
      kId + ".scope");
  EXPECT_EQ(crio.engine, ContainerEngine::kCrio);
  EXPECT_EQ(crio.qos, PodQos::kBestEffort);
  const std::string guaranteed_path =
      "/kubepods.slice/kubepods-podcc_dd.slice/docker-" + kId + ".scope";
  auto guaranteed = IdentifyContainer(guaranteed_path);
  EXPECT_EQ(guaranteed.engine, ContainerEngine::kDocker);
  EXPECT_EQ(guaranteed.qos, PodQos::kGuaranteed);
  EXPECT_EQ(guaranteed.pod_uid, "cc_dd");
}

TEST(Container, KubernetesCgroupfsDriver) {
  const std::string path = "/kubepods/besteffort/pod1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901/" + kId;
  auto c = IdentifyContainer(path);
  EXPECT_EQ(c.engine, ContainerEngine::kCri);
  EXPECT_EQ(c.id, kId);
  EXPECT_EQ(c.pod_uid, "1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901");
  EXPECT_EQ(c.qos, PodQos::kBestEffort);
  auto pod_level = IdentifyContainer("/kubepods/pod1234");
  EXPECT_EQ(pod_level.engine, ContainerEngine::kNone);
  EXPECT_EQ(pod_level.qos, PodQos::kGuaranteed);
  EXPECT_EQ(Label("/kubepods/pod1234"), "pod:1234");
  EXPECT_TRUE(IdentifyContainer("/kubepods.slice").kubernetes());
}

TEST(Container, DockerPodmanAndTheirMonitors) {
  EXPECT_EQ(Label("/system.slice/docker-" + kId + ".scope"), "docker:3f1c9a6e0b2d");
  EXPECT_EQ(Label("/docker/" + kId), "docker:3f1c9a6e0b2d");
  EXPECT_EQ(Label("/machine.slice/libpod-" + kId + ".scope"), "podman:3f1c9a6e0b2d");
  EXPECT_EQ(Label("/machine.slice/libpod-" + kId + ".scope/container/init.scope"),
            "podman:3f1c9a6e0b2d");
  EXPECT_EQ(
      Label("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + kId + ".scope"),
      "podman:3f1c9a6e0b2d");
  EXPECT_EQ(Label("/machine.slice/libpod-conmon-" + kId + ".scope"), "podman:3f1c9a6e0b2d");
  EXPECT_EQ(Label("/libpod_parent/libpod-" + kId), "podman:3f1c9a6e0b2d");
  // podman --cgroup-parent=/lab with the cgroupfs manager (the lab's podman on cgroup v1):
  // the whole 64-digit id names it under any parent; a shorter one only under libpod_parent.
  EXPECT_EQ(Label("/process_api/6e3207e4/reaperd_lab/libpod-" + kId), "podman:3f1c9a6e0b2d");
  EXPECT_EQ(Label("/reaperd_lab/libpod-" + kId.substr(0, 16)), "");
}

TEST(Container, MachinesAndLxc) {
  EXPECT_EQ(Label("/machine.slice/systemd-nspawn@web.service/payload"), "nspawn:web");
  EXPECT_EQ(Label("/machine.slice/machine-web.scope"), "machine:web");
  EXPECT_EQ(Label("/lxc.payload.db/system.slice/cron.service"), "lxc:db");
  EXPECT_EQ(Label("/lxc/db"), "lxc:db");
}

TEST(Container, OrdinaryCgroupsAreNoContainer) {
  for (const char* path : {"/", "", "/user.slice/user-1000.slice/session-2.scope",
                           "/system.slice/docker.service", "/system.slice/containerd.service",
                           "/docker", "/system.slice/docker-notanid.scope", "/machine-web.scope",
                           "/libpod-"
                           "3f1c9a6e0b2d4f8a",
                           "/init.scope"}) {
    auto c = IdentifyContainer(path);
    EXPECT_FALSE(c.known()) << path;
    EXPECT_EQ(Label(path), "") << path;
  }
}

TEST(Container, ALabelNeverOverrunsItsBuffer) {
  std::array<char, 8> small{};
  auto c = IdentifyContainer("/machine.slice/systemd-nspawn@averylongmachinename.service");
  EXPECT_EQ(ContainerLabel(c, small), "nspawn:a");
}

// Names as the kubelet writes them under /var/log/pods (kuberuntime.BuildPodLogsDirectory):
// an API pod's uid has dashes, a static pod's is the bare hash of its manifest.
TEST(Container, PodLogDirectoriesNameNamespacePodAndUid) {
  PodLogDir d;
  ASSERT_TRUE(
      ParsePodLogDir("kube-system_kube-proxy-6xsx9_81e09ae0-12ec-4ec5-94b8-51cda7906370", &d));
  EXPECT_EQ(d.ns, "kube-system");
  EXPECT_EQ(d.name, "kube-proxy-6xsx9");
  EXPECT_EQ(d.uid, "81e09ae0-12ec-4ec5-94b8-51cda7906370");
  ASSERT_TRUE(ParsePodLogDir("kube-system_kube-apiserver-cp_33d556edd3ae8ef21980288cef77ae8b", &d));
  EXPECT_EQ(d.name, "kube-apiserver-cp");
  EXPECT_EQ(d.uid, "33d556edd3ae8ef21980288cef77ae8b");
  for (const char* bad : {"", "default", "default_web", "_web_0a", "default__0a", "default_web_",
                          "default_web_NOTHEX", "a_b_c_0a1b"}) {
    EXPECT_FALSE(ParsePodLogDir(bad, &d)) << bad;
  }
}

TEST(Container, ThePodUidOfASystemdSliceIsSpelledWithDashes) {
  std::array<char, 64> buf{};
  EXPECT_EQ(CanonicalPodUid("1b2c3d4e_5f60_7182_93a4_b5c6d7e8f901", buf),
            "1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901");
  std::array<char, 4> small{};
  EXPECT_EQ(CanonicalPodUid("1b2c_3d", small), "1b2c");
}

}  // namespace
}  // namespace reaperd::policy
