// Builds the short relative paths the kill layer reads ("1234/stat", "a/b/cgroup.procs")
// into caller buffers, so the kill path formats paths without allocating.
#pragma once

#include <sys/types.h>

#include <charconv>
#include <cstring>
#include <span>
#include <string_view>

namespace reaperd::kill {

// "PID/name" (or "PID" when name is empty); empty view if buf is too small.
inline std::string_view PidPath(pid_t pid, std::string_view name, std::span<char> buf) noexcept {
  char* end = buf.data() + buf.size();
  auto [p, ec] = std::to_chars(buf.data(), end, pid);
  if (ec != std::errc()) return {};
  if (!name.empty()) {
    if (static_cast<std::size_t>(end - p) < name.size() + 1) return {};
    *p++ = '/';
    std::memcpy(p, name.data(), name.size());
    p += name.size();
  }
  return {buf.data(), static_cast<std::size_t>(p - buf.data())};
}

// Whether cgroup path is root or below it ("/a/b" is below "/a", "/ab" is not; everything is
// below "/"). An empty root (no known cgroup) holds only the empty path.
inline bool IsAtOrBelow(std::string_view path, std::string_view root) noexcept {
  if (path == root) return true;
  if (root == "/") return true;
  if (root.empty()) return false;
  return path.size() > root.size() && path.starts_with(root) && path[root.size()] == '/';
}

// A cgroup path ("/a/b", absolute in its hierarchy) made relative to the hierarchy's root,
// plus "/name"; the root itself gives just "name". Empty view if buf is too small.
inline std::string_view CgroupPath(std::string_view cgroup, std::string_view name,
                                   std::span<char> buf) noexcept {
  while (!cgroup.empty() && cgroup.front() == '/') cgroup.remove_prefix(1);
  while (!cgroup.empty() && cgroup.back() == '/') cgroup.remove_suffix(1);
  std::size_t need = cgroup.size() + (cgroup.empty() ? 0 : 1) + name.size();
  if (need > buf.size()) return {};
  char* p = buf.data();
  std::memcpy(p, cgroup.data(), cgroup.size());
  p += cgroup.size();
  if (!cgroup.empty() && !name.empty()) *p++ = '/';
  std::memcpy(p, name.data(), name.size());
  p += name.size();
  return {buf.data(), static_cast<std::size_t>(p - buf.data())};
}

// The parent of an absolute cgroup path ("/a/b" -> "/a", "/a" -> "/"); "/" stays "/".
inline std::string_view CgroupParent(std::string_view cgroup) noexcept {
  while (cgroup.size() > 1 && cgroup.back() == '/') cgroup.remove_suffix(1);
  auto pos = cgroup.rfind('/');
  if (pos == std::string_view::npos || pos == 0) return "/";
  return cgroup.substr(0, pos);
}

}  // namespace reaperd::kill
