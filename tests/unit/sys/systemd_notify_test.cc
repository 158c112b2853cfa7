// sd_notify's protocol against a datagram socket the test binds (a path in a private
// temporary directory, and an abstract name): the bytes arrive as one datagram, unchanged;
// NOTIFY_SOCKET unset sends nothing; WATCHDOG_USEC/WATCHDOG_PID are read as systemd means.
#include "sys/systemd_notify.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>

#include "sys/unique_fd.h"

namespace reaperd::sys {
namespace {

// A bound datagram socket; name "@x" binds in the abstract namespace.
UniqueFd Bind(const std::string& name) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, name.data(), name.size());
  if (name[0] == '@') a.sun_path[0] = '\0';
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&a), len) != 0) return UniqueFd();
  return fd;
}

std::string Receive(int fd) {
  char buf[512];
  const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  return n < 0 ? std::string("<nothing>") : std::string(buf, static_cast<std::size_t>(n));
}

class NotifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/reaperd-notify-XXXXXX";
    ASSERT_NE(::mkdtemp(templ), nullptr);
    dir_ = templ;
    path_ = dir_ + "/notify";
  }
  void TearDown() override {
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
    ::unsetenv("NOTIFY_SOCKET");
  }
  std::string dir_;
  std::string path_;
};

TEST_F(NotifyTest, PathSocketGetsTheStateAsOneDatagram) {
  UniqueFd server = Bind(path_);
  ASSERT_TRUE(server);
  ASSERT_TRUE(NotifyTo(path_, "READY=1\nSTATUS=watching 2 scopes"));
  ASSERT_TRUE(NotifyTo(path_, "WATCHDOG=1"));
  EXPECT_EQ(Receive(server.get()), "READY=1\nSTATUS=watching 2 scopes");
  EXPECT_EQ(Receive(server.get()), "WATCHDOG=1");
  EXPECT_EQ(Receive(server.get()), "<nothing>");
}

TEST_F(NotifyTest, WithoutWaitingAFullQueueRefusesAtOnce) {
  UniqueFd server = Bind(path_);
  ASSERT_TRUE(server);
  // systemd not reading: its queue fills (each NotifyTo is a fresh sender, so only the
  // receiver's queue limits it). A send that waits ends the binary (SIGALRM) instead of
  // hanging it.
  ::alarm(20);
  int queued = 0;
  for (; queued < 100000; ++queued) {
    auto r = NotifyTo(path_, "WATCHDOG=1", /*wait=*/false);
    if (!r) {
      EXPECT_EQ(r.error().sys_errno, EAGAIN);
      break;
    }
  }
  EXPECT_GT(queued, 0);
  auto again = NotifyTo(path_, "WATCHDOG=1", /*wait=*/false);
  ::alarm(0);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().sys_errno, EAGAIN);
  // Once systemd reads again, it gets through.
  while (Receive(server.get()) != "<nothing>") {
  }
  EXPECT_TRUE(NotifyTo(path_, "WATCHDOG=1", /*wait=*/false));
}

TEST_F(NotifyTest, AbstractNamespaceWithAt) {
  const std::string name = "@reaperd-notify-test-" + std::to_string(::getpid());
  UniqueFd server = Bind(name);
  ASSERT_TRUE(server);
  ::setenv("NOTIFY_SOCKET", name.c_str(), 1);
  auto r = Notify("STOPPING=1");
  ASSERT_TRUE(r);
  EXPECT_TRUE(*r);
  EXPECT_EQ(Receive(server.get()), "STOPPING=1");
}

TEST_F(NotifyTest, UnsetSocketSendsNothing) {
  ::unsetenv("NOTIFY_SOCKET");
  auto r = Notify("READY=1");
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
}

TEST_F(NotifyTest, NobodyListeningAndBadPathsAreErrors) {
  auto gone = NotifyTo(path_, "READY=1");  // nothing bound there
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, Errc::kSys);
  EXPECT_EQ(gone.error().sys_errno, ENOENT);
  EXPECT_EQ(NotifyTo("relative/sock", "READY=1").error().code, Errc::kInvalid);
  EXPECT_EQ(NotifyTo("", "READY=1").error().code, Errc::kInvalid);
  EXPECT_EQ(NotifyTo("/" + std::string(200, 'x'), "READY=1").error().code, Errc::kInvalid);
}

TEST(WatchdogUsecTest, ReadsIntervalForThisProcessOnly) {
  EXPECT_EQ(ParseWatchdogUsec("30000000", nullptr, 42), 30000000u);
  EXPECT_EQ(ParseWatchdogUsec("30000000", "42", 42), 30000000u);
  EXPECT_EQ(ParseWatchdogUsec("30000000", "43", 42), 0u);  // meant for another process
  EXPECT_EQ(ParseWatchdogUsec(nullptr, "42", 42), 0u);
  EXPECT_EQ(ParseWatchdogUsec("", nullptr, 42), 0u);
  EXPECT_EQ(ParseWatchdogUsec("0", nullptr, 42), 0u);
  EXPECT_EQ(ParseWatchdogUsec("30s", nullptr, 42), 0u);
  EXPECT_EQ(ParseWatchdogUsec("30000000", "x42", 42), 0u);
}

}  // namespace
}  // namespace reaperd::sys
