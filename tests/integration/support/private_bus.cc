#include "integration/support/private_bus.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "integration/support/cgroup_sandbox.h"

namespace reaperd::itest {
namespace {

constexpr const char* kDbusDaemon = "/usr/bin/dbus-daemon";

std::string Config(const std::string& dir) {
  return R"(<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <auth>EXTERNAL</auth>
  <listen>unix:path=)" +
         dir + R"(/system_bus_socket</listen>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <include>)" REAPERD_SOURCE_DIR R"(/packaging/dbus/org.freedesktop.LowMemoryMonitor.conf</include>
</busconfig>
)";
}

}  // namespace

std::unique_ptr<PrivateBus> PrivateBus::Start(const std::string& dir, std::string* why) {
  return Launch(dir + "/bus.conf", Config(dir), why);
}

std::unique_ptr<PrivateBus> PrivateBus::StartSession(const std::string& dir,
                                                     const std::string& socket_path,
                                                     std::string* why) {
  return Launch(dir + "/session.conf",
                R"(<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=)" +
                    socket_path + R"(</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
)",
                why);
}

std::unique_ptr<PrivateBus> PrivateBus::Launch(const std::string& conf, const std::string& text,
                                               std::string* why) {
  if (::access(kDbusDaemon, X_OK) != 0) {
    *why = "dbus-daemon is not installed (apt-get install dbus-daemon; make test-deps)";
    return nullptr;
  }
  std::ofstream(conf) << text;
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    *why = "pipe";
    return nullptr;
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipe_fds[1], 3);
    const int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 1);
    const std::string conf_arg = "--config-file=" + conf;
    ::execl(kDbusDaemon, kDbusDaemon, conf_arg.c_str(), "--nofork", "--nopidfile",
            "--print-address=3", nullptr);
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  std::unique_ptr<PrivateBus> bus(new PrivateBus());
  bus->pid_ = pid;
  std::string line;
  pollfd p{pipe_fds[0], POLLIN, 0};
  while (line.find('\n') == std::string::npos && ::poll(&p, 1, 5000) > 0) {
    char buf[512];
    const ssize_t n = ::read(pipe_fds[0], buf, sizeof buf);
    if (n <= 0) break;
    line.append(buf, static_cast<std::size_t>(n));
  }
  ::close(pipe_fds[0]);
  if (line.find('\n') == std::string::npos) {
    *why = "dbus-daemon printed no address";
    return nullptr;
  }
  bus->address_ = line.substr(0, line.find('\n'));
  return bus;
}

PrivateBus::~PrivateBus() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
}

Spawned::Spawned(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                 const std::string& out_path, const CgroupSandbox* in_cgroup)
    : out_path_(out_path) {
  std::vector<std::string> env_copy = env;
  pid_ = ::fork();
  if (pid_ == 0) {
    if (in_cgroup != nullptr && !in_cgroup->AddProcess(::getpid())) ::_exit(126);
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    ::dup2(out, 1);
    ::dup2(out, 2);
    for (std::string& e : env_copy) ::putenv(e.data());
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
}

Spawned::~Spawned() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGCONT);
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  ::unlink(out_path_.c_str());
}

std::string Spawned::Output() const { return ReadFile(out_path_); }

int Spawned::Wait(int timeout_ms) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < end) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      reaped_ = true;
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

}  // namespace reaperd::itest
