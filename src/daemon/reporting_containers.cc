// The container and pod labels of Reporting's metrics and status (issue 16). Cardinality:
// a scope's labels are a function of its cgroup, so its gauges gain no series; the kill
// counters' labels are the victim's and may differ from the scope's (a system scope kills in
// any container), so their distinct sets are capped (kKillLabelSets) and the rest folded into
// "other": an operator keeps one series per container killed in, up to a bound a node with
// churning pods cannot push past.
#include <array>

#include "daemon/reporting.h"
#include "policy/container.h"

namespace reaperd::daemon {

const policy::PodName* Reporting::AppendContainerLabels(std::string_view cgroup,
                                                        std::int64_t now_ns, report::Labels& out) {
  const policy::ContainerInfo c = policy::IdentifyContainer(cgroup);
  if (!c.known()) return nullptr;
  std::array<char, 128> buf;
  const std::string_view label = policy::ContainerLabel(c, buf);
  if (!label.empty()) out.emplace_back("container", std::string(label));
  const policy::PodName* pod = c.pod_uid.empty() ? nullptr : pods_.Lookup(c.pod_uid, now_ns);
  if (pod != nullptr) {
    out.emplace_back("pod_namespace", pod->ns);
    out.emplace_back("pod", pod->name);
  }
  return pod;
}

const report::Labels& Reporting::ScopeLabels(ScopeState& st, std::int64_t now_ns) {
  const policy::Scope& scope = st.scope;
  const bool fresh = st.labels.empty();
  // A pod's directory may appear after its cgroup: look again until it is named.
  const bool pod_pending = !fresh && scope.kind == policy::ScopeKind::kCgroup &&
                           !policy::IdentifyContainer(scope.cgroup).pod_uid.empty() &&
                           std::none_of(st.labels.begin(), st.labels.end(),
                                        [](const auto& kv) { return kv.first == "pod"; });
  if (!fresh && !pod_pending) return st.labels;
  report::Labels l = {{"scope", scope.Name()}};
  if (scope.kind == policy::ScopeKind::kCgroup)
    (void)AppendContainerLabels(scope.cgroup, now_ns, l);
  if (!fresh && l != st.labels) (void)metrics_.RemoveGauges(st.labels);
  st.labels = std::move(l);
  return st.labels;
}

nlohmann::json Reporting::ScopeContainerJson(std::string_view cgroup) const {
  if (cgroup.empty()) return nullptr;
  const policy::ContainerInfo c = policy::IdentifyContainer(cgroup);
  return report::ContainerJson(cgroup, c.pod_uid.empty() ? nullptr : pods_.Find(c.pod_uid));
}

}  // namespace reaperd::daemon
