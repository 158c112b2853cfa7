// One file under a root (/proc, the cgroup tree) opened once and then read again and again
// from offset 0: a /proc or cgroupfs file is generated afresh by each read from 0. Each read is
// one pread instead of an open, reads and a close, and makes no new kernel file nor seq_file
// buffer: under memory pressure each of those is an allocation that may enter reclaim, on the
// thread that has to decide (issue 13: the daemon's CPU under pressure). For the files read on
// every tick.
#pragma once

#include <atomic>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "base/error.h"
#include "sys/system_view.h"
#include "sys/unique_fd.h"

namespace reaperd::sys {

class HeldFile {
 public:
  // How many files a group of HeldFiles may hold at once (the cgroup scopes' files: one scope
  // per limited cgroup found could otherwise spend all of the daemon's descriptors). A file
  // that finds no place is read by path, and takes a place at a later read once one is free.
  class Budget {
   public:
    explicit Budget(std::size_t limit) noexcept : limit_(limit) {}
    std::size_t used() const noexcept { return used_.load(std::memory_order_relaxed); }
    std::size_t limit() const noexcept { return limit_; }
    bool Take() noexcept;
    void Give() noexcept { used_.fetch_sub(1, std::memory_order_relaxed); }

   private:
    std::size_t limit_;
    std::atomic<std::size_t> used_{0};
  };

  // path: relative to root ("meminfo", "pressure/memory"). budget: where the held fd takes
  // its place (nullptr: held without one); it must outlive this file.
  HeldFile(Root root, std::string path, Budget* budget = nullptr);
  HeldFile(HeldFile&& o) noexcept;
  HeldFile& operator=(HeldFile&& o) noexcept;
  HeldFile(const HeldFile&) = delete;
  HeldFile& operator=(const HeldFile&) = delete;
  ~HeldFile() { Let(); }

  // Reads the file into buf through the held fd, opening it first if needed. Reads by path
  // (SystemView::Read, whose error is the file's) when the view cannot hold files (ENOTSUP:
  // then always), when the budget has no place, or when the open or the held read failed
  // (the file is opened again at the next read after one by path succeeds: a cgroup removed
  // and made again, a file that came back).
  Result<ReadResult> Read(SystemView& view, std::span<char> buf) noexcept;
  bool held() const noexcept { return fd_.valid(); }

 private:
  void Open(SystemView& view) noexcept;    // takes a place in the budget, then Opened
  void OpenFd(SystemView& view) noexcept;  // opens fd_ (left invalid when that fails)
  void Let() noexcept;                     // closes the fd, and gives its place back

  Root root_;
  std::string path_;
  std::size_t slash_;  // of path_'s last '/' (npos: none; the directory is the root itself)
  UniqueFd fd_;
  bool unsupported_ = false;
  bool absent_ = false;  // the last open failed: read by path until a path read succeeds
  Budget* budget_ = nullptr;
};

}  // namespace reaperd::sys
