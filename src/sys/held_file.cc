#include "sys/held_file.h"

#include <cerrno>
#include <utility>

namespace reaperd::sys {

bool HeldFile::Budget::Take() noexcept {
  std::size_t n = used_.load(std::memory_order_relaxed);
  do {
    if (n >= limit_) return false;
  } while (!used_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
  return true;
}

HeldFile::HeldFile(Root root, std::string path, Budget* budget)
    : root_(root), path_(std::move(path)), slash_(path_.rfind('/')), budget_(budget) {}

HeldFile::HeldFile(HeldFile&& o) noexcept
    : root_(o.root_),
      path_(std::move(o.path_)),
      slash_(o.slash_),
      fd_(std::move(o.fd_)),  // its place in the budget moves with it
      unsupported_(o.unsupported_),
      absent_(o.absent_),
      budget_(o.budget_) {}

HeldFile& HeldFile::operator=(HeldFile&& o) noexcept {
  if (this != &o) {
    Let();
    root_ = o.root_;
    path_ = std::move(o.path_);
    slash_ = o.slash_;
    fd_ = std::move(o.fd_);
    unsupported_ = o.unsupported_;
    absent_ = o.absent_;
    budget_ = o.budget_;
  }
  return *this;
}

void HeldFile::Let() noexcept {
  if (!fd_.valid()) return;
  fd_.Reset();
  if (budget_ != nullptr) budget_->Give();
}

void HeldFile::Open(SystemView& view) noexcept {
  if (budget_ != nullptr && !budget_->Take()) return;  // read by path this time
  const bool taken = budget_ != nullptr;
  OpenFd(view);
  if (taken && !fd_.valid()) budget_->Give();
}

void HeldFile::OpenFd(SystemView& view) noexcept {
  const std::string_view p = path_;
  const bool top = slash_ == std::string_view::npos;
  auto dir = view.OpenDir(root_, top ? std::string_view(".") : p.substr(0, slash_));
  if (!dir) {
    absent_ = true;
    return;
  }
  auto fd = view.OpenAt(dir->get(), top ? p : p.substr(slash_ + 1));
  if (!fd) {
    if (fd.error().sys_errno == ENOTSUP) unsupported_ = true;  // this view holds nothing
    absent_ = true;
    return;
  }
  fd_ = std::move(*fd);
}

Result<ReadResult> HeldFile::Read(SystemView& view, std::span<char> buf) noexcept {
  if (!fd_.valid() && !unsupported_ && !absent_) Open(view);
  if (fd_.valid()) {
    auto r = view.ReadFd(fd_.get(), buf);
    if (r) return r;
    if (r.error().sys_errno == ENOTSUP) unsupported_ = true;
    Let();  // opened again next time; this time by path, for the file's own error
  }
  // A file that could not be opened is read by path until a read finds it again (a cgroup
  // made again, a file that came back): no open that fails on every read.
  auto r = view.Read(root_, path_, buf);
  if (r) absent_ = false;
  return r;
}

}  // namespace reaperd::sys
