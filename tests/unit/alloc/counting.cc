// The replaced global operator new/delete of the unit_alloc binary (see counting.h).
#include "unit/alloc/counting.h"

#include <cstdlib>
#include <new>

// GCC pairs the replaced operator new with free() below and warns; the pair is malloc/free
// on both sides, which is what the replacement intends.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocs{0};
std::atomic<long> g_bytes{0};

void Note(std::size_t n) noexcept {
  if (g_counting.load(std::memory_order_relaxed)) {
    g_allocs.fetch_add(1, std::memory_order_relaxed);
    g_bytes.fetch_add(static_cast<long>(n), std::memory_order_relaxed);
  }
}
}  // namespace

void* operator new(std::size_t n) {
  Note(n);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  Note(n);
  return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace reaperd::alloc_test {

void StartCounting() noexcept {
  g_allocs = 0;
  g_bytes = 0;
  g_counting = true;
}

Counted StopCounting() noexcept {
  g_counting = false;
  return {g_allocs.load(), g_bytes.load()};
}

long AllocsSoFar() noexcept { return g_allocs.load(); }

}  // namespace reaperd::alloc_test
