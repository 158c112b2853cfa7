#include "policy/scope.h"

namespace reaperd::policy {

bool Scope::Contains(std::string_view proc_cgroup) const noexcept {
  if (kind == ScopeKind::kSystem) return true;
  if (cgroup == "/") return true;
  if (!proc_cgroup.starts_with(cgroup)) return false;
  // "/a/b" contains "/a/b" and "/a/b/c", not "/a/bc".
  return proc_cgroup.size() == cgroup.size() || proc_cgroup[cgroup.size()] == '/';
}

bool ParseScope(std::string_view text, Scope* out) {
  if (text == "system") {
    *out = Scope{};
    return true;
  }
  constexpr std::string_view kPrefix = "cgroup:";
  if (!text.starts_with(kPrefix)) return false;
  std::string_view path = text.substr(kPrefix.size());
  if (path.empty()) return false;
  if (path.find("..") != std::string_view::npos || path.find('\n') != std::string_view::npos) {
    return false;
  }
  std::string p;
  if (path.front() != '/') p.push_back('/');
  p.append(path);
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  out->kind = ScopeKind::kCgroup;
  out->cgroup = std::move(p);
  return true;
}

}  // namespace reaperd::policy
