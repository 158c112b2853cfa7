#include "proc/cgroup_path.h"

#include <cstddef>
#include <cstring>

namespace reaperd::proc {

namespace {

// A path being built in a fixed buffer, one component at a time ("/a/b", "" for the root).
struct Builder {
  char buf[512];
  std::size_t n = 0;

  bool Push(std::string_view comp) noexcept {
    if (n + 1 + comp.size() > sizeof(buf)) return false;
    buf[n++] = '/';
    std::memcpy(buf + n, comp.data(), comp.size());
    n += comp.size();
    return true;
  }
  bool Pop() noexcept {
    if (n == 0) return false;
    while (n > 0 && buf[n - 1] != '/') --n;
    --n;  // the '/'
    return true;
  }
  // Applies each component of path ("." and empty ones skipped, ".." one level up).
  bool Apply(std::string_view path) noexcept {
    while (!path.empty()) {
      std::size_t slash = path.find('/');
      std::string_view comp = path.substr(0, slash);
      path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
      if (comp.empty() || comp == ".") continue;
      if (comp == "..") {
        if (!Pop()) return false;
      } else if (!Push(comp)) {
        return false;
      }
    }
    return true;
  }
};

}  // namespace

int MountLevelsAbove(std::string_view mount_root) noexcept {
  int levels = 0;
  while (!mount_root.empty() && mount_root.back() == '/') mount_root.remove_suffix(1);
  while (!mount_root.empty()) {
    if (!mount_root.starts_with("/..")) return -1;
    mount_root.remove_prefix(3);
    if (!mount_root.empty() && mount_root.front() != '/') return -1;  // "/..x"
    ++levels;
  }
  return levels;
}

bool RebaseCgroupPath(std::string_view path, std::string_view base,
                      SmallString<512>& out) noexcept {
  Builder b;
  if (!b.Apply(base) || !b.Apply(path)) return false;
  if (b.n == 0) {
    out.Assign("/");
  } else {
    out.Assign(std::string_view(b.buf, b.n));
  }
  return true;
}

}  // namespace reaperd::proc
