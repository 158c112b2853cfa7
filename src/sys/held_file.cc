#include "sys/held_file.h"

#include <cerrno>
#include <utility>

namespace reaperd::sys {

HeldFile::HeldFile(Root root, std::string path)
    : root_(root), path_(std::move(path)), slash_(path_.rfind('/')) {}

void HeldFile::Open(SystemView& view) noexcept {
  const std::string_view p = path_;
  const bool top = slash_ == std::string_view::npos;
  auto dir = view.OpenDir(root_, top ? std::string_view(".") : p.substr(0, slash_));
  if (!dir) return;
  auto fd = view.OpenAt(dir->get(), top ? p : p.substr(slash_ + 1));
  if (!fd) {
    if (fd.error().sys_errno == ENOTSUP) unsupported_ = true;  // this view holds nothing
    return;
  }
  fd_ = std::move(*fd);
}

Result<ReadResult> HeldFile::Read(SystemView& view, std::span<char> buf) noexcept {
  if (!fd_.valid() && !unsupported_) Open(view);
  if (fd_.valid()) {
    auto r = view.ReadFd(fd_.get(), buf);
    if (r) return r;
    if (r.error().sys_errno == ENOTSUP) unsupported_ = true;
    fd_.Reset();  // opened again next time; this time by path, for the file's own error
  }
  return view.Read(root_, path_, buf);
}

}  // namespace reaperd::sys
