// SystemView: the only way reaperd reads /proc and cgroupfs. Every read is relative to a
// root directory fd, so tests point a RealSystemView at a fixture tree, and a forwarding
// wrapper can inject faults. Reads go into caller buffers: no allocation per read.
// Thread safety: RealSystemView is safe to use from several threads (it only holds fds).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"
#include "sys/unique_fd.h"

namespace reaperd::sys {

// kSys: /sys (zram's block devices); a view of fixture trees finds it beside its proc root.
enum class Root : unsigned char { kProc, kCgroup, kSys };
enum class CgroupVersion : unsigned char { kNone, kV1, kV2 };

struct ReadResult {
  std::size_t size = 0;    // bytes placed in the buffer
  bool truncated = false;  // the file held more than the buffer
};

class SystemView {
 public:
  virtual ~SystemView() = default;

  // Reads root/path into buf. ENOENT/ESRCH mean the object vanished: a normal event.
  virtual Result<ReadResult> Read(Root root, std::string_view path,
                                  std::span<char> buf) noexcept = 0;
  // Opens a directory under root (e.g. "1234" for a process), to read several files of one
  // object through ReadAt: a reused PID then reads as ESRCH instead of the new process.
  virtual Result<UniqueFd> OpenDir(Root root, std::string_view path) noexcept = 0;
  virtual Result<ReadResult> ReadAt(int dirfd, std::string_view name,
                                    std::span<char> buf) noexcept = 0;
  // Reads the target of the symlink dirfd/name (e.g. "exe") into buf.
  virtual Result<std::size_t> ReadLinkAt(int dirfd, std::string_view name,
                                         std::span<char> buf) noexcept = 0;
  // Writes data to root/path in one write(2) (cgroup knobs, oom_score_adj).
  virtual Result<void> Write(Root root, std::string_view path, std::string_view data) noexcept = 0;
  // The numeric entries of /proc, i.e. the PIDs of the namespace. Appends to out.
  virtual Result<void> ListPids(std::vector<pid_t>& out) = 0;
  // The PIDs in cgroup.procs of the cgroup at path (under the cgroup root) and of every
  // cgroup below it, appended to out (unsorted; v1 may list a PID twice). Reads only that
  // subtree, so a cgroup scope's scan does not depend on how many processes run elsewhere.
  // Fails when the cgroup itself cannot be listed; a child removed meanwhile is skipped.
  virtual Result<void> ListCgroupPids(std::string_view path, std::vector<pid_t>& out) = 0;
  // Names of the subdirectories of root/path (child cgroups).
  virtual Result<void> ListDirs(Root root, std::string_view path,
                                std::vector<std::string>& out) = 0;
  // Which cgroup hierarchy holds the memory controller under the cgroup root.
  // The value of the extended attribute `name` of root/path into buf (ENODATA: not set).
  // By default no view has extended attributes.
  virtual Result<std::size_t> GetXattr(Root root, std::string_view path, const char* name,
                                       std::span<char> buf) noexcept;
  // The uid owning root/path.
  virtual Result<uid_t> Owner(Root root, std::string_view path) noexcept;
  // Opens dirfd/name to be read again and again through ReadFd: a process's stat or status,
  // held open while it is a top candidate, reads afresh in one pread instead of a lookup, an
  // open and two reads, and the fd pins the process (reused PID: ESRCH). By default
  // unsupported (ENOTSUP): the caller then reads through ReadAt.
  virtual Result<UniqueFd> OpenAt(int dirfd, std::string_view name) noexcept;
  // Reads fd from offset 0 into buf (a /proc file is generated afresh by a read at 0). A read
  // shorter than buf is taken as the whole file; the caller checks the text is complete.
  virtual Result<ReadResult> ReadFd(int fd, std::span<char> buf) noexcept;
  virtual CgroupVersion cgroup_version() const noexcept = 0;
  // Path of the cgroup root, for messages and for tools that need a real path.
  virtual std::string_view cgroup_root_path() const noexcept = 0;
  // Where the root of reaperd's cgroup namespace lies under the cgroup root, the base that
  // paths read from /proc/PID/cgroup are rebased on (proc/cgroup_path.h). Empty outside a
  // namespace, and for every view that was not told one (scan/cgroup_namespace.h finds it).
  virtual std::string_view cgroup_ns_base() const noexcept { return {}; }
};

class RealSystemView final : public SystemView {
 public:
  // Opens proc_root and cgroup_root. An empty cgroup_root means: detect (/sys/fs/cgroup if
  // it is cgroup v2 with the memory controller, else the v1 memory hierarchy). The sys root
  // is /sys beside /proc, and "sys" beside any other proc root (a fixture tree's).
  static Result<RealSystemView> Open(std::string proc_root = "/proc", std::string cgroup_root = "");

  Result<ReadResult> Read(Root root, std::string_view path, std::span<char> buf) noexcept override;
  Result<UniqueFd> OpenDir(Root root, std::string_view path) noexcept override;
  Result<ReadResult> ReadAt(int dirfd, std::string_view name,
                            std::span<char> buf) noexcept override;
  Result<std::size_t> ReadLinkAt(int dirfd, std::string_view name,
                                 std::span<char> buf) noexcept override;
  Result<void> Write(Root root, std::string_view path, std::string_view data) noexcept override;
  Result<void> ListPids(std::vector<pid_t>& out) override;
  Result<std::size_t> GetXattr(Root root, std::string_view path, const char* name,
                               std::span<char> buf) noexcept override;
  Result<UniqueFd> OpenAt(int dirfd, std::string_view name) noexcept override;
  Result<ReadResult> ReadFd(int fd, std::span<char> buf) noexcept override;
  Result<uid_t> Owner(Root root, std::string_view path) noexcept override;
  Result<void> ListCgroupPids(std::string_view path, std::vector<pid_t>& out) override;
  Result<void> ListDirs(Root root, std::string_view path, std::vector<std::string>& out) override;
  CgroupVersion cgroup_version() const noexcept override { return version_; }
  std::string_view cgroup_root_path() const noexcept override { return cgroup_root_; }
  std::string_view cgroup_ns_base() const noexcept override { return cgroup_ns_base_; }
  void set_cgroup_ns_base(std::string base) { cgroup_ns_base_ = std::move(base); }

 private:
  RealSystemView() = default;
  int RootFd(Root r) const noexcept {
    return r == Root::kProc ? proc_.get() : r == Root::kSys ? sys_.get() : cgroup_.get();
  }

  UniqueFd proc_;
  UniqueFd cgroup_;
  UniqueFd sys_;  // may be closed: no /sys (reads fail with EBADF)
  std::string cgroup_root_;
  std::string cgroup_ns_base_;
  CgroupVersion version_ = CgroupVersion::kNone;
};

// Reads a whole small file through ReadAt/Read into a fixed buffer; helper for callers.
Result<std::size_t> ReadAll(int fd, std::span<char> buf, bool* truncated) noexcept;

}  // namespace reaperd::sys
