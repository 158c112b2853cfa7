// Output that never waits for its reader, by kind of fd: a full pipe and a full stream socket
// refuse a write with EAGAIN at once (the pipe's own description stays blocking, for the
// processes that share it); a regular file is written as is.
#include "sys/nonblocking_output.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <string>

namespace reaperd::sys {
namespace {

// Fills fd's buffer through a non-blocking flag set only for the filling.
void Fill(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  ASSERT_EQ(::fcntl(fd, F_SETFL, flags | O_NONBLOCK), 0);
  std::array<char, 4096> junk{};
  while (::write(fd, junk.data(), junk.size()) > 0) {
  }
  ASSERT_EQ(::fcntl(fd, F_SETFL, flags), 0);
}

TEST(NonBlockingOutputTest, AFullPipeRefusesAtOnceAndStaysBlockingForOthers) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd rd(p[0]), wr(p[1]);
  NonBlockingOutput out(wr.get());
  EXPECT_EQ(out.kind(), NonBlockingOutput::Kind::kReopened);
  ASSERT_TRUE(out.Write("line\n"));
  Fill(wr.get());
  ::alarm(20);  // a write that waits ends the binary (SIGALRM) instead of hanging it
  auto r = out.Write("line\n");
  ::alarm(0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().sys_errno, EAGAIN);
  EXPECT_EQ(::fcntl(wr.get(), F_GETFL) & O_NONBLOCK, 0);
  char first[5];
  ASSERT_EQ(::read(rd.get(), first, sizeof first), 5);
  EXPECT_EQ(std::string(first, 5), "line\n");
}

TEST(NonBlockingOutputTest, AFullStreamSocketRefusesAtOnce) {
  int s[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s), 0);
  UniqueFd a(s[0]), b(s[1]);
  NonBlockingOutput out(a.get());
  EXPECT_EQ(out.kind(), NonBlockingOutput::Kind::kSocket);
  Fill(a.get());
  ::alarm(20);
  auto r = out.Write("line\n");
  ::alarm(0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().sys_errno, EAGAIN);
  EXPECT_EQ(::fcntl(a.get(), F_GETFL) & O_NONBLOCK, 0);
}

TEST(NonBlockingOutputTest, ARegularFileIsWrittenAsIs) {
  char templ[] = "/tmp/reaperd-nbout-XXXXXX";
  UniqueFd f(::mkstemp(templ));
  ASSERT_TRUE(f);
  ::unlink(templ);
  NonBlockingOutput out(f.get());
  EXPECT_EQ(out.kind(), NonBlockingOutput::Kind::kPlain);
  ASSERT_TRUE(out.Write("one\n"));
  ASSERT_TRUE(out.Write("two\n"));
  std::array<char, 16> buf{};
  EXPECT_EQ(::pread(f.get(), buf.data(), buf.size(), 0), 8);
  EXPECT_EQ(std::string(buf.data(), 8), "one\ntwo\n");
}

}  // namespace
}  // namespace reaperd::sys
