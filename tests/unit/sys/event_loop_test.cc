// The event sources against the real kernel: each test makes its source fire (or fail) and
// checks what came back through epoll. Waits have generous timeouts; nothing asserts a time.
#include "sys/event_loop.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <unistd.h>

#include <array>
#include <fstream>
#include <string>

namespace reaperd::sys {
namespace {

constexpr int kPatienceMs = 5000;

// Waits for one event on ep and returns its data, or ~0 on timeout.
std::uint64_t WaitOne(Epoll& ep, std::uint32_t* events = nullptr) {
  std::array<epoll_event, 4> out{};
  auto n = ep.Wait(out, kPatienceMs);
  EXPECT_TRUE(n.has_value());
  if (!n || *n == 0) return ~std::uint64_t{0};
  if (events) *events = out[0].events;
  return out[0].data.u64;
}

TEST(EventLoop, TimerFiresOnceAndRearms) {
  auto ep = Epoll::Create();
  auto timer = Timer::Create();
  ASSERT_TRUE(ep && timer);
  ASSERT_TRUE(ep->Add(timer->fd(), EPOLLIN, 7));
  EXPECT_EQ(timer->ReadExpirations().value(), 0u) << "not armed yet";

  ASSERT_TRUE(timer->Set(10, 0));
  EXPECT_EQ(WaitOne(*ep), 7u);
  EXPECT_EQ(timer->ReadExpirations().value(), 1u);

  // Rearmed as a periodic timer: it keeps firing.
  ASSERT_TRUE(timer->Set(5, 5));
  std::uint64_t total = 0;
  while (total < 3) {
    ASSERT_EQ(WaitOne(*ep), 7u);
    total += timer->ReadExpirations().value();
  }
  EXPECT_TRUE(timer->Set(0, 0));  // disarmed
  EXPECT_FALSE(timer->Set(-1, 0));
}

TEST(EventLoop, SignalFdReceivesARaisedSignalAndRestoresTheMask) {
  sigset_t before;
  ASSERT_EQ(pthread_sigmask(SIG_SETMASK, nullptr, &before), 0);
  ASSERT_FALSE(sigismember(&before, SIGHUP));
  {
    auto sfd = SignalFd::Create();
    ASSERT_TRUE(sfd) << sfd.error().ToString();
    auto ep = Epoll::Create();
    ASSERT_TRUE(ep);
    ASSERT_TRUE(ep->Add(sfd->fd(), EPOLLIN, 1));
    EXPECT_EQ(sfd->Read().value(), 0) << "nothing pending yet";

    ASSERT_EQ(pthread_kill(pthread_self(), SIGHUP), 0);  // blocked, so it waits in the fd
    EXPECT_EQ(WaitOne(*ep), 1u);
    EXPECT_EQ(sfd->Read().value(), SIGHUP);
    EXPECT_EQ(sfd->Read().value(), 0);

    sigset_t during;
    ASSERT_EQ(pthread_sigmask(SIG_SETMASK, nullptr, &during), 0);
    EXPECT_TRUE(sigismember(&during, SIGTERM));
    EXPECT_TRUE(sigismember(&during, SIGINT));
  }
  sigset_t after;
  ASSERT_EQ(pthread_sigmask(SIG_SETMASK, nullptr, &after), 0);
  EXPECT_FALSE(sigismember(&after, SIGHUP));
}

TEST(EventLoop, EventFdCountsAndWakesEpoll) {
  auto ep = Epoll::Create();
  auto efd = EventFd::Create();
  ASSERT_TRUE(ep && efd);
  ASSERT_TRUE(ep->Add(efd->fd(), EPOLLIN, 42));
  ASSERT_TRUE(efd->Signal(2));
  ASSERT_TRUE(efd->Signal());
  EXPECT_EQ(WaitOne(*ep), 42u);
  EXPECT_EQ(efd->Read().value(), 3u);
  EXPECT_EQ(efd->Read().value(), 0u);
  ASSERT_TRUE(ep->Remove(efd->fd()));
  EXPECT_FALSE(ep->Remove(efd->fd()));
}

bool CanUsePsiTriggers() {
  return geteuid() == 0 && access("/proc/pressure/memory", R_OK | W_OK) == 0;
}

// CAP_SYS_RESOURCE in the effective set: the kernel's test for fine-grained PSI windows
// (root without it, as in some sandboxes, gets only windows that are multiples of 2 s).
bool HasCapSysResource() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("CapEff:", 0) == 0) {
      return (std::stoull(line.substr(7), nullptr, 16) >> 24) & 1;  // CAP_SYS_RESOURCE = 24
    }
  }
  return false;
}

// Opening only: that a trigger wakes the loop under real pressure is shown by
// tests/integration/pressure_event_live_test.cc through the daemon's own ScopeSources.
TEST(EventLoop, PsiTriggerOpensAndFineWindowsNeedCapSysResource) {
  if (!CanUsePsiTriggers()) GTEST_SKIP() << "needs root and /proc/pressure/memory";
  auto fd = OpenPsiTrigger("/proc/pressure/memory", "some", 150'000, 2'000'000);
  ASSERT_TRUE(fd) << fd.error().ToString();
  auto ep = Epoll::Create();
  ASSERT_TRUE(ep);
  EXPECT_TRUE(ep->Add(fd->get(), EPOLLPRI, 3));

  auto fine = OpenPsiTrigger("/proc/pressure/memory", "full", 100'000, 500'000);
  if (HasCapSysResource()) {
    EXPECT_TRUE(fine) << fine.error().ToString();
  } else {
    ASSERT_FALSE(fine);
    EXPECT_EQ(fine.error().sys_errno, EINVAL);
  }
}

TEST(EventLoop, InvalidPsiTriggersFailClearly) {
  auto bad_kind = OpenPsiTrigger("/proc/pressure/memory", "most", 1000, 1'000'000);
  ASSERT_FALSE(bad_kind);
  EXPECT_EQ(bad_kind.error().code, Errc::kInvalid);
  EXPECT_NE(bad_kind.error().ToString().find("PSI trigger kind"), std::string::npos);

  auto stall_over_window = OpenPsiTrigger("/proc/pressure/memory", "some", 2'000'000, 1'000'000);
  ASSERT_FALSE(stall_over_window);
  EXPECT_EQ(stall_over_window.error().code, Errc::kInvalid);

  auto missing = OpenPsiTrigger("/proc/pressure/no-such-resource", "some", 1000, 1'000'000);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().sys_errno, ENOENT);

  if (!CanUsePsiTriggers()) GTEST_SKIP() << "the kernel's own refusal needs root and PSI";
  // The kernel refuses windows over 10 s.
  auto long_window = OpenPsiTrigger("/proc/pressure/memory", "some", 100'000, 20'000'000);
  ASSERT_FALSE(long_window);
  EXPECT_EQ(long_window.error().code, Errc::kSys);
  EXPECT_EQ(long_window.error().sys_errno, EINVAL);
  EXPECT_NE(long_window.error().ToString().find("write PSI trigger"), std::string::npos)
      << long_window.error().ToString();
}

// The v1 memory cgroup this process is in, from /proc/self/cgroup; empty if none.
std::string OwnMemcg() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    const auto a = line.find(':');
    const auto b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = "," + line.substr(a + 1, b - a - 1) + ",";
    if (controllers.find(",memory,") != std::string::npos) {
      return "/sys/fs/cgroup/memory" + line.substr(b + 1);
    }
  }
  return {};
}

TEST(EventLoop, RegistersV1PressureLevel) {
  const std::string memcg = OwnMemcg();
  if (memcg.empty() || geteuid() != 0) GTEST_SKIP() << "needs root and a v1 memory cgroup";
  UniqueFd dir(::open(memcg.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(dir) << memcg;
  auto efd = RegisterPressureLevel(dir.get(), "low");
  ASSERT_TRUE(efd) << efd.error().ToString();
  EXPECT_TRUE(RegisterPressureLevel(dir.get(), "critical,local"));

  auto bad = RegisterPressureLevel(dir.get(), "severe");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::kInvalid);
  UniqueFd root(::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  auto not_a_memcg = RegisterPressureLevel(root.get(), "low");
  ASSERT_FALSE(not_a_memcg);
  EXPECT_EQ(not_a_memcg.error().sys_errno, ENOENT);
}

}  // namespace
}  // namespace reaperd::sys
