#include "bus/user_notice.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

namespace reaperd::bus {

namespace {

// In the child: become the user, connect to their session bus, call Notify, exit.
[[noreturn]] void NotifyAsUser(const KillNotice& k, const std::string& bus_path) {
  ::alarm(5);  // a notification server that does not answer ends the child
  const passwd* pw = ::getpwuid(k.uid);
  const gid_t gid = pw != nullptr ? pw->pw_gid : k.uid;
  if (::setgroups(0, nullptr) != 0 && ::geteuid() == 0) ::_exit(2);
  if (::setresgid(gid, gid, gid) != 0 || ::setresuid(k.uid, k.uid, k.uid) != 0) ::_exit(3);
  sd_bus* bus = nullptr;
  const std::string address = "unix:path=" + bus_path;
  if (sd_bus_new(&bus) < 0 || sd_bus_set_address(bus, address.c_str()) < 0 ||
      sd_bus_set_bus_client(bus, 1) < 0 || sd_bus_start(bus) < 0) {
    ::_exit(4);
  }
  sd_bus_error error{};  // SD_BUS_ERROR_NULL, without its C compound literal
  sd_bus_message* reply = nullptr;
  // Notify(app_name, replaces_id, app_icon, summary, body, actions, hints, expire_timeout):
  // urgency critical (2), so that the notice stays until read.
  const int r =
      sd_bus_call_method(bus, "org.freedesktop.Notifications", "/org/freedesktop/Notifications",
                         "org.freedesktop.Notifications", "Notify", &error, &reply, "susssasa{sv}i",
                         "reaperd", 0U, "dialog-warning", NoticeSummary(k).c_str(),
                         NoticeBody(k).c_str(), 0, 1, "urgency", "y", 2, -1);
  ::_exit(r < 0 ? 5 : 0);
}

}  // namespace

pid_t SendUserNotice(const KillNotice& k, const std::string& bus_path, std::string* why) {
  struct stat st {};
  if (::stat(bus_path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
    *why = "no session bus at " + bus_path;
    return -1;
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    *why = "fork failed";
    return -1;
  }
  if (pid == 0) NotifyAsUser(k, bus_path);
  return pid;
}

}  // namespace reaperd::bus
