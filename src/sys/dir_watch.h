// Directory watches over inotify, for cgroup discovery (daemon/discovery.h): a cgroup created
// or removed under a watched directory, or a file in it written (a new memory limit), makes
// the fd readable at once, so the daemon loop need not wait for its periodic rescan.
// Measured on kernel 6.18 (cgroupfs is kernfs): mkdir/rmdir of a cgroup gives IN_CREATE /
// IN_DELETE on its parent, and write(2) to memory.limit_in_bytes or memory.max gives IN_MODIFY
// on the cgroup's directory; but an rmdir'd cgroup's own watch gets no IN_DELETE_SELF and no
// IN_IGNORED, so it would pin the dead directory forever. Drain() therefore drops the watch of
// a child directory when its parent reports IN_DELETE, and the caller's sweeps drop the rest.
// Not thread-safe; one owner (the loop thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/error.h"
#include "sys/unique_fd.h"

namespace reaperd::sys {

// One inotify event on a watched directory. The views are valid during the callback only.
struct DirEvent {
  std::string_view dir;    // the watched directory, as given to Watch()
  std::string_view name;   // the entry the event is about; "" for the directory itself
  std::uint32_t mask = 0;  // IN_* bits
};

struct DrainResult {
  std::size_t events = 0;  // events read (IN_Q_OVERFLOW included)
  bool overflow = false;   // the kernel's queue overflowed: events were lost, rescan in full
  bool more = false;       // stopped at max_events; the fd is still readable
};

class DirWatcher {
 public:
  // mask: what each directory is watched for (IN_ONLYDIR is added). At most max_watches
  // directories are watched at once, so a huge tree cannot exhaust fs.inotify.max_user_watches
  // (shared by every process of the user).
  static Result<DirWatcher> Create(std::uint32_t mask, std::size_t max_watches) noexcept;

  // Watches path (absolute) unless it already is; marks it seen for the current sweep.
  // False when max_watches is reached (nothing added). Errors are the kernel's: ENOENT (gone
  // meanwhile), ENOSPC (fs.inotify.max_user_watches), EACCES.
  Result<bool> Watch(const std::string& path);
  // Stops watching path; nothing when it is not watched.
  void Unwatch(std::string_view path) noexcept;
  // Stops watching everything (after an overflow, a watch may be on a directory that was
  // removed and made anew under the same name).
  void Clear() noexcept;

  // A sweep: BeginSweep(), Watch() each directory still there, EndSweep() drops every watch
  // not watched since BeginSweep() (directories gone, or no longer reached by the walk).
  void BeginSweep() noexcept { ++sweep_; }
  std::size_t EndSweep() noexcept;

  // Reads pending events and calls f for each, in order; stops after the read that reaches
  // max_events (so a burst never stalls the caller; the fd stays readable for the rest). IN_IGNORED
  // forgets its watch, and IN_DELETE of a watched child directory unwatches the child (see above).
  Result<DrainResult> Drain(std::size_t max_events, const std::function<void(const DirEvent&)>& f);

  std::size_t size() const noexcept { return by_path_.size(); }
  bool watching(std::string_view path) const { return by_path_.find(path) != by_path_.end(); }
  std::size_t max_watches() const noexcept { return max_watches_; }
  int fd() const noexcept { return fd_.get(); }

 private:
  DirWatcher(UniqueFd fd, std::uint32_t mask, std::size_t max_watches)
      : fd_(std::move(fd)), mask_(mask), max_watches_(max_watches) {}

  struct Watched {
    int wd = -1;
    std::uint64_t sweep = 0;  // the last sweep that saw the directory
  };

  UniqueFd fd_;
  std::uint32_t mask_;
  std::size_t max_watches_;
  std::uint64_t sweep_ = 0;
  std::map<std::string, Watched, std::less<>> by_path_;
  std::unordered_map<int, std::string> by_wd_;
  std::vector<char> buf_;  // read buffer, sized at the first Drain()
};

}  // namespace reaperd::sys
