// The namespace and name of the pods on this node, from the directories the kubelet keeps
// for their logs (<root>/<namespace>_<name>_<uid>, policy::ParsePodLogDir): the one place a
// node has them without asking the API server. Cached by uid; the directory is listed again
// only when a uid is missing and the last listing is older than the refresh interval, and
// never by Find(), which the kill line calls after the signal without reading or allocating.
// Thread safety: none; the daemon's loop thread owns it.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "policy/container.h"

namespace reaperd::scan {

class PodNames {
 public:
  static constexpr std::int64_t kDefaultRefreshNs = 1'000'000'000;

  // root "" turns every lookup off.
  explicit PodNames(std::string root, std::int64_t refresh_ns = kDefaultRefreshNs)
      : root_(std::move(root)), refresh_ns_(refresh_ns) {}

  // The pod with this uid ('_' or '-' spelling) as last listed; nullptr if unknown.
  // Reads nothing, allocates nothing.
  const policy::PodName* Find(std::string_view uid) const noexcept;
  // Find, listing the directory again first if uid is unknown and the last listing is at
  // least refresh_ns older than now_ns (monotonic). An unreadable directory is no pod.
  const policy::PodName* Lookup(std::string_view uid, std::int64_t now_ns);
  // Lists the directory now; pods whose directory went are forgotten.
  void Refresh(std::int64_t now_ns);
  // Refresh() if it never listed or its last listing is at least age_ns old.
  void RefreshIfOlder(std::int64_t now_ns, std::int64_t age_ns) {
    if (!listed_ || now_ns - listed_ns_ >= age_ns) Refresh(now_ns);
  }

  const std::string& root() const noexcept { return root_; }
  std::size_t size() const noexcept { return by_uid_.size(); }

 private:
  std::string root_;
  std::int64_t refresh_ns_;
  std::int64_t listed_ns_ = 0;
  bool listed_ = false;
  std::map<std::string, policy::PodName, std::less<>> by_uid_;
};

}  // namespace reaperd::scan
