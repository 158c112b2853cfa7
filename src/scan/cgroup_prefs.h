// The OOM preferences cgroups state through extended attributes (policy::OomdPreference):
// systemd writes user.oomd_omit / user.oomd_avoid for ManagedOOMPreference=omit / avoid on a
// unit's cgroup, and oomd's users write trusted.oomd_prefer / trusted.oomd_avoid. A process
// gets those of its cgroup and of every ancestor. user.* attributes are honoured only on a
// cgroup owned by root or by the owner of the scope's cgroup, the rule systemd-oomd applies:
// otherwise a user could mark their own cgroups "avoid" and push every kill onto others.
// Lookups are cached by path (a fixed number of entries, no allocation) until Clear(), which
// the scanner calls at each full scan, so a kill's refresh reads no attribute it read before.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <string_view>

#include "base/small_string.h"
#include "sys/system_view.h"

namespace reaperd::scan {

class CgroupPrefs {
 public:
  static constexpr std::size_t kCached = 16;
  static constexpr int kMaxDepth = 16;

  // The OomdPreference bits for a process in `cgroup` (an absolute path in the view's
  // cgroup hierarchy), trusting user.* attributes on cgroups owned by root or trusted_owner.
  std::uint8_t Lookup(sys::SystemView& view, std::string_view cgroup, uid_t trusted_owner) noexcept;
  void Clear() noexcept;

 private:
  // The bits set on this one cgroup (not its ancestors).
  std::uint8_t Own(sys::SystemView& view, std::string_view cgroup, uid_t trusted_owner) noexcept;

  struct Entry {
    SmallString<256> path;
    std::uint8_t bits = 0;  // this cgroup's and its ancestors'
    bool used = false;
  };
  std::array<Entry, kCached> cache_{};
  std::size_t next_ = 0;  // round-robin replacement
};

}  // namespace reaperd::scan
