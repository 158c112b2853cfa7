// reaperd-bus: publishes the daemon's events on the D-Bus system bus, as a process of its own
// so that reaperd links no D-Bus library and never waits for dbus-daemon (which stalls under
// the very pressure reaperd handles). It subscribes to the event stream on reaperd's status
// socket (reconnecting with back-off while the daemon is away), owns
// org.freedesktop.LowMemoryMonitor and emits its LowMemoryWarning signal (GLib's
// GMemoryMonitor and so GNOME applications listen to it), and emits
// org.reaperd.Events1.Killed for every kill. What each event becomes: bus/bus_events.h.
#include <signal.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

#include "bus/bus_events.h"
#include "bus/user_notice.h"
#include "report/event_stream.h"

namespace reaperd::bus {
namespace {

constexpr std::uint64_t kRetryFirstMs = 250;
constexpr std::uint64_t kRetryMaxMs = 5000;

// The interfaces as introspection shows them; sd-bus answers Introspect and Properties.
const sd_bus_vtable kLmmVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_SIGNAL_WITH_NAMES("LowMemoryWarning", "y", SD_BUS_PARAM(level), 0), SD_BUS_VTABLE_END};
const sd_bus_vtable kEventsVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_SIGNAL_WITH_NAMES("Killed", "susutss",
                             SD_BUS_PARAM(scope) SD_BUS_PARAM(pid) SD_BUS_PARAM(comm)
                                 SD_BUS_PARAM(uid) SD_BUS_PARAM(rss_bytes) SD_BUS_PARAM(container)
                                     SD_BUS_PARAM(outcome),
                             0),
    SD_BUS_VTABLE_END};

struct Options {
  std::string socket = "/run/reaperd/status.sock";
  std::string bus_address;  // empty: the system bus (DBUS_SYSTEM_BUS_ADDRESS if set)
  std::string user_bus = "/run/user/%u/bus";  // the victim owner's session bus ("" = none)
};

class Publisher {
 public:
  Publisher(const Options& o, sd_bus* bus, sd_event* ev) : o_(o), bus_(bus), ev_(ev) {}
  ~Publisher() {
    sd_event_source_unref(io_);
    sd_event_source_unref(retry_);
  }

  void Connect() {
    auto fd = report::SubscribeEvents(o_.socket, 2000);
    if (!fd) {
      const std::string why = fd.error().ToString();
      if (why != last_error_) {
        std::fprintf(stderr, "reaperd-bus: waiting for reaperd at %s: %s\n", o_.socket.c_str(),
                     why.c_str());
        last_error_ = why;
      }
      Retry();
      return;
    }
    stream_ = std::move(*fd);
    pending_.clear();
    last_error_.clear();
    backoff_ms_ = 0;
    if (sd_event_add_io(ev_, &io_, stream_.get(), EPOLLIN, &Publisher::OnReadable, this) < 0) {
      stream_.Reset();
      Retry();
      return;
    }
    std::fprintf(stderr, "reaperd-bus: subscribed to reaperd at %s\n", o_.socket.c_str());
  }

 private:
  void Retry() {
    backoff_ms_ = std::clamp(backoff_ms_ * 2, kRetryFirstMs, kRetryMaxMs);
    sd_event_source_unref(retry_);
    retry_ = nullptr;
    sd_event_add_time_relative(ev_, &retry_, CLOCK_MONOTONIC, backoff_ms_ * 1000, 0,
                               &Publisher::OnRetry, this);
  }

  static int OnRetry(sd_event_source*, std::uint64_t, void* self) {
    static_cast<Publisher*>(self)->Connect();
    return 0;
  }

  static int OnReadable(sd_event_source*, int, std::uint32_t, void* self) {
    static_cast<Publisher*>(self)->Read();
    return 0;
  }

  void Read() {
    char buf[16384];
    const ssize_t n = ::read(stream_.get(), buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) {
      std::fprintf(stderr, "reaperd-bus: reaperd closed the event stream; reconnecting\n");
      io_ = sd_event_source_unref(io_);
      stream_.Reset();
      Retry();
      return;
    }
    pending_.append(buf, static_cast<std::size_t>(n));
    for (auto nl = pending_.find('\n'); nl != std::string::npos; nl = pending_.find('\n')) {
      Handle(nlohmann::json::parse(pending_.substr(0, nl), nullptr, false));
      pending_.erase(0, nl + 1);
    }
    if (pending_.size() > (1U << 20)) pending_.clear();  // not the daemon's lines
  }

  void Handle(const nlohmann::json& e) {
    const BusAction a = Translate(e);
    const std::string kind = e.is_object() ? e.value("event", "") : "";
    if (kind == "lost") {
      std::fprintf(stderr, "reaperd-bus: %s events lost (this process was too slow)\n",
                   e.value("count", nlohmann::json(0)).dump().c_str());
    }
    if (a.warning) {
      const int r = sd_bus_emit_signal(bus_, kLmmPath, kLmmInterface, "LowMemoryWarning", "y",
                                       static_cast<int>(*a.warning));
      std::fprintf(stderr, "reaperd-bus: LowMemoryWarning level=%d scope=%s cause=%s result=%s\n",
                   *a.warning, a.scope.c_str(), kind.c_str(), r < 0 ? std::strerror(-r) : "sent");
    }
    if (a.killed) {
      const KillNotice& k = *a.killed;
      const int r = sd_bus_emit_signal(bus_, kEventsPath, kEventsInterface, "Killed", "susutss",
                                       k.scope.c_str(), k.pid, k.comm.c_str(), k.uid, k.rss_bytes,
                                       k.container.c_str(), k.outcome.c_str());
      std::fprintf(stderr, "reaperd-bus: Killed scope=%s pid=%u comm=%s outcome=%s result=%s\n",
                   k.scope.c_str(), k.pid, k.comm.c_str(), k.outcome.c_str(),
                   r < 0 ? std::strerror(-r) : "sent");
      if (k.outcome == "signalled" && !o_.user_bus.empty()) NotifyOwner(k);
    }
  }

  // The desktop notice to the victim's owner, from a child (bus/user_notice.h) reaped here.
  void NotifyOwner(const KillNotice& k) {
    std::string why;
    const pid_t child = SendUserNotice(k, SessionBusPath(o_.user_bus, k.uid), &why);
    if (child < 0) {
      std::fprintf(stderr, "reaperd-bus: notice uid=%u pid=%u result=skipped why=\"%s\"\n", k.uid,
                   k.pid, why.c_str());
      return;
    }
    sd_event_add_child(ev_, nullptr, child, WEXITED, &Publisher::OnNoticeDone, nullptr);
  }

  static int OnNoticeDone(sd_event_source* s, const siginfo_t* si, void*) {
    std::fprintf(stderr, "reaperd-bus: notice child=%d result=%s status=%d\n", si->si_pid,
                 si->si_code == CLD_EXITED && si->si_status == 0 ? "sent" : "failed",
                 si->si_status);
    sd_event_source_unref(s);
    return 0;
  }

  const Options& o_;
  sd_bus* bus_;
  sd_event* ev_;
  sd_event_source* io_ = nullptr;
  sd_event_source* retry_ = nullptr;
  sys::UniqueFd stream_;
  std::string pending_;
  std::string last_error_;
  std::uint64_t backoff_ms_ = 0;
};

int Usage(FILE* out) {
  std::fputs(
      "usage: reaperd-bus [--socket PATH] [--bus-address ADDRESS]\n"
      "  --socket PATH         reaperd's status socket (default /run/reaperd/status.sock)\n"
      "  --bus-address ADDR    a D-Bus address instead of the system bus\n"
      "                        (default: DBUS_SYSTEM_BUS_ADDRESS, else the system bus)\n"
      "  --user-bus PATH       the session bus socket a victim's owner is told on, %u the\n"
      "                        uid (default /run/user/%u/bus; \"\" sends no notice)\n",
      out);
  return out == stdout ? 0 : 64;
}

int Fail(const char* what, int r) {
  std::fprintf(stderr, "reaperd-bus: %s: %s\n", what, std::strerror(-r));
  return 1;
}

int Run(const Options& o) {
  sd_bus* bus = nullptr;
  int r = 0;
  if (o.bus_address.empty()) {
    r = sd_bus_open_system(&bus);
  } else if ((r = sd_bus_new(&bus)) >= 0 &&
             (r = sd_bus_set_address(bus, o.bus_address.c_str())) >= 0 &&
             (r = sd_bus_set_bus_client(bus, 1)) >= 0) {
    r = sd_bus_start(bus);
  }
  if (r < 0) return Fail("cannot connect to the bus", r);
  if ((r = sd_bus_add_object_vtable(bus, nullptr, kLmmPath, kLmmInterface, kLmmVtable, nullptr)) <
          0 ||
      (r = sd_bus_add_object_vtable(bus, nullptr, kEventsPath, kEventsInterface, kEventsVtable,
                                    nullptr)) < 0) {
    return Fail("cannot add the objects", r);
  }
  if ((r = sd_bus_request_name(bus, kLmmName, 0)) < 0) {
    return Fail("cannot own org.freedesktop.LowMemoryMonitor (is the D-Bus policy installed?)", r);
  }
  sd_event* ev = nullptr;
  if ((r = sd_event_default(&ev)) < 0) return Fail("sd_event_default", r);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGCHLD);  // the notice children, reaped through sd-event
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  sd_event_add_signal(ev, nullptr, SIGTERM, nullptr, nullptr);
  sd_event_add_signal(ev, nullptr, SIGINT, nullptr, nullptr);
  if ((r = sd_bus_attach_event(bus, ev, 0)) < 0) return Fail("sd_bus_attach_event", r);
  sd_bus_set_exit_on_disconnect(bus, 1);  // a bus that went away: exit, systemd restarts us
  std::fprintf(stderr, "reaperd-bus: owning %s on the bus\n", kLmmName);
  {
    Publisher p(o, bus, ev);
    p.Connect();
    r = sd_event_loop(ev);
  }
  sd_bus_flush_close_unref(bus);
  sd_event_unref(ev);
  return r < 0 ? 1 : 0;
}

}  // namespace
}  // namespace reaperd::bus

int main(int argc, char** argv) {
  std::setvbuf(stderr, nullptr, _IOLBF, 0);
  reaperd::bus::Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if ((a == "--socket" || a == "--bus-address" || a == "--user-bus") && i + 1 < argc) {
      (a == "--socket" ? o.socket : a == "--bus-address" ? o.bus_address : o.user_bus) = argv[++i];
    } else if (a == "--help" || a == "-h") {
      return reaperd::bus::Usage(stdout);
    } else if (a == "--version") {
      std::printf("reaperd-bus %s\n", REAPERD_VERSION);
      return 0;
    } else {
      std::fprintf(stderr, "reaperd-bus: unknown argument %s\n", a.c_str());
      return reaperd::bus::Usage(stderr);
    }
  }
  return reaperd::bus::Run(o);
}
