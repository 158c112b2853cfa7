// The journal's native protocol: the encoding of plain and newline-holding values (bytes
// checked by hand against the protocol's description), and delivery to a datagram socket the
// test binds in a private temporary directory, both as a datagram and, for an entry larger
// than the socket takes, as a sealed memfd passed with SCM_RIGHTS.
#include "sys/journal_socket.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

namespace reaperd::sys {
namespace {

TEST(JournalEncodeTest, PlainFieldsAreKeyEqualsValueLines) {
  const std::vector<std::string> f{"MESSAGE=hello", "PRIORITY=6", "EMPTY="};
  EXPECT_EQ(EncodeJournalEntry(f), "MESSAGE=hello\nPRIORITY=6\nEMPTY=\n");
}

TEST(JournalEncodeTest, NewlineValueUsesLengthPrefixedForm) {
  std::string out;
  AppendJournalField(out, "MESSAGE=a\nb=c");
  const std::string want =
      std::string("MESSAGE\n") + std::string("\x05\0\0\0\0\0\0\0", 8) + "a\nb=c" + "\n";
  EXPECT_EQ(out, want);
}

TEST(JournalEncodeTest, LengthIsLittleEndian64) {
  std::string out;
  AppendJournalField(out, "K=" + std::string(0x1234, '\n'));
  ASSERT_GE(out.size(), 10u);
  EXPECT_EQ(out.substr(0, 2), "K\n");
  EXPECT_EQ(out.substr(2, 8), std::string("\x34\x12\0\0\0\0\0\0", 8));
  EXPECT_EQ(out.size(), 2 + 8 + 0x1234 + 1u);
  EXPECT_EQ(out.back(), '\n');
}

class JournalSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/reaperd-journal-XXXXXX";
    ASSERT_NE(::mkdtemp(templ), nullptr);
    dir_ = templ;
    path_ = dir_ + "/socket";
    server_.Reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, path_.data(), path_.size());
    ASSERT_EQ(::bind(server_.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a), 0);
  }
  void TearDown() override {
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  // One datagram: its bytes, and the fd passed with it (or -1).
  std::string Receive(int* passed_fd) {
    std::string buf(1 << 16, '\0');
    iovec iov{buf.data(), buf.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(server_.get(), &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    *passed_fd = -1;
    if (n < 0) return "<nothing>";
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        std::memcpy(passed_fd, CMSG_DATA(c), sizeof(int));
      }
    }
    buf.resize(static_cast<std::size_t>(n));
    return buf;
  }
  std::string dir_;
  std::string path_;
  UniqueFd server_;
};

TEST_F(JournalSocketTest, SmallEntryIsOneDatagram) {
  auto s = JournalSocket::Open(path_);
  ASSERT_TRUE(s);
  const std::vector<std::string> f{"MESSAGE=kill pid=42", "PRIORITY=4"};
  ASSERT_TRUE(s->Send(EncodeJournalEntry(f)));
  int fd = -1;
  EXPECT_EQ(Receive(&fd), "MESSAGE=kill pid=42\nPRIORITY=4\n");
  EXPECT_EQ(fd, -1);
}

TEST_F(JournalSocketTest, EntryTooLargeForADatagramGoesInASealedMemfd) {
  // The socket's send buffer bounds a datagram; an entry of 4 MiB is past any default.
  auto s = JournalSocket::Open(path_);
  ASSERT_TRUE(s);
  const std::string entry = "MESSAGE=" + std::string(4 << 20, 'x') + "\n";
  ASSERT_TRUE(s->Send(entry));
  int fd = -1;
  EXPECT_EQ(Receive(&fd), "");
  ASSERT_GE(fd, 0);
  UniqueFd mfd(fd);
  EXPECT_EQ(::fcntl(fd, F_GET_SEALS), F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
  struct stat st {};
  ASSERT_EQ(::fstat(fd, &st), 0);
  ASSERT_EQ(static_cast<std::size_t>(st.st_size), entry.size());
  std::string got(entry.size(), '\0');
  ASSERT_EQ(::pread(fd, got.data(), got.size(), 0), static_cast<ssize_t>(got.size()));
  EXPECT_EQ(got, entry);
}

TEST_F(JournalSocketTest, NoJournalIsAnError) {
  ::unlink(path_.c_str());
  auto s = JournalSocket::Open(path_);
  ASSERT_TRUE(s);  // the socket is made; the address is only tried on send
  auto r = s->Send("MESSAGE=x\n");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().sys_errno, ENOENT);
  EXPECT_FALSE(JournalSocket::Open("/" + std::string(200, 'x')));
}

}  // namespace
}  // namespace reaperd::sys
