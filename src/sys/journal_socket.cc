#include "sys/journal_socket.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace reaperd::sys {

namespace {

// The native encoding of one field into out (anything with append(string_view) and
// push_back(char)).
template <class Out>
void EncodeField(Out& out, std::string_view key, std::string_view value) {
  out.append(key);
  if (value.find('\n') == std::string_view::npos) {
    out.push_back('=');
    out.append(value);
  } else {
    // The binary-safe form: journald reads exactly the given length, newlines included.
    out.push_back('\n');
    std::uint64_t n = value.size();
    for (int i = 0; i < 8; ++i) {
      out.push_back(static_cast<char>(n & 0xff));
      n >>= 8;
    }
    out.append(value);
  }
  out.push_back('\n');
}

}  // namespace

void AppendJournalField(std::string& out, std::string_view field) {
  const std::size_t eq = field.find('=');
  const std::string_view key = field.substr(0, eq);
  const std::string_view value =
      eq == std::string_view::npos ? std::string_view() : field.substr(eq + 1);
  EncodeField(out, key, value);
}

void JournalEntryBuffer::append(std::string_view s) noexcept {
  if (s.size() > buf_.size() - size_) {
    overflowed_ = true;
    return;
  }
  std::memcpy(buf_.data() + size_, s.data(), s.size());
  size_ += s.size();
}

void JournalEntryBuffer::push_back(char c) noexcept { append(std::string_view(&c, 1)); }

void JournalEntryBuffer::Add(std::string_view key, std::string_view value) noexcept {
  EncodeField(*this, key, value);
}

std::string EncodeJournalEntry(std::span<const std::string> fields) {
  std::size_t size = 0;
  for (const auto& f : fields) size += f.size() + 10;
  std::string out;
  out.reserve(size);
  for (const auto& f : fields) AppendJournalField(out, f);
  return out;
}

Result<JournalSocket> JournalSocket::Open(std::string_view path) noexcept {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    return Fail(Error::Of(Errc::kInvalid, "journal socket path length"));
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return Fail(Error::Sys(errno, "socket(journal)"));
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  return JournalSocket(std::move(fd), addr, len);
}

Result<void> JournalSocket::Send(std::string_view entry) const noexcept {
  msghdr msg{};
  msg.msg_name = const_cast<sockaddr_un*>(&addr_);
  msg.msg_namelen = addr_len_;
  iovec iov{const_cast<char*>(entry.data()), entry.size()};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  ssize_t n;
  do {
    n = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n >= 0) return {};
  if (errno == EMSGSIZE || errno == ENOBUFS) return SendMemfd(entry);
  return Fail(Error::Sys(errno, "sendmsg(journal)"));
}

Result<void> JournalSocket::SendMemfd(std::string_view entry) const noexcept {
  UniqueFd mfd(::memfd_create("reaperd-journal", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!mfd) return Fail(Error::Sys(errno, "memfd_create(journal)"));
  for (std::size_t done = 0; done < entry.size();) {
    const ssize_t w = ::write(mfd.get(), entry.data() + done, entry.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return Fail(Error::Sys(w < 0 ? errno : EIO, "write(journal memfd)"));
    done += static_cast<std::size_t>(w);
  }
  // journald takes only a sealed memfd, so the entry cannot change while it reads it.
  if (::fcntl(mfd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) !=
      0) {
    return Fail(Error::Sys(errno, "seal(journal memfd)"));
  }
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_name = const_cast<sockaddr_un*>(&addr_);
  msg.msg_namelen = addr_len_;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  const int fdv = mfd.get();
  std::memcpy(CMSG_DATA(c), &fdv, sizeof fdv);
  ssize_t n;
  do {
    n = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Fail(Error::Sys(errno, "sendmsg(journal memfd)"));
  return {};
}

}  // namespace reaperd::sys
