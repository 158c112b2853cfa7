// The daemon's early wake-ups under real memory pressure: the event sources ScopeSources
// registers for a scope must wake a loop blocked in epoll_wait. A v1 cgroup scope's
// memory.pressure_level eventfd fires when its cgroup reclaims hard; the system scope's PSI
// trigger fires when a cgroup thrashes on its page cache. Each fails when its source is not
// in the epoll set (checked by removing the ep_.Add). Replaces a unit test that only opened a
// PSI trigger and never waited for it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <string>
#include <vector>

#include "base/log.h"
#include "daemon/sampler.h"
#include "daemon/scope_sources.h"
#include "support/cgroup_sandbox.h"
#include "support/hog.h"
#include "sys/clock.h"
#include "sys/event_loop.h"
#include "sys/system_view.h"

namespace reaperd::itest {
namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;
// The loop's own tags, as in daemon.cc: the low bits of the epoll data.
constexpr std::uint64_t kTagPsi = 5;
constexpr std::uint64_t kTagLevel = 6;
constexpr std::uint64_t kTagMask = (std::uint64_t{1} << daemon::ScopeSources::kIdShift) - 1;

TEST(PressureEventLive, ReclaimInACgroupWakesTheLoopThroughItsScopeSource) {
  std::string why;
  auto sb = CgroupSandbox::Create("pressure", 64 * kMiB, &why);
  ASSERT_TRUE(sb) << why;
  auto view = sys::RealSystemView::Open();
  ASSERT_TRUE(view.has_value()) << view.error().ToString();
  if (view->cgroup_version() != sys::CgroupVersion::kV1) {
    GTEST_SKIP() << "v1 memory.pressure_level: this host has cgroup v2";
  }
  sys::MonotonicClock clock;
  policy::Scope scope;
  ASSERT_TRUE(policy::ParseScope("cgroup:" + sb->cgroup(), &scope));
  std::vector<daemon::Sampler> samplers;
  samplers.emplace_back(*view, clock, scope);

  RecordingSink sink;
  Logger log(sink, LogLevel::kDebug);
  auto ep = sys::Epoll::Create();
  ASSERT_TRUE(ep.has_value());
  daemon::ScopeSources sources(*ep, *view, log, kTagPsi, kTagLevel);
  sources.Sync(samplers);
  ASSERT_NE(sources.described().find("pressure_level:cgroup:" + sb->cgroup()), std::string::npos)
      << sources.described();

  std::array<epoll_event, 8> events{};
  auto quiet = ep->Wait(events, 0);
  ASSERT_TRUE(quiet.has_value());
  ASSERT_EQ(*quiet, 0u) << "a pressure event before any pressure";

  // Anonymous memory growing past the limit (no swap here): the cgroup reclaims at every
  // priority, vmpressure reports "critical" (at or above the "medium" the source asked for),
  // and then the kernel's memcg OOM killer ends the hog inside the sandbox.
  Hog hog = Hog::Spawn({.touch_mib = 0, .grow_mib_per_s = 100, .grow_max_mib = 256}, sb.get());
  ASSERT_GT(hog.pid(), 0);

  // Blocks in the loop's wait as the daemon does; generous, as this asserts the wake-up, not
  // its latency.
  bool woke = false;
  std::uint64_t id = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!woke && std::chrono::steady_clock::now() < deadline) {
    auto n = ep->Wait(events, 5000);
    ASSERT_TRUE(n.has_value()) << n.error().ToString();
    for (std::size_t i = 0; i < *n; ++i) {
      ASSERT_EQ(events[i].data.u64 & kTagMask, kTagLevel) << "woken by another source";
      id = events[i].data.u64 >> daemon::ScopeSources::kIdShift;
      sources.OnEvent(id, events[i].events);  // reads (resets) the eventfd, as the loop does
      woke = true;
    }
  }
  EXPECT_TRUE(woke) << "no memory.pressure_level event in 60 s; usage " << sb->Usage()
                    << ", oom_kills " << sb->OomKills();
  EXPECT_EQ(id, 1u);  // the first (only) source
  // OnEvent drained the eventfd: the loop does not spin on the same event. (A later real
  // event may wake it again while the hog is still reclaiming, so this only checks level
  // triggering is not stuck when the cgroup is quiet: after the hog is gone.)
  hog.Kill();
  sb->KillAll();
  for (int i = 0; i < 3; ++i) {
    auto n = ep->Wait(events, 500);
    ASSERT_TRUE(n.has_value());
    for (std::size_t k = 0; k < *n; ++k) sources.OnEvent(id, events[k].events);
  }
  auto after = ep->Wait(events, 200);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(*after, 0u) << "the eventfd was not reset";
}

// A child in the sandbox that holds `anon_mib` of touched anonymous memory and re-reads a
// file on disk larger than what is left under the limit: page cache is evicted and read back
// over and over, so the cgroup reclaims and its tasks stall on refaults (memory pressure
// without an OOM kill). Returns its pid (SIGKILL it when done).
pid_t SpawnChurner(const CgroupSandbox& sb, const std::string& file, std::uint64_t anon_mib) {
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  if (!sb.AddProcess(::getpid())) ::_exit(2);
  const std::size_t anon = anon_mib * kMiB;
  void* m = ::mmap(nullptr, anon, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) ::_exit(3);
  for (std::size_t off = 0; off < anon; off += 4096) static_cast<char*>(m)[off] = 1;
  // Random pages of a mapped file: each access a major fault once the cache is squeezed,
  // and pages touched twice are refaulted as workingset (a memory stall, not just IO).
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) ::_exit(4);
  const std::size_t size = static_cast<std::size_t>(::lseek(fd, 0, SEEK_END));
  void* f = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  if (f == MAP_FAILED) ::_exit(5);
  ::madvise(f, size, MADV_RANDOM);
  std::uint64_t x = 88172645463325252ULL;
  for (;;) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const std::size_t page = (x % (size / 4096)) * 4096;
    static_cast<volatile char*>(m)[page % anon] = static_cast<const volatile char*>(f)[page];
  }
}

// The system scope's PSI trigger (/proc/pressure/memory) sees the stall of a task in any
// cgroup: a cgroup thrashing on its page cache must wake the loop through it.
TEST(PressureEventLive, PsiTriggerWakesTheLoopUnderRealPressure) {
  if (::geteuid() != 0 || ::access("/proc/pressure/memory", R_OK | W_OK) != 0) {
    GTEST_SKIP() << "PSI triggers need root and /proc/pressure/memory";
  }
  std::string why;
  auto sb = CgroupSandbox::Create("psi", 64 * kMiB, &why);
  ASSERT_TRUE(sb) << why;
  auto view = sys::RealSystemView::Open();
  ASSERT_TRUE(view.has_value()) << view.error().ToString();
  sys::MonotonicClock clock;
  std::vector<daemon::Sampler> samplers;
  samplers.emplace_back(*view, clock, policy::Scope{});  // the system scope

  RecordingSink sink;
  Logger log(sink, LogLevel::kDebug);
  auto ep = sys::Epoll::Create();
  ASSERT_TRUE(ep.has_value());
  daemon::ScopeSources sources(*ep, *view, log, kTagPsi, kTagLevel);
  sources.Sync(samplers);
  ASSERT_NE(sources.described().find("psi:/proc/pressure/memory"), std::string::npos)
      << sources.described() << "\n"
      << (sink.Lines().empty() ? "" : sink.Lines().back());

  // 96 MiB on disk (not /tmp, which may be tmpfs and so not reclaimable without swap).
  std::string file = REAPERD_BINARY;
  file = file.substr(0, file.rfind('/')) + "/psi-churn-" + std::to_string(::getpid());
  {
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    std::vector<char> chunk(kMiB, 'x');
    for (int i = 0; i < 96; ++i) {
      ASSERT_EQ(::write(fd, chunk.data(), chunk.size()), static_cast<ssize_t>(chunk.size()));
    }
    ::fsync(fd);
    // Written here, its cache is charged to our cgroup: drop it, so the churner's reads are
    // charged to (and squeezed by) the sandbox.
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
  const pid_t churner = SpawnChurner(*sb, file, 52);
  ASSERT_GT(churner, 0);

  bool woke = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::array<epoll_event, 8> events{};
  while (!woke && std::chrono::steady_clock::now() < deadline) {
    auto n = ep->Wait(events, 5000);
    ASSERT_TRUE(n.has_value()) << n.error().ToString();
    for (std::size_t i = 0; i < *n; ++i) {
      EXPECT_EQ(events[i].data.u64 & kTagMask, kTagPsi) << "woken by another source";
      EXPECT_NE(events[i].events & EPOLLPRI, 0u);
      woke = true;
    }
  }
  ::kill(churner, SIGKILL);
  ::waitpid(churner, nullptr, 0);
  ::unlink(file.c_str());
  EXPECT_TRUE(woke) << "no PSI trigger event in 60 s; oom_kills " << sb->OomKills();
  EXPECT_EQ(sb->OomKills(), 0u) << "the churn was meant to stall, not to OOM";
}

}  // namespace
}  // namespace reaperd::itest
