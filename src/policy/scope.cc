#include "policy/scope.h"

namespace reaperd::policy {

bool Scope::Contains(std::string_view proc_cgroup) const noexcept {
  if (kind == ScopeKind::kSystem) return true;
  if (cgroup == "/") return true;
  if (!proc_cgroup.starts_with(cgroup)) return false;
  // "/a/b" contains "/a/b" and "/a/b/c", not "/a/bc".
  return proc_cgroup.size() == cgroup.size() || proc_cgroup[cgroup.size()] == '/';
}

std::string NormalizeCgroupPath(std::string_view typed, std::string_view mount) {
  if (typed.empty() || typed.find('\n') != std::string_view::npos) return {};
  while (mount.size() > 1 && mount.back() == '/') mount.remove_suffix(1);
  // "/sys/fs/cgroup/memory/x" under the mount "/sys/fs/cgroup/memory" is "/x"; a user types
  // the path ls shows, the kernel's /proc/PID/cgroup shows the other.
  if (mount.size() > 1 && typed.starts_with(mount) &&
      (typed.size() == mount.size() || typed[mount.size()] == '/')) {
    typed.remove_prefix(mount.size());
  }
  // Filled in place (GCC 12 warns falsely on appending to a string in a loop).
  std::string p(typed.size() + 1, '/');
  std::size_t n = 0;
  std::string_view rest = typed;
  while (!rest.empty()) {
    const std::size_t slash = rest.find('/');
    const std::string_view part = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    if (part.empty() || part == ".") continue;  // "//", "/./" and the trailing '/'
    if (part == "..") return {};                // never above the cgroup the user named
    p[n++] = '/';
    part.copy(p.data() + n, part.size());
    n += part.size();
  }
  p.resize(n == 0 ? 1 : n);
  return p;
}

bool ParseScope(std::string_view text, Scope* out, std::string_view mount) {
  if (text == "system") {
    *out = Scope{};
    return true;
  }
  constexpr std::string_view kPrefix = "cgroup:";
  if (!text.starts_with(kPrefix)) return false;
  std::string p = NormalizeCgroupPath(text.substr(kPrefix.size()), mount);
  if (p.empty()) return false;
  out->kind = ScopeKind::kCgroup;
  out->cgroup = std::move(p);
  return true;
}

}  // namespace reaperd::policy
