#include "kill/held_oom_groups.h"

#include <algorithm>
#include <cerrno>

#include "kill/path_util.h"

namespace reaperd::kill {

void HeldOomGroups::Hold(sys::SystemView& view,
                         std::span<const std::string_view> cgroups) noexcept {
  // The wanted set: each cgroup, then its ancestors below the root (views into `cgroups`).
  std::array<std::string_view, kMax> want;
  std::size_t n = 0;
  for (std::string_view leaf : cgroups) {
    for (std::string_view c = leaf; !c.empty() && c != "/" && n < kMax; c = CgroupParent(c)) {
      if (std::find(want.begin(), want.begin() + n, c) == want.begin() + n) want[n++] = c;
    }
  }
  const auto wanted = std::span<const std::string_view>(want.data(), n);
  for (Entry& e : held_) {
    if (e.fd.valid() && std::find(wanted.begin(), wanted.end(), e.cgroup.view()) == wanted.end()) {
      e = Entry{};
    }
  }
  for (std::string_view c : wanted) {
    if (Fd(c) >= 0) continue;
    auto slot =
        std::find_if(held_.begin(), held_.end(), [](const Entry& e) { return !e.fd.valid(); });
    if (slot == held_.end()) return;
    char path[512];
    const std::string_view dir = CgroupPath(c, "", path);
    if (dir.empty() || c.size() > slot->cgroup.capacity()) continue;
    auto d = view.OpenDir(sys::Root::kCgroup, dir);
    if (!d) continue;
    auto f = view.OpenAt(d->get(), "memory.oom.group");
    if (!f) {
      if (f.error().sys_errno == ENOTSUP) return;  // this view holds nothing
      continue;
    }
    slot->cgroup.Assign(c);
    slot->fd = std::move(*f);
  }
}

int HeldOomGroups::Fd(std::string_view cgroup) const noexcept {
  for (const Entry& e : held_) {
    if (e.fd.valid() && e.cgroup.view() == cgroup) return e.fd.get();
  }
  return -1;
}

std::size_t HeldOomGroups::held() const noexcept {
  return static_cast<std::size_t>(
      std::count_if(held_.begin(), held_.end(), [](const Entry& e) { return e.fd.valid(); }));
}

}  // namespace reaperd::kill
