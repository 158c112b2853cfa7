#include "sys/realtime.h"

#include <pthread.h>
#include <sched.h>

namespace reaperd::sys {

namespace {

void* TryFifo(void* arg) {
  auto* prio = static_cast<int*>(arg);
  sched_param p{};
  p.sched_priority = *prio;
  *prio = ::pthread_setschedparam(::pthread_self(), SCHED_FIFO, &p);
  return nullptr;
}

}  // namespace

Result<void> ProbeRealtime(int priority) noexcept {
  int arg = priority;
  pthread_t t;
  if (int e = ::pthread_create(&t, nullptr, TryFifo, &arg); e != 0) {
    return Fail(Error::Sys(e, "pthread_create"));
  }
  ::pthread_join(t, nullptr);
  if (arg != 0) return Fail(Error::Sys(arg, "pthread_setschedparam SCHED_FIFO"));
  return {};
}

}  // namespace reaperd::sys
