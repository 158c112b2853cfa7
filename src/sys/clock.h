// Time for every layer that needs it, injected so tests control it. Nanoseconds since an
// arbitrary epoch (CLOCK_MONOTONIC for the real clock; it does not jump with wall time).
#pragma once

#include <cstdint>

namespace reaperd::sys {

using Nanos = std::int64_t;
constexpr Nanos kMicro = 1000;
constexpr Nanos kMilli = 1000 * kMicro;
constexpr Nanos kSecond = 1000 * kMilli;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Nanos Now() const noexcept = 0;
};

class MonotonicClock final : public Clock {
 public:
  Nanos Now() const noexcept override;
};

// Wall-clock time in nanoseconds since the Unix epoch, for reports only.
Nanos WallNow() noexcept;

// The calling thread's CPU time (user and system, CLOCK_THREAD_CPUTIME_ID), for reports: how
// much of a wall-clock span the thread itself ran. A system call, not the vDSO.
Nanos ThreadCpuNow() noexcept;

// The calling thread's major page faults so far (getrusage RUSAGE_THREAD): the faults it
// waited on a read from disk for. A system call.
long ThreadMajorFaults() noexcept;

// A clock tests move by hand.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(Nanos start = 1000 * kSecond) : now_(start) {}
  Nanos Now() const noexcept override { return now_; }
  void Advance(Nanos d) noexcept { now_ += d; }
  void Set(Nanos t) noexcept { now_ = t; }

 private:
  Nanos now_;
};

}  // namespace reaperd::sys
