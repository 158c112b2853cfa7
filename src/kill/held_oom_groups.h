// The memory.oom.group files of the likely victims' cgroups (and of their ancestors below the
// root), held open ahead of the kill, so that the victim builder's cgroup widening
// (VictimBuilder::FindCgroupWidening) reads each with one pread. Opening a cgroup file at the
// kill allocates a kernel file and a seq_file buffer and walks kernfs: in the lab's growers,
// at 8-10% available, that took 13-76 ms in half of the widened second kills (session 19),
// where the rest of the build took about 1 ms. A held read is as fresh as a read by path.
// Fixed storage: nothing allocates, holding included.
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <string_view>

#include "base/small_string.h"
#include "sys/system_view.h"
#include "sys/unique_fd.h"

namespace reaperd::kill {

class HeldOomGroups {
 public:
  static constexpr std::size_t kMax = 16;

  // Holds the file of every cgroup in `cgroups` (absolute paths in the view's hierarchy) and of
  // each of its ancestors but the root, up to kMax in all, nearest the leaves first; lets go of
  // every other. A cgroup whose file cannot be opened is left to the read by path.
  void Hold(sys::SystemView& view, std::span<const std::string_view> cgroups) noexcept;
  // The held fd of cgroup's memory.oom.group, or -1.
  int Fd(std::string_view cgroup) const noexcept;
  std::size_t held() const noexcept;

 private:
  struct Entry {
    SmallString<256> cgroup;
    sys::UniqueFd fd;
  };
  std::array<Entry, kMax> held_{};
};

}  // namespace reaperd::kill
