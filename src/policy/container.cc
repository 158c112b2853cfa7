#include "policy/container.h"

#include <algorithm>
#include <cstring>

namespace reaperd::policy {

namespace {

bool IsHex(std::string_view s) noexcept {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// A container id as the engines write it: 12 to 64 lowercase hex digits.
bool IsId(std::string_view s) noexcept { return s.size() >= 12 && s.size() <= 64 && IsHex(s); }

// name with prefix and suffix cut off, if it has both; empty otherwise.
std::string_view Between(std::string_view name, std::string_view prefix,
                         std::string_view suffix) noexcept {
  if (name.size() <= prefix.size() + suffix.size()) return {};
  if (!name.starts_with(prefix) || !name.ends_with(suffix)) return {};
  return name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
}

PodQos QosOf(std::string_view name) noexcept {
  if (name == "burstable" || name == "kubepods-burstable.slice") return PodQos::kBurstable;
  if (name == "besteffort" || name == "kubepods-besteffort.slice") return PodQos::kBestEffort;
  return PodQos::kNone;
}

// "kubepods-burstable-pod<uid>.slice", "kubepods-pod<uid>.slice" or "pod<uid>": the uid.
std::string_view PodUidOf(std::string_view name) noexcept {
  if (name.ends_with(".slice")) {
    const auto at = name.rfind("-pod");
    if (!name.starts_with("kubepods-") || at == std::string_view::npos) return {};
    return name.substr(at + 4, name.size() - at - 4 - 6);
  }
  if (name.starts_with("pod") && name.size() > 3) return name.substr(3);
  return {};
}

struct Engine {
  const char* prefix;
  const char* suffix;
  ContainerEngine engine;
  bool monitor = false;
};

// Scope-style names, the longer prefixes first (cri-containerd- before containerd-).
constexpr Engine kScopes[] = {
    {"cri-containerd-", ".scope", ContainerEngine::kContainerd},
    {"crio-conmon-", ".scope", ContainerEngine::kCrio, true},
    {"crio-", ".scope", ContainerEngine::kCrio},
    {"docker-", ".scope", ContainerEngine::kDocker},
    {"libpod-conmon-", ".scope", ContainerEngine::kPodman, true},
    {"libpod-", ".scope", ContainerEngine::kPodman},
    {"libpod-", "", ContainerEngine::kPodman},  // cgroupfs manager: /libpod_parent/libpod-<id>
};

}  // namespace

ContainerInfo IdentifyContainer(std::string_view cgroup) noexcept {
  ContainerInfo out;
  bool in_kubepods = false, in_docker_dir = false, in_lxc_dir = false, in_machines = false;
  std::string_view parent;
  while (!cgroup.empty()) {
    while (!cgroup.empty() && cgroup.front() == '/') cgroup.remove_prefix(1);
    const auto end = std::min(cgroup.find('/'), cgroup.size());
    const std::string_view name = cgroup.substr(0, end);
    cgroup.remove_prefix(end);
    if (name.empty()) break;
    if (name == "kubepods" || name == "kubepods.slice") {
      in_kubepods = true;
      out.qos = PodQos::kGuaranteed;  // a pod right below kubepods; a class slice says otherwise
    } else if (in_kubepods && out.pod_uid.empty() && QosOf(name) != PodQos::kNone) {
      out.qos = QosOf(name);
    } else if (in_kubepods && out.pod_uid.empty() && !PodUidOf(name).empty()) {
      out.pod_uid = PodUidOf(name);
    } else if (in_kubepods && !out.pod_uid.empty() && out.engine == ContainerEngine::kNone &&
               IsId(name)) {
      out.engine = ContainerEngine::kCri;  // cgroupfs driver: the bare id
      out.id = name;
    } else if (in_docker_dir && IsId(name)) {
      out.engine = ContainerEngine::kDocker;
      out.id = name;
    } else if (in_lxc_dir && out.engine == ContainerEngine::kNone) {
      out.engine = ContainerEngine::kLxc;
      out.id = name;
    } else if (auto lxc = Between(name, "lxc.payload.", ""); !lxc.empty()) {
      out.engine = ContainerEngine::kLxc;
      out.id = lxc;
    } else if (auto n = Between(name, "systemd-nspawn@", ".service"); !n.empty()) {
      out.engine = ContainerEngine::kNspawn;
      out.id = n;
    } else if (auto m = Between(name, "machine-", ".scope"); in_machines && !m.empty()) {
      out.engine = ContainerEngine::kMachine;
      out.id = m;
    } else {
      for (const Engine& e : kScopes) {
        auto id = Between(name, e.prefix, e.suffix);
        if (!IsId(id)) continue;
        // A bare "libpod-<id>" (the cgroupfs manager) under libpod_parent, or under any
        // --cgroup-parent when the id is whole (64 digits: no ordinary name looks so).
        if (*e.suffix == '\0' && parent != "libpod_parent" && id.size() != 64) continue;
        out.engine = e.engine;
        out.id = id;
        out.monitor = e.monitor;
        break;
      }
    }
    in_docker_dir = name == "docker" && out.engine == ContainerEngine::kNone;
    in_lxc_dir = name == "lxc" && out.engine == ContainerEngine::kNone;
    in_machines = name == "machine.slice" || in_machines;
    parent = name;
  }
  return out;
}

const char* ContainerEngineName(ContainerEngine e) noexcept {
  switch (e) {
    case ContainerEngine::kNone:
      return "none";
    case ContainerEngine::kDocker:
      return "docker";
    case ContainerEngine::kPodman:
      return "podman";
    case ContainerEngine::kContainerd:
      return "containerd";
    case ContainerEngine::kCrio:
      return "crio";
    case ContainerEngine::kCri:
      return "cri";
    case ContainerEngine::kNspawn:
      return "nspawn";
    case ContainerEngine::kMachine:
      return "machine";
    case ContainerEngine::kLxc:
      return "lxc";
  }
  return "none";
}

const char* PodQosName(PodQos q) noexcept {
  switch (q) {
    case PodQos::kNone:
      return "none";
    case PodQos::kGuaranteed:
      return "guaranteed";
    case PodQos::kBurstable:
      return "burstable";
    case PodQos::kBestEffort:
      return "besteffort";
  }
  return "none";
}

std::string_view ContainerLabel(const ContainerInfo& c, std::span<char> buf) noexcept {
  std::size_t n = 0;
  auto put = [&](std::string_view s) {
    const std::size_t k = std::min(s.size(), buf.size() - n);
    std::memcpy(buf.data() + n, s.data(), k);
    n += k;
  };
  if (c.engine != ContainerEngine::kNone) {
    put(ContainerEngineName(c.engine));
    put(":");
    const bool hex_id = IsId(c.id);
    put(hex_id ? c.id.substr(0, 12) : c.id);
  } else if (c.kubernetes() && !c.pod_uid.empty()) {
    put("pod:");
    put(c.pod_uid);
  }
  return {buf.data(), n};
}

bool ParsePodLogDir(std::string_view dir, PodLogDir* out) noexcept {
  const auto first = dir.find('_');
  const auto last = dir.rfind('_');
  if (first == std::string_view::npos || first == last) return false;
  PodLogDir d{dir.substr(0, first), dir.substr(first + 1, last - first - 1), dir.substr(last + 1)};
  // A uid is hex digits and dashes (a static pod's is a bare hash); the name has no '_'.
  const bool uid_ok = !d.uid.empty() && std::all_of(d.uid.begin(), d.uid.end(), [](char c) {
    return c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
  if (d.ns.empty() || d.name.empty() || !uid_ok || d.name.find('_') != std::string_view::npos) {
    return false;
  }
  *out = d;
  return true;
}

std::string_view CanonicalPodUid(std::string_view uid, std::span<char> buf) noexcept {
  const std::size_t n = std::min(uid.size(), buf.size());
  for (std::size_t i = 0; i < n; ++i) buf[i] = uid[i] == '_' ? '-' : uid[i];
  return {buf.data(), n};
}

}  // namespace reaperd::policy
