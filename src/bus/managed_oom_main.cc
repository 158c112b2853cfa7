// reaperd-managed-oom: tells reaperd which cgroups systemd's units opted in to pressure kills
// (ManagedOOMMemoryPressure=kill, systemd.resource-control(5)), so that reaperd can honour them
// as systemd-oomd does. systemd hands that list to systemd-oomd alone (PID 1's varlink method
// io.systemd.ManagedOOM.SubscribeManagedOOMCGroups answers only the unit systemd-oomd.service,
// and one subscriber), and libsystemd 252 has no public varlink client; the unit properties
// are public on D-Bus. So this process, apart from the daemon (which links no D-Bus library and
// never waits for PID 1), reads them with sd-bus every few seconds over PID 1's private bus
// socket (as systemctl does as root, no dbus-daemon in the way; the system bus if that fails),
// reads systemd-oomd's defaults from oomd.conf, and sends the table on reaperd's status socket
// (request "managed-oom", report/managed_oom_message.h).
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "bus/managed_oom_units.h"
#include "report/managed_oom_message.h"
#include "sys/unix_socket.h"

namespace reaperd::bus {
namespace {

struct Options {
  std::string socket = "/run/reaperd/status.sock";
  int interval_ms = 5000;
  bool once = false;  // print the request and exit (for checking a host)
};

sd_bus* Connect() {
  sd_bus* bus = nullptr;
  if (sd_bus_new(&bus) >= 0 && sd_bus_set_address(bus, "unix:path=/run/systemd/private") >= 0 &&
      sd_bus_start(bus) >= 0) {
    return bus;
  }
  sd_bus_unref(bus);
  bus = nullptr;
  if (sd_bus_open_system(&bus) >= 0) return bus;
  return nullptr;
}

const char* InterfaceOf(const std::string& unit) {
  if (unit.ends_with(".slice")) return "org.freedesktop.systemd1.Slice";
  if (unit.ends_with(".service")) return "org.freedesktop.systemd1.Service";
  if (unit.ends_with(".scope")) return "org.freedesktop.systemd1.Scope";
  return nullptr;
}

// The active slices, services and scopes with their ManagedOOM settings; false when PID 1
// could not be asked.
bool ReadUnits(sd_bus* bus, std::vector<UnitOom>& out) {
  sd_bus_error err{};  // SD_BUS_ERROR_NULL, without its C compound literal (clang -Wpedantic)
  sd_bus_message* reply = nullptr;
  sd_bus_message* req = nullptr;
  int r = sd_bus_message_new_method_call(bus, &req, "org.freedesktop.systemd1",
                                         "/org/freedesktop/systemd1",
                                         "org.freedesktop.systemd1.Manager", "ListUnitsByPatterns");
  char s_active[] = "active", s_activating[] = "activating", s_reloading[] = "reloading";
  char slices[] = "*.slice", services[] = "*.service", scopes[] = "*.scope";
  char* states[] = {s_active, s_activating, s_reloading, nullptr};
  char* patterns[] = {slices, services, scopes, nullptr};
  if (r >= 0) r = sd_bus_message_append_strv(req, states);
  if (r >= 0) r = sd_bus_message_append_strv(req, patterns);
  if (r >= 0) r = sd_bus_call(bus, req, 5'000'000, &err, &reply);
  sd_bus_message_unref(req);
  if (r < 0) {
    std::fprintf(stderr, "reaperd-managed-oom: ListUnitsByPatterns: %s\n",
                 err.message ? err.message : std::strerror(-r));
    sd_bus_error_free(&err);
    return false;
  }
  std::vector<std::pair<std::string, std::string>> units;  // name, object path
  r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
  while (r > 0) {
    const char *name, *desc, *load, *active, *sub, *following, *path, *jtype, *jpath;
    std::uint32_t jid;
    r = sd_bus_message_read(reply, "(ssssssouso)", &name, &desc, &load, &active, &sub, &following,
                            &path, &jid, &jtype, &jpath);
    if (r > 0) units.emplace_back(name, path);
  }
  sd_bus_message_unref(reply);
  for (const auto& [name, path] : units) {
    const char* iface = InterfaceOf(name);
    if (iface == nullptr) continue;
    char* mode = nullptr;
    if (sd_bus_get_property_string(bus, "org.freedesktop.systemd1", path.c_str(), iface,
                                   "ManagedOOMMemoryPressure", &err, &mode) < 0) {
      sd_bus_error_free(&err);  // gone meanwhile, or a systemd without the property
      continue;
    }
    UnitOom u;
    u.memory_pressure = mode;
    std::free(mode);
    if (u.memory_pressure != "kill") continue;
    char* cg = nullptr;
    if (sd_bus_get_property_string(bus, "org.freedesktop.systemd1", path.c_str(), iface,
                                   "ControlGroup", &err, &cg) >= 0) {
      u.control_group = cg;
      std::free(cg);
    }
    sd_bus_error_free(&err);
    (void)sd_bus_get_property_trivial(bus, "org.freedesktop.systemd1", path.c_str(), iface,
                                      "ManagedOOMMemoryPressureLimit", &err, 'u', &u.limit_scaled);
    sd_bus_error_free(&err);
    out.push_back(std::move(u));
  }
  return true;
}

OomdDefaults ReadOomdDefaults() {
  OomdDefaults d;
  for (const auto& f : OomdConfFiles()) {
    std::ifstream in(f);
    std::stringstream ss;
    ss << in.rdbuf();
    ApplyOomdConf(ss.str(), d);
  }
  return d;
}

int Run(const Options& o) {
  std::string last_note;
  auto note = [&](const std::string& s) {
    if (s != last_note) std::fprintf(stderr, "reaperd-managed-oom: %s\n", s.c_str());
    last_note = s;
  };
  for (;;) {
    sd_bus* bus = Connect();
    std::vector<UnitOom> units;
    const bool ok = bus != nullptr && ReadUnits(bus, units);
    sd_bus_flush_close_unref(bus);
    if (!ok) {
      note("systemd not reachable (/run/systemd/private, system bus); retrying");
      if (o.once) return 1;
    } else {
      const std::string msg = ManagedOomMessage(units, ReadOomdDefaults());
      if (o.once) {
        std::printf("%s%s\n", report::kManagedOomRequest.data(), msg.c_str());
        return 0;
      }
      std::string reply;
      auto r = sys::UnixRequest(o.socket, std::string(report::kManagedOomRequest) + msg + "\n",
                                2000, &reply);
      if (!r) {
        note("waiting for reaperd at " + o.socket + ": " + r.error().ToString());
      } else {
        note("reaperd: " + reply + " (" + msg + ")");
      }
    }
    ::usleep(static_cast<useconds_t>(o.interval_ms) * 1000);
  }
}

}  // namespace
}  // namespace reaperd::bus

int main(int argc, char** argv) {
  reaperd::bus::Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--socket" && i + 1 < argc) {
      o.socket = argv[++i];
    } else if (a == "--interval-ms" && i + 1 < argc) {
      o.interval_ms = std::max(200, std::atoi(argv[++i]));
    } else if (a == "--once") {
      o.once = true;
    } else {
      std::fprintf(stderr,
                   "usage: reaperd-managed-oom [--socket PATH] [--interval-ms N] [--once]\n");
      return 2;
    }
  }
  return reaperd::bus::Run(o);
}
