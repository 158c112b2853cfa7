// LockExecutable: every loadable segment of the main program (this test binary, with the
// code under test linked in) ends up in locked mappings, which is what lets a daemon's
// never-run kill path find its code in memory. Skips without the right to lock that much (no
// CAP_IPC_LOCK, small RLIMIT_MEMLOCK).
#include "sys/self_protect.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cerrno>
#include <fstream>
#include <string>

namespace reaperd::sys {
namespace {

std::size_t VmLckBytes() {
  std::ifstream in("/proc/self/status");
  std::string key;
  std::size_t kb = 0;
  while (in >> key) {
    if (key == "VmLck:") {
      in >> kb;
      return kb * 1024;
    }
    in.ignore(1 << 12, '\n');
  }
  return 0;
}

TEST(LockExecutableTest, LocksEveryLoadableSegmentOfTheProgram) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "a sanitizer's shadow mappings defeat the VmLck accounting";
#endif
  const std::size_t before = VmLckBytes();
  auto locked = LockExecutable();
  if (!locked && (locked.error().sys_errno == EPERM || locked.error().sys_errno == ENOMEM)) {
    GTEST_SKIP() << "cannot lock the test binary: " << locked.error().ToString();
  }
  ASSERT_TRUE(locked) << locked.error().ToString();
  const std::size_t after = VmLckBytes();
  ::munlockall();
  EXPECT_GT(*locked, 0u);
  EXPECT_GE(after, before + *locked);
}

}  // namespace
}  // namespace reaperd::sys
