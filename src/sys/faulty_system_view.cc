#include "sys/faulty_system_view.h"

#include <cerrno>

namespace reaperd::sys {

namespace {

int ErrnoOf(Fault f) noexcept {
  switch (f) {
    case Fault::kEnoent:
      return ENOENT;
    case Fault::kEsrch:
      return ESRCH;
    case Fault::kEacces:
      return EACCES;
    default:
      return EIO;
  }
}

}  // namespace

const char* FaultName(Fault f) noexcept {
  switch (f) {
    case Fault::kEnoent:
      return "ENOENT";
    case Fault::kEsrch:
      return "ESRCH";
    case Fault::kEacces:
      return "EACCES";
    case Fault::kEio:
      return "EIO";
    case Fault::kShortRead:
      return "short_read";
    case Fault::kGarbage:
      return "garbage";
  }
  return "?";
}

int FaultySystemView::injected_total() const noexcept {
  int n = 0;
  for (int c : injected_) n += c;
  return n;
}

const FaultRule* FaultySystemView::Match(std::string_view path) noexcept {
  const FaultRule* hit = nullptr;
  for (FaultRule& r : rules_) {
    if (path.find(r.path_contains) == std::string_view::npos) continue;
    std::uint32_t n = r.seen++;
    if (hit == nullptr && n >= r.skip && (n - r.skip) % (r.every_nth ? r.every_nth : 1) == 0) {
      hit = &r;
    }
  }
  if (hit != nullptr) {
    ++injected_[static_cast<int>(hit->fault)];
    faulted_paths_.emplace_back(path);
  }
  return hit;
}

std::string FaultySystemView::PathAt(int dirfd, std::string_view name) const {
  auto it = dirs_.find(dirfd);
  std::string p = it == dirs_.end() ? std::string("?") : it->second;
  p.push_back('/');
  p.append(name);
  return p;
}

Result<ReadResult> FaultySystemView::Apply(const FaultRule& rule, std::string_view, ReadResult r,
                                           std::span<char> buf) noexcept {
  if (rule.fault == Fault::kShortRead) {
    r.size /= 2;
    r.truncated = false;  // a torn read does not announce itself
    return r;
  }
  if (rule.fault == Fault::kGarbage) {
    static constexpr char kJunk[] = {'\0', ')', '(', '\n', ' ', '\xff', '\xc3', '-', '9', '0', ':'};
    // The first byte is never valid in any /proc or cgroup file: garbage that happened to
    // be well formed could not be told from data by anyone, so it is not what is tested.
    if (r.size > 0) buf[0] = '\xff';
    for (std::size_t i = 1; i < r.size; ++i) {
      junk_state_ = junk_state_ * 1664525u + 1013904223u;
      buf[i] = kJunk[(junk_state_ >> 24) % sizeof(kJunk)];
    }
    return r;
  }
  return Fail(Error::Sys(ErrnoOf(rule.fault), "injected fault"));
}

Result<ReadResult> FaultySystemView::Read(Root root, std::string_view path,
                                          std::span<char> buf) noexcept {
  const FaultRule* f = Match(path);
  if (f != nullptr && f->fault != Fault::kShortRead && f->fault != Fault::kGarbage) {
    return Fail(Error::Sys(ErrnoOf(f->fault), "injected fault"));
  }
  auto r = base_.Read(root, path, buf);
  if (!r || f == nullptr) return r;
  return Apply(*f, path, *r, buf);
}

Result<UniqueFd> FaultySystemView::OpenDir(Root root, std::string_view path) noexcept {
  const FaultRule* f = Match(path);
  if (f != nullptr && f->fault != Fault::kShortRead && f->fault != Fault::kGarbage) {
    return Fail(Error::Sys(ErrnoOf(f->fault), "injected fault"));
  }
  auto fd = base_.OpenDir(root, path);
  if (fd) dirs_[fd->get()] = std::string(path);  // fd numbers are reused: overwrite
  return fd;
}

Result<ReadResult> FaultySystemView::ReadAt(int dirfd, std::string_view name,
                                            std::span<char> buf) noexcept {
  const std::string path = PathAt(dirfd, name);
  const FaultRule* f = Match(path);
  if (f != nullptr && f->fault != Fault::kShortRead && f->fault != Fault::kGarbage) {
    return Fail(Error::Sys(ErrnoOf(f->fault), "injected fault"));
  }
  auto r = base_.ReadAt(dirfd, name, buf);
  if (!r || f == nullptr) return r;
  return Apply(*f, path, *r, buf);
}

Result<UniqueFd> FaultySystemView::OpenAt(int dirfd, std::string_view name) noexcept {
  const std::string path = PathAt(dirfd, name);
  const FaultRule* f = Match(path);
  if (f != nullptr && f->fault != Fault::kShortRead && f->fault != Fault::kGarbage) {
    return Fail(Error::Sys(ErrnoOf(f->fault), "injected fault"));
  }
  auto fd = base_.OpenAt(dirfd, name);
  if (fd) dirs_[fd->get()] = path;
  return fd;
}

Result<ReadResult> FaultySystemView::ReadFd(int fd, std::span<char> buf) noexcept {
  auto it = dirs_.find(fd);
  const std::string path = it == dirs_.end() ? std::string("?") : it->second;
  const FaultRule* f = Match(path);
  if (f != nullptr && f->fault != Fault::kShortRead && f->fault != Fault::kGarbage) {
    return Fail(Error::Sys(ErrnoOf(f->fault), "injected fault"));
  }
  auto r = base_.ReadFd(fd, buf);
  if (!r || f == nullptr) return r;
  return Apply(*f, path, *r, buf);
}

Result<std::size_t> FaultySystemView::ReadLinkAt(int dirfd, std::string_view name,
                                                 std::span<char> buf) noexcept {
  const std::string path = PathAt(dirfd, name);
  const FaultRule* f = Match(path);
  if (f != nullptr && f->fault != Fault::kShortRead && f->fault != Fault::kGarbage) {
    return Fail(Error::Sys(ErrnoOf(f->fault), "injected fault"));
  }
  auto n = base_.ReadLinkAt(dirfd, name, buf);
  if (!n || f == nullptr) return n;
  auto r = Apply(*f, path, ReadResult{*n, false}, buf);
  if (!r) return Fail(r.error());
  return r->size;
}

Result<void> FaultySystemView::Write(Root root, std::string_view path,
                                     std::string_view data) noexcept {
  const FaultRule* f = Match(path);
  if (f != nullptr) return Fail(Error::Sys(ErrnoOf(f->fault), "injected fault"));
  return base_.Write(root, path, data);
}

Result<void> FaultySystemView::ListPids(std::vector<pid_t>& out) {
  const FaultRule* f = Match("<pids>");
  if (f != nullptr) return Fail(Error::Sys(ErrnoOf(f->fault), "injected fault"));
  return base_.ListPids(out);
}

Result<void> FaultySystemView::ListCgroupPids(std::string_view path, std::vector<pid_t>& out) {
  const FaultRule* f = Match("<cgroup.procs>");
  if (f != nullptr) return Fail(Error::Sys(ErrnoOf(f->fault), "injected fault"));
  return base_.ListCgroupPids(path, out);
}

Result<void> FaultySystemView::ListDirs(Root root, std::string_view path,
                                        std::vector<std::string>& out) {
  const FaultRule* f = Match(path);
  if (f != nullptr) return Fail(Error::Sys(ErrnoOf(f->fault), "injected fault"));
  return base_.ListDirs(root, path, out);
}

}  // namespace reaperd::sys
