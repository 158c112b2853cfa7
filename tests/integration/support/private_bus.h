// A private dbus-daemon for the D-Bus tests: the system bus's policy (deny owning names and
// method calls by default, signals allowed) plus reaperd-bus's own policy file from
// packaging/dbus, listening on a socket in a test directory. And Spawned, a child process
// with its output in a file, optionally started inside a test cgroup, for reaperd-bus and
// the GLib client.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

namespace reaperd::itest {

class CgroupSandbox;

class PrivateBus {
 public:
  // Null (and why) when dbus-daemon is missing or does not start.
  static std::unique_ptr<PrivateBus> Start(const std::string& dir, std::string* why);
  // A session bus (everything allowed, as a session bus's own user has it) on socket_path.
  static std::unique_ptr<PrivateBus> StartSession(const std::string& dir,
                                                  const std::string& socket_path, std::string* why);
  ~PrivateBus();
  PrivateBus(const PrivateBus&) = delete;
  PrivateBus& operator=(const PrivateBus&) = delete;
  const std::string& address() const { return address_; }

 private:
  PrivateBus() = default;
  static std::unique_ptr<PrivateBus> Launch(const std::string& conf, const std::string& text,
                                            std::string* why);
  pid_t pid_ = -1;
  std::string address_;
};

class Spawned {
 public:
  // argv[0] is a path; env entries ("K=V") are added to this process's environment; stdout
  // and stderr go to out_path; in_cgroup (if any) holds the child from before its exec.
  Spawned(const std::vector<std::string>& argv, const std::vector<std::string>& env,
          const std::string& out_path, const CgroupSandbox* in_cgroup = nullptr);
  ~Spawned();  // SIGKILL (after SIGCONT), reaped
  Spawned(const Spawned&) = delete;
  Spawned& operator=(const Spawned&) = delete;
  pid_t pid() const { return pid_; }
  std::string Output() const;
  // Waits for it to exit; its wait status, or -1 after timeout_ms.
  int Wait(int timeout_ms);

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  std::string out_path_;
};

}  // namespace reaperd::itest
