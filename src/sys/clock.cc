#include "sys/clock.h"

#include <sys/resource.h>
#include <time.h>

namespace reaperd::sys {

namespace {
Nanos Read(clockid_t id) noexcept {
  timespec ts{};
  ::clock_gettime(id, &ts);
  return static_cast<Nanos>(ts.tv_sec) * kSecond + ts.tv_nsec;
}
}  // namespace

Nanos MonotonicClock::Now() const noexcept { return Read(CLOCK_MONOTONIC); }
Nanos WallNow() noexcept { return Read(CLOCK_REALTIME); }
Nanos ThreadCpuNow() noexcept { return Read(CLOCK_THREAD_CPUTIME_ID); }

long ThreadMajorFaults() noexcept {
  rusage ru{};
  if (::getrusage(RUSAGE_THREAD, &ru) != 0) return 0;
  return ru.ru_majflt;
}

}  // namespace reaperd::sys
