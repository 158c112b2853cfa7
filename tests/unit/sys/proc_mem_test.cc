// OpenProcMem/ProcMemGone on a real child of the test: the handle sees the child's mm live
// while it runs, and gone once it has exited (its only user ran exit_mmap), even though the
// zombie is not reaped yet. Needs ptrace rights over a child, which any process has.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sys/syscalls.h"

namespace reaperd::sys {
namespace {

TEST(ProcMem, SeesTheMmLiveThenGone) {
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    for (;;) ::pause();
  }
  auto fd = OpenProcMem(child);
  if (!fd && fd.error().sys_errno == EACCES) {
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    GTEST_SKIP() << "no ptrace rights over a child here (Yama ptrace_scope 3?)";
  }
  ASSERT_TRUE(fd) << fd.error().ToString();
  auto live = ProcMemGone(fd->get());
  ASSERT_TRUE(live) << live.error().ToString();
  EXPECT_FALSE(*live);
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);  // a zombie
  auto gone = ProcMemGone(fd->get());
  ASSERT_TRUE(gone) << gone.error().ToString();
  EXPECT_TRUE(*gone);
  ::waitpid(child, nullptr, 0);
  EXPECT_FALSE(OpenProcMem(0));
}

}  // namespace
}  // namespace reaperd::sys
