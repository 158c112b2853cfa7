#include "scan/cgroup_prefs.h"

#include "policy/snapshot.h"
#include "proc/parse_util.h"

namespace reaperd::scan {

namespace {

std::string_view Parent(std::string_view c) noexcept {
  while (c.size() > 1 && c.back() == '/') c.remove_suffix(1);
  const auto slash = c.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return "/";
  return c.substr(0, slash);
}

// systemd's cg_get_xattr_bool: a boolean ("1", "yes", "true", "on").
bool Truthy(std::string_view v) noexcept {
  v = proc::Trim(v);
  return v == "1" || v == "yes" || v == "y" || v == "true" || v == "t" || v == "on";
}

}  // namespace

void CgroupPrefs::Clear() noexcept {
  for (Entry& e : cache_) e.used = false;
}

std::uint8_t CgroupPrefs::Own(sys::SystemView& view, std::string_view cgroup,
                              uid_t trusted_owner) noexcept {
  while (!cgroup.empty() && cgroup.front() == '/') cgroup.remove_prefix(1);
  std::uint8_t bits = 0;
  char buf[16];
  auto has = [&](const char* name) { return view.GetXattr(sys::Root::kCgroup, cgroup, name, buf); };
  // trusted.*: only a process with CAP_SYS_ADMIN can set them; oomd reads mere presence.
  if (has("trusted.oomd_prefer")) bits |= policy::kOomdPrefer;
  if (has("trusted.oomd_avoid")) bits |= policy::kOomdAvoid;
  auto owner = view.Owner(sys::Root::kCgroup, cgroup);
  if (owner && (*owner == 0 || *owner == trusted_owner)) {
    if (auto n = has("user.oomd_omit"); n && Truthy({buf, *n})) bits |= policy::kOomdOmit;
    if (auto n = has("user.oomd_avoid"); n && Truthy({buf, *n})) bits |= policy::kOomdAvoid;
  }
  return bits;
}

std::uint8_t CgroupPrefs::Lookup(sys::SystemView& view, std::string_view cgroup,
                                 uid_t trusted_owner) noexcept {
  if (cgroup.empty()) return 0;
  for (const Entry& e : cache_) {
    if (e.used && e.path.view() == cgroup) return e.bits;
  }
  std::uint8_t bits = 0;
  std::string_view c = cgroup;
  for (int depth = 0; depth < kMaxDepth; ++depth) {
    // An ancestor looked up before answers for itself and everything above it.
    bool cached = false;
    for (const Entry& e : cache_) {
      if (e.used && e.path.view() == c) {
        bits |= e.bits;
        cached = true;
        break;
      }
    }
    if (cached) break;
    bits |= Own(view, c, trusted_owner);
    if (c == "/") break;
    c = Parent(c);
  }
  if (cgroup.size() <= 255) {
    Entry& e = cache_[next_];
    next_ = (next_ + 1) % cache_.size();
    e.path.Assign(cgroup);
    e.bits = bits;
    e.used = true;
  }
  return bits;
}

}  // namespace reaperd::scan
