// An append-only file of lines, bounded in size: before a line would take it past max_bytes
// it is rotated (PATH.N-1 -> PATH.N ... PATH -> PATH.1, keeping `keep` old files). Appends are
// one write(2) each, without fsync, so the daemon loop never waits for the disk to flush.
// Not thread-safe: one owner (the loop thread).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"
#include "sys/unique_fd.h"

namespace reaperd::report {

class RotatingFile {
 public:
  RotatingFile(std::string path, std::uint64_t max_bytes, int keep)
      : path_(std::move(path)), max_bytes_(max_bytes), keep_(keep) {}

  // Appends line (a '\n' is added). Opens the file (and its directory, one level) on first use.
  Result<void> Append(std::string_view line);
  const std::string& path() const noexcept { return path_; }

 private:
  Result<void> Open();
  Result<void> Rotate();

  std::string path_;
  std::uint64_t max_bytes_;
  int keep_;
  sys::UniqueFd fd_;
  std::uint64_t size_ = 0;
};

}  // namespace reaperd::report
