#include "report/rotating_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace reaperd::report {

Result<void> RotatingFile::Open() {
  // The state directory is made by systemd (StateDirectory=); outside it, make the last level.
  if (auto slash = path_.rfind('/'); slash != std::string::npos && slash > 0) {
    ::mkdir(path_.substr(0, slash).c_str(), 0750);
  }
  fd_.Reset(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640));
  if (!fd_) return Fail(Error::Sys(errno, "open kill report file"));
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) return Fail(Error::Sys(errno, "stat kill report file"));
  size_ = static_cast<std::uint64_t>(st.st_size);
  return {};
}

Result<void> RotatingFile::Rotate() {
  fd_.Reset();
  if (keep_ <= 0) {
    if (::truncate(path_.c_str(), 0) != 0 && errno != ENOENT) {
      return Fail(Error::Sys(errno, "truncate kill report file"));
    }
  } else {
    for (int i = keep_ - 1; i >= 1; --i) {
      const std::string from = path_ + "." + std::to_string(i);
      const std::string to = path_ + "." + std::to_string(i + 1);
      if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
        return Fail(Error::Sys(errno, "rotate kill report file"));
      }
    }
    if (::rename(path_.c_str(), (path_ + ".1").c_str()) != 0 && errno != ENOENT) {
      return Fail(Error::Sys(errno, "rotate kill report file"));
    }
  }
  return Open();
}

Result<void> RotatingFile::Append(std::string_view line) {
  if (!fd_) {
    if (auto r = Open(); !r) return r;
  }
  const std::uint64_t need = line.size() + 1;
  if (size_ > 0 && size_ + need > max_bytes_) {
    if (auto r = Rotate(); !r) return r;
  }
  std::string buf;
  buf.reserve(need);
  buf.append(line);
  buf.push_back('\n');
  // One write with O_APPEND: a reader sees whole lines, or the line is lost whole on ENOSPC.
  const ssize_t n = ::write(fd_.get(), buf.data(), buf.size());
  if (n < 0) return Fail(Error::Sys(errno, "write kill report"));
  size_ += static_cast<std::uint64_t>(n);
  if (static_cast<std::size_t>(n) != buf.size()) return Fail(Error::Of(Errc::kSys, "short write"));
  return {};
}

}  // namespace reaperd::report
