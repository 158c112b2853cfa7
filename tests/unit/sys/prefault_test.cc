#include "sys/prefault.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

namespace reaperd::sys {
namespace {

struct StackCount {
  std::size_t resident_before = 0;
  std::size_t resident_after = 0;
  std::size_t pages = 0;
};

std::size_t ResidentPages(std::uintptr_t lo, std::size_t len) {
  std::vector<unsigned char> v(len / 4096);
  if (::mincore(reinterpret_cast<void*>(lo), len, v.data()) != 0) return 0;
  std::size_t n = 0;
  for (unsigned char c : v) n += c & 1;
  return n;
}

// Counts the resident pages of the calling thread's own stack before and after.
void* Probe(void* arg) {
  auto* out = static_cast<StackCount*>(arg);
  pthread_attr_t attr;
  if (::pthread_getattr_np(::pthread_self(), &attr) != 0) return nullptr;
  void* addr = nullptr;
  std::size_t size = 0;
  ::pthread_attr_getstack(&attr, &addr, &size);
  ::pthread_attr_destroy(&attr);
  const auto lo = reinterpret_cast<std::uintptr_t>(addr);
  out->pages = size / 4096;
  out->resident_before = ResidentPages(lo, size);
  PrefaultStack(PrefaultDepth(size));
  out->resident_after = ResidentPages(lo, size);
  return nullptr;
}

TEST(PrefaultStack, TouchesAllButTheMarginOfAThreadStack) {
  constexpr std::size_t kStack = 64 * 1024;  // the reaper threads' size
  pthread_attr_t attr;
  ::pthread_attr_init(&attr);
  ::pthread_attr_setstacksize(&attr, kStack);
  StackCount c;
  pthread_t t;
  ASSERT_EQ(::pthread_create(&t, &attr, &Probe, &c), 0);
  ::pthread_join(t, nullptr);
  ::pthread_attr_destroy(&attr);
  ASSERT_GT(c.pages, 0u);
  // A fresh stack has only its top pages (TLS, descriptor, first frames) resident.
  EXPECT_LT(c.resident_before, c.pages / 2);
  // Afterwards, the pre-faulted depth is resident too.
  EXPECT_GE(c.resident_after, PrefaultDepth(c.pages * 4096) / 4096);
}

TEST(PrefaultStack, DepthKeepsAMargin) {
  EXPECT_EQ(PrefaultDepth(64 * 1024), 48u * 1024);
  EXPECT_LT(PrefaultDepth(16 * 1024), 16u * 1024);
  EXPECT_GT(PrefaultDepth(16 * 1024), 0u);
}

}  // namespace
}  // namespace reaperd::sys
