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

// A cgroup path as typed, made relative to the hierarchy's root ("/a/b"): "a/b", "/a/b/" and,
// when `mount` is where the memory controller's hierarchy is mounted, "MOUNT/a/b" all give
// "/a/b". Repeated and trailing '/' are dropped. Empty for an empty path, ".." or a newline.
std::string NormalizeCgroupPath(std::string_view typed, std::string_view mount);
// Parses "system" or "cgroup:PATH" (PATH normalized as above; existence is the caller's).
bool ParseScope(std::string_view text, Scope* out, std::string_view mount = {});

}  // namespace reaperd::policy
