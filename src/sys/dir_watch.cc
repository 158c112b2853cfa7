#include "sys/dir_watch.h"

#include <limits.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace reaperd::sys {

namespace {

// Room for many events per read(2); an event is 16 bytes plus its padded name (cgroup names
// are short), and one read must fit at least one event with the longest name.
constexpr std::size_t kReadBytes = 16 * 1024;
static_assert(kReadBytes >= sizeof(inotify_event) + NAME_MAX + 1);

}  // namespace

Result<DirWatcher> DirWatcher::Create(std::uint32_t mask, std::size_t max_watches) noexcept {
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return Fail(Error::Sys(errno, "inotify_init1"));
  return DirWatcher(UniqueFd(fd), mask | IN_ONLYDIR, max_watches);
}

Result<bool> DirWatcher::Watch(const std::string& path) {
  if (auto it = by_path_.find(path); it != by_path_.end()) {
    it->second.sweep = sweep_;
    return true;
  }
  if (by_path_.size() >= max_watches_) return false;
  const int wd = ::inotify_add_watch(fd_.get(), path.c_str(), mask_);
  if (wd < 0) return Fail(Error::Sys(errno, "inotify_add_watch"));
  // The same inode under a second name gives the same wd: keep one name for it.
  if (auto old = by_wd_.find(wd); old != by_wd_.end()) by_path_.erase(old->second);
  by_path_[path] = Watched{wd, sweep_};
  by_wd_[wd] = path;
  return true;
}

void DirWatcher::Unwatch(std::string_view path) noexcept {
  auto it = by_path_.find(path);
  if (it == by_path_.end()) return;
  // EINVAL when the kernel already dropped it; either way it is gone from our maps.
  (void)::inotify_rm_watch(fd_.get(), it->second.wd);
  by_wd_.erase(it->second.wd);
  by_path_.erase(it);
}

void DirWatcher::Clear() noexcept {
  for (const auto& [path, w] : by_path_) (void)::inotify_rm_watch(fd_.get(), w.wd);
  by_path_.clear();
  by_wd_.clear();
}

std::size_t DirWatcher::EndSweep() noexcept {
  std::size_t dropped = 0;
  for (auto it = by_path_.begin(); it != by_path_.end();) {
    if (it->second.sweep == sweep_) {
      ++it;
      continue;
    }
    (void)::inotify_rm_watch(fd_.get(), it->second.wd);
    by_wd_.erase(it->second.wd);
    it = by_path_.erase(it);
    ++dropped;
  }
  return dropped;
}

Result<DrainResult> DirWatcher::Drain(std::size_t max_events,
                                      const std::function<void(const DirEvent&)>& f) {
  if (buf_.empty()) buf_.resize(kReadBytes);
  DrainResult out;
  std::string child;
  while (out.events < max_events) {
    const ssize_t n = ::read(fd_.get(), buf_.data(), buf_.size());
    if (n < 0) {
      if (errno == EAGAIN) return out;
      if (errno == EINTR) continue;
      return Fail(Error::Sys(errno, "read(inotify)"));
    }
    std::size_t pos = 0;
    const auto end = static_cast<std::size_t>(n);
    while (pos + sizeof(inotify_event) <= end) {
      inotify_event ev;
      std::memcpy(&ev, buf_.data() + pos, sizeof ev);  // the buffer has no alignment promise
      const char* name_at = buf_.data() + pos + sizeof ev;
      pos += sizeof ev + ev.len;
      ++out.events;
      if (ev.mask & IN_Q_OVERFLOW) {
        out.overflow = true;
        continue;
      }
      auto w = by_wd_.find(ev.wd);
      if (w == by_wd_.end()) continue;    // a watch dropped since the event was queued
      const std::string dir = w->second;  // a copy: the callback or the removals below may erase
      const std::string_view name(name_at, ev.len == 0 ? 0 : ::strnlen(name_at, ev.len));
      f(DirEvent{dir, name, ev.mask});
      if (ev.mask & (IN_IGNORED | IN_DELETE_SELF)) {
        if (ev.mask & IN_DELETE_SELF) (void)::inotify_rm_watch(fd_.get(), ev.wd);
        by_path_.erase(dir);
        by_wd_.erase(ev.wd);
      } else if ((ev.mask & (IN_DELETE | IN_MOVED_FROM)) && (ev.mask & IN_ISDIR)) {
        child.assign(dir);
        if (child.empty() || child.back() != '/') child.push_back('/');
        child.append(name);
        Unwatch(child);
      }
    }
  }
  out.more = true;
  return out;
}

}  // namespace reaperd::sys
