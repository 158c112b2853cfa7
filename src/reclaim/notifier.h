// The steps of the reclaim chain. A Notifier asks someone to release memory: the kernel
// (cgroup v2 memory.reclaim, drop_caches), applications (a trim signal, a line on their
// unix socket) or a hook program. Run() is called on the scope's reclaim worker thread,
// never on the daemon loop, and must return by its timeout (a notifier that cannot be
// bounded says so in its header). What a step freed is measured by the chain, not by the
// notifier.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/log.h"
#include "config/config.h"
#include "policy/scope.h"
#include "pressure/sample.h"
#include "scan/scanner.h"
#include "sys/clock.h"
#include "sys/system_view.h"

namespace reaperd::reclaim {

struct NotifyContext {
  policy::Scope scope;
  pressure::Level level = pressure::Level::kReclaim;
  pressure::PressureSample sample;
  pressure::Decision decision;
  const std::atomic<bool>* cancel = nullptr;  // set when the daemon stops
};

enum class NotifyOutcome : std::uint8_t {
  kDone,         // it ran to the end
  kTimedOut,     // abandoned at its timeout
  kFailed,       // it could not run (an error, logged)
  kNoTarget,     // nobody to ask (no matching process, no socket listener)
  kUnsupported,  // not possible here (e.g. memory.reclaim on cgroup v1)
};
const char* NotifyOutcomeName(NotifyOutcome o) noexcept;

class Notifier {
 public:
  virtual ~Notifier() = default;
  virtual const std::string& name() const noexcept = 0;
  virtual std::string_view kind() const noexcept = 0;
  virtual NotifyOutcome Run(const NotifyContext& ctx, int timeout_ms) = 0;
};

// Publishes one JSON line on the daemon's event stream from any thread; false when nobody
// is subscribed (the line is not kept).
using EventPost = std::function<bool(std::string json_line)>;

// What notifiers need from the daemon.
struct NotifierDeps {
  sys::SystemView& view;
  const sys::Clock& clock;
  Logger& log;
  const EventPost* post_event = nullptr;  // the "event" notifier's way out; may be unset
};

// Builds the notifier a config entry describes.
std::unique_ptr<Notifier> MakeNotifier(const config::NotifierConfig& cfg, NotifierDeps deps);

}  // namespace reaperd::reclaim
