// One file under a root (/proc, the cgroup tree) opened once and then read again and again
// from offset 0: a /proc or cgroupfs file is generated afresh by each read from 0. Each read is
// one pread instead of an open, reads and a close, and makes no new kernel file nor seq_file
// buffer: under memory pressure each of those is an allocation that may enter reclaim, on the
// thread that has to decide (issue 13: the daemon's CPU under pressure). For the files read on
// every tick.
#pragma once

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
  // path: relative to root ("meminfo", "pressure/memory").
  HeldFile(Root root, std::string path);

  // Reads the file into buf through the held fd, opening it first if needed. Reads by path
  // (SystemView::Read, whose error is the file's) when the view cannot hold files (ENOTSUP:
  // then always) or the open or the held read failed (the file is opened again at the next
  // read: a cgroup removed and made again, a file that came back).
  Result<ReadResult> Read(SystemView& view, std::span<char> buf) noexcept;
  bool held() const noexcept { return fd_.valid(); }

 private:
  void Open(SystemView& view) noexcept;

  Root root_;
  std::string path_;
  std::size_t slash_;  // of path_'s last '/' (npos: none; the directory is the root itself)
  UniqueFd fd_;
  bool unsupported_ = false;
};

}  // namespace reaperd::sys
