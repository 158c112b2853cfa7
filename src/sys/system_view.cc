#include "sys/system_view.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace reaperd::sys {

namespace {

// Copies a string_view into a NUL-terminated stack buffer for openat(2).
bool ToPath(std::string_view in, char (&out)[PATH_MAX]) noexcept {
  if (in.size() >= PATH_MAX) return false;
  std::memcpy(out, in.data(), in.size());
  out[in.size()] = '\0';
  return true;
}

bool Exists(int dirfd, const char* name) noexcept {
  struct stat st {};
  return ::fstatat(dirfd, name, &st, 0) == 0;
}

bool FileContainsWord(const std::string& path, std::string_view word) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  char buf[512];
  bool truncated = false;
  auto n = ReadAll(fd.get(), buf, &truncated);
  if (!n) return false;
  std::string_view text(buf, *n);
  std::size_t pos = 0;
  while ((pos = text.find(word, pos)) != std::string_view::npos) {
    bool left = pos == 0 || text[pos - 1] == ' ' || text[pos - 1] == '\n';
    std::size_t end = pos + word.size();
    bool right = end == text.size() || text[end] == ' ' || text[end] == '\n';
    if (left && right) return true;
    pos = end;
  }
  return false;
}

// Deep enough for any real hierarchy (systemd nests a few levels); a deeper subtree is an
// error, so the caller falls back to a full scan rather than missing members.
constexpr int kMaxCgroupDepth = 32;

// Appends the PIDs of cgroup.procs in dirfd, read in chunks into a stack buffer (a cgroup of
// 10,000 processes lists ~70 KB). A number cut by a chunk boundary carries over.
Result<void> ReadProcsAt(int dirfd, std::vector<pid_t>& out) {
  UniqueFd fd(::openat(dirfd, "cgroup.procs", O_RDONLY | O_CLOEXEC));
  if (!fd) return Fail(Error::Sys(errno, "open cgroup.procs"));
  char buf[4096];
  long pid = 0;
  bool in_number = false;
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(Error::Sys(errno, "read cgroup.procs"));
    }
    if (n == 0) break;
    for (ssize_t i = 0; i < n; ++i) {
      const char c = buf[i];
      if (c >= '0' && c <= '9') {
        if (pid > INT_MAX / 10) return Fail(Error::Parse("cgroup.procs: pid out of range"));
        pid = pid * 10 + (c - '0');
        in_number = true;
      } else if (c == '\n') {
        if (in_number && pid > 0) out.push_back(static_cast<pid_t>(pid));
        pid = 0;
        in_number = false;
      } else {
        return Fail(Error::Parse("cgroup.procs: not a pid list"));
      }
    }
  }
  if (in_number && pid > 0) out.push_back(static_cast<pid_t>(pid));
  return {};
}

// The cgroup at dirfd and its descendants, depth first. getdents64 into a stack buffer per
// level, not readdir: no heap allocation beyond out's growth.
Result<void> ListProcsTree(int dirfd, int depth, std::vector<pid_t>& out) {
  if (depth > kMaxCgroupDepth) return Fail(Error::Of(Errc::kInvalid, "cgroup tree too deep"));
  if (auto r = ReadProcsAt(dirfd, out); !r) return r;
  alignas(8) char buf[2048];
  for (;;) {
    const long n = ::syscall(SYS_getdents64, dirfd, buf, sizeof buf);
    if (n < 0) return Fail(Error::Sys(errno, "getdents64 cgroup"));
    if (n == 0) break;
    for (long off = 0; off < n;) {
      const auto* e = reinterpret_cast<const struct dirent64*>(buf + off);
      off += e->d_reclen;
      if (e->d_type != DT_DIR || e->d_name[0] == '.') continue;
      UniqueFd child(::openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!child) {
        if (errno == ENOENT || errno == ENODEV) continue;  // removed since the listing
        return Fail(Error::Sys(errno, "open child cgroup"));
      }
      auto r = ListProcsTree(child.get(), depth + 1, out);
      // A child removed between its open and its read (rmdir of an empty cgroup) is gone.
      if (!r && r.error().code == Errc::kSys &&
          (r.error().sys_errno == ENOENT || r.error().sys_errno == ENODEV)) {
        continue;
      }
      if (!r) return r;
    }
  }
  return {};
}

}  // namespace

Result<std::size_t> ReadAll(int fd, std::span<char> buf, bool* truncated) noexcept {
  std::size_t got = 0;
  *truncated = false;
  while (got < buf.size()) {
    ssize_t n = ::read(fd, buf.data() + got, buf.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(Error::Sys(errno, "read"));
    }
    if (n == 0) return got;
    got += static_cast<std::size_t>(n);
  }
  // The buffer is full: probe for more with a one-byte read.
  char extra;
  ssize_t n;
  do {
    n = ::read(fd, &extra, 1);
  } while (n < 0 && errno == EINTR);
  *truncated = n > 0;
  return got;
}

Result<RealSystemView> RealSystemView::Open(std::string proc_root, std::string cgroup_root) {
  RealSystemView v;
  v.proc_.Reset(::open(proc_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!v.proc_) return Fail(Error::Sys(errno, "open proc root"));
  {
    std::string sys_root = "/sys";
    if (proc_root != "/proc") {
      const auto slash = proc_root.find_last_of('/');
      sys_root =
          (slash == std::string::npos ? std::string(".") : proc_root.substr(0, slash)) + "/sys";
    }
    v.sys_.Reset(::open(sys_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  }
  if (cgroup_root.empty()) {
    if (FileContainsWord("/sys/fs/cgroup/cgroup.controllers", "memory")) {
      cgroup_root = "/sys/fs/cgroup";
    } else if (::access("/sys/fs/cgroup/memory/memory.usage_in_bytes", F_OK) == 0) {
      cgroup_root = "/sys/fs/cgroup/memory";
    } else if (::access("/sys/fs/cgroup/unified/cgroup.controllers", F_OK) == 0) {
      cgroup_root = "/sys/fs/cgroup/unified";
    } else {
      cgroup_root = "/sys/fs/cgroup";
    }
  }
  v.cgroup_root_ = cgroup_root;
  v.cgroup_.Reset(::open(cgroup_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (v.cgroup_) {
    if (Exists(v.cgroup_.get(), "memory.usage_in_bytes")) {
      v.version_ = CgroupVersion::kV1;
    } else if (Exists(v.cgroup_.get(), "cgroup.controllers")) {
      v.version_ = CgroupVersion::kV2;
    }
  }
  return v;
}

Result<std::size_t> SystemView::GetXattr(Root, std::string_view, const char*,
                                         std::span<char>) noexcept {
  return Fail(Error::Sys(ENOTSUP, "getxattr"));
}

Result<uid_t> SystemView::Owner(Root, std::string_view) noexcept {
  return Fail(Error::Sys(ENOTSUP, "owner"));
}

Result<UniqueFd> SystemView::OpenAt(int, std::string_view) noexcept {
  return Fail(Error::Sys(ENOTSUP, "openat"));
}

Result<ReadResult> SystemView::ReadFd(int, std::span<char>) noexcept {
  return Fail(Error::Sys(ENOTSUP, "pread"));
}

Result<UniqueFd> RealSystemView::OpenAt(int dirfd, std::string_view name) noexcept {
  char p[PATH_MAX];
  if (!ToPath(name, p)) return Fail(Error::Of(Errc::kInvalid, "path too long"));
  UniqueFd fd(::openat(dirfd, p, O_RDONLY | O_CLOEXEC));
  if (!fd) return Fail(Error::Sys(errno, "openat"));
  return fd;
}

Result<ReadResult> RealSystemView::ReadFd(int fd, std::span<char> buf) noexcept {
  ReadResult r;
  ssize_t n;
  do {
    n = ::pread(fd, buf.data(), buf.size(), 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Fail(Error::Sys(errno, "pread"));
  r.size = static_cast<std::size_t>(n);
  r.truncated = r.size == buf.size();  // perhaps more: judged cut, as ReadAt's probe would
  return r;
}

Result<std::size_t> RealSystemView::GetXattr(Root root, std::string_view path, const char* name,
                                             std::span<char> buf) noexcept {
  char p[PATH_MAX];
  if (!ToPath(path.empty() ? std::string_view(".") : path, p)) {
    return Fail(Error::Of(Errc::kInvalid, "path too long"));
  }
  // getxattr takes a path only: open the directory below the root's fd first.
  UniqueFd fd(::openat(RootFd(root), p, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return Fail(Error::Sys(errno, "openat"));
  const ssize_t n = ::fgetxattr(fd.get(), name, buf.data(), buf.size());
  if (n < 0) return Fail(Error::Sys(errno, "fgetxattr"));
  return static_cast<std::size_t>(n);
}

Result<uid_t> RealSystemView::Owner(Root root, std::string_view path) noexcept {
  char p[PATH_MAX];
  if (!ToPath(path.empty() ? std::string_view(".") : path, p)) {
    return Fail(Error::Of(Errc::kInvalid, "path too long"));
  }
  struct stat st {};
  if (::fstatat(RootFd(root), p, &st, 0) != 0) return Fail(Error::Sys(errno, "fstatat"));
  return st.st_uid;
}

Result<ReadResult> RealSystemView::Read(Root root, std::string_view path,
                                        std::span<char> buf) noexcept {
  return ReadAt(RootFd(root), path, buf);
}

Result<UniqueFd> RealSystemView::OpenDir(Root root, std::string_view path) noexcept {
  char p[PATH_MAX];
  if (!ToPath(path, p)) return Fail(Error::Of(Errc::kInvalid, "path too long"));
  int fd = ::openat(RootFd(root), p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Fail(Error::Sys(errno, "openat dir"));
  return UniqueFd(fd);
}

Result<ReadResult> RealSystemView::ReadAt(int dirfd, std::string_view name,
                                          std::span<char> buf) noexcept {
  char p[PATH_MAX];
  if (!ToPath(name, p)) return Fail(Error::Of(Errc::kInvalid, "path too long"));
  UniqueFd fd(::openat(dirfd, p, O_RDONLY | O_CLOEXEC));
  if (!fd) return Fail(Error::Sys(errno, "openat"));
  ReadResult r;
  auto n = ReadAll(fd.get(), buf, &r.truncated);
  if (!n) return Fail(n.error());
  r.size = *n;
  return r;
}

Result<std::size_t> RealSystemView::ReadLinkAt(int dirfd, std::string_view name,
                                               std::span<char> buf) noexcept {
  char p[PATH_MAX];
  if (!ToPath(name, p)) return Fail(Error::Of(Errc::kInvalid, "path too long"));
  ssize_t n = ::readlinkat(dirfd, p, buf.data(), buf.size());
  if (n < 0) return Fail(Error::Sys(errno, "readlinkat"));
  return static_cast<std::size_t>(n);
}

Result<void> RealSystemView::Write(Root root, std::string_view path,
                                   std::string_view data) noexcept {
  char p[PATH_MAX];
  if (!ToPath(path, p)) return Fail(Error::Of(Errc::kInvalid, "path too long"));
  UniqueFd fd(::openat(RootFd(root), p, O_WRONLY | O_CLOEXEC));
  if (!fd) return Fail(Error::Sys(errno, "openat for write"));
  ssize_t n;
  do {
    n = ::write(fd.get(), data.data(), data.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Fail(Error::Sys(errno, "write"));
  if (static_cast<std::size_t>(n) != data.size()) return Fail(Error::Sys(EIO, "short write"));
  return {};
}

Result<void> RealSystemView::ListPids(std::vector<pid_t>& out) {
  // getdents64 into a stack buffer, not opendir: a DIR is a heap allocation, and the reaper
  // threads list /proc (process-group passes) into a vector reserved up front.
  UniqueFd fd(::openat(proc_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return Fail(Error::Sys(errno, "open proc"));
  alignas(8) char buf[4096];
  for (;;) {
    const long n = ::syscall(SYS_getdents64, fd.get(), buf, sizeof buf);
    if (n < 0) return Fail(Error::Sys(errno, "getdents64 proc"));
    if (n == 0) break;
    for (long off = 0; off < n;) {
      const auto* e = reinterpret_cast<const struct dirent64*>(buf + off);
      off += e->d_reclen;
      const char* c = e->d_name;
      if (*c < '1' || *c > '9') continue;
      long pid = 0;
      bool ok = true;
      for (; *c; ++c) {
        if (*c < '0' || *c > '9' || pid > (INT_MAX / 10)) {
          ok = false;
          break;
        }
        pid = pid * 10 + (*c - '0');
      }
      if (ok) out.push_back(static_cast<pid_t>(pid));
    }
  }
  return {};
}

Result<void> RealSystemView::ListCgroupPids(std::string_view path, std::vector<pid_t>& out) {
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  auto dir = OpenDir(Root::kCgroup, path.empty() ? std::string_view(".") : path);
  if (!dir) return Fail(dir.error());
  return ListProcsTree(dir->get(), 0, out);
}

Result<void> RealSystemView::ListDirs(Root root, std::string_view path,
                                      std::vector<std::string>& out) {
  auto dfd = OpenDir(root, path.empty() ? std::string_view(".") : path);
  if (!dfd) return Fail(dfd.error());
  DIR* dir = ::fdopendir(dfd->Release());
  if (dir == nullptr) return Fail(Error::Sys(errno, "fdopendir"));
  while (dirent* e = ::readdir(dir)) {
    if (e->d_type != DT_DIR || e->d_name[0] == '.') continue;
    out.emplace_back(e->d_name);
  }
  ::closedir(dir);
  return {};
}

}  // namespace reaperd::sys
