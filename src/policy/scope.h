// A scope is what one detector watches and what its victims may be chosen from: the
// whole system, or one cgroup (and its descendants).
#pragma once

#include <string>
#include <string_view>

namespace reaperd::policy {

enum class ScopeKind : unsigned char { kSystem, kCgroup };

struct Scope {
  ScopeKind kind = ScopeKind::kSystem;
  std::string cgroup;  // for kCgroup: the path relative to the cgroup root, starting with '/'

  std::string Name() const { return kind == ScopeKind::kSystem ? "system" : "cgroup:" + cgroup; }
  // True when a process in cgroup path `proc_cgroup` belongs to this scope.
  bool Contains(std::string_view proc_cgroup) const noexcept;
};

// Parses "system" or "cgroup:PATH" (PATH made absolute, trailing '/' dropped).
bool ParseScope(std::string_view text, Scope* out);

}  // namespace reaperd::policy
