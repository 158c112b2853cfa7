// Which container a cgroup path belongs to, from the layouts container engines and systemd
// give their cgroups (issue 16). Pure parsing: no file is read, so a kill report and
// `reaperd rank` name the container the same way on every host, and nothing is looked up
// on the kill path. The views point into the path given.
//   Kubernetes, systemd driver: /kubepods.slice/kubepods-burstable.slice/
//     kubepods-burstable-pod<uid>.slice/cri-containerd-<id>.scope (crio-<id>, docker-<id>)
//   Kubernetes, cgroupfs driver: /kubepods/burstable/pod<uid>/<id>
//   Docker: /system.slice/docker-<id>.scope, /docker/<id>
//   Podman: /machine.slice/libpod-<id>.scope, .../user@UID.service/user.slice/libpod-<id>.scope,
//     /libpod_parent/libpod-<id>, PARENT/libpod-<64-digit id> (and libpod-conmon-<id>.scope, the
//     container's monitor)
//   containerd: cri-containerd-<id>.scope; CRI-O: crio-<id>.scope
//   systemd-machined: /machine.slice/systemd-nspawn@NAME.service, /machine.slice/
//     machine-NAME.scope (nspawn containers and VMs); LXC: /lxc.payload.NAME, /lxc/NAME
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace reaperd::policy {

enum class ContainerEngine {
  kNone,
  kDocker,
  kPodman,
  kContainerd,
  kCrio,
  kCri,  // a Kubernetes container of a runtime the path does not name (cgroupfs driver)
  kNspawn,
  kMachine,  // registered with systemd-machined (machine-NAME.scope)
  kLxc,
};

enum class PodQos { kNone, kGuaranteed, kBurstable, kBestEffort };

struct ContainerInfo {
  ContainerEngine engine = ContainerEngine::kNone;
  std::string_view id;       // the container's id (64 hex digits) or machine name
  std::string_view pod_uid;  // Kubernetes: the pod's uid (dashes or underscores as in path)
  PodQos qos = PodQos::kNone;
  bool monitor = false;  // the engine's monitor of the container (conmon's scope), not it
  bool kubernetes() const noexcept { return !pod_uid.empty() || qos != PodQos::kNone; }
  bool known() const noexcept { return engine != ContainerEngine::kNone || kubernetes(); }
};

// The innermost container the path lies in; engine kNone (and no pod) if none.
ContainerInfo IdentifyContainer(std::string_view cgroup) noexcept;

const char* ContainerEngineName(ContainerEngine e) noexcept;
const char* PodQosName(PodQos q) noexcept;
// "docker:0123456789ab" (the id cut to 12, as the engines show it), "nspawn:web", "pod:UID"
// for a pod-level cgroup, "" when none. Into buf; returns the view written.
std::string_view ContainerLabel(const ContainerInfo& c, std::span<char> buf) noexcept;

// A pod's namespace and name, as the kubelet's pod log directory names them.
struct PodName {
  std::string ns;
  std::string name;
  friend bool operator==(const PodName&, const PodName&) = default;
};

// The kubelet keeps each pod's logs in <root>/<namespace>_<name>_<uid>
// (kuberuntime.BuildPodLogsDirectory); namespaces and pod names are DNS names, with no '_'.
// Splits such a directory name; false for anything else. The views point into dir.
struct PodLogDir {
  std::string_view ns, name, uid;
};
bool ParsePodLogDir(std::string_view dir, PodLogDir* out) noexcept;

// The pod uid in its canonical spelling (the systemd driver writes '_' for '-' in the slice
// name): into buf, cut at its size; returns the view written.
std::string_view CanonicalPodUid(std::string_view uid, std::span<char> buf) noexcept;

}  // namespace reaperd::policy
