#include "scan/pod_names.h"

#include <array>
#include <vector>

#include "sys/fs.h"

namespace reaperd::scan {

const policy::PodName* PodNames::Find(std::string_view uid) const noexcept {
  std::array<char, 64> buf;
  if (uid.empty() || uid.size() > buf.size()) return nullptr;
  auto it = by_uid_.find(policy::CanonicalPodUid(uid, buf));
  return it == by_uid_.end() ? nullptr : &it->second;
}

const policy::PodName* PodNames::Lookup(std::string_view uid, std::int64_t now_ns) {
  if (const policy::PodName* p = Find(uid)) return p;
  if (root_.empty() || uid.empty()) return nullptr;
  if (listed_ && now_ns - listed_ns_ < refresh_ns_) return nullptr;
  Refresh(now_ns);
  return Find(uid);
}

void PodNames::Refresh(std::int64_t now_ns) {
  listed_ = true;
  listed_ns_ = now_ns;
  if (root_.empty()) return;
  std::vector<std::string> dirs;
  if (!sys::ListSubdirectories(root_, dirs)) {
    by_uid_.clear();  // no directory (not a node, or not mounted): no pods
    return;
  }
  std::map<std::string, policy::PodName, std::less<>> fresh;
  for (const std::string& d : dirs) {
    policy::PodLogDir parsed;
    if (!policy::ParsePodLogDir(d, &parsed)) continue;
    fresh[std::string(parsed.uid)] = {std::string(parsed.ns), std::string(parsed.name)};
  }
  by_uid_ = std::move(fresh);
}

}  // namespace reaperd::scan
