#include "integration/support/cgroup_sandbox.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace reaperd::itest {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return "";
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool WriteFile(const std::string& path, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
  ::close(fd);
  return ok;
}

std::string OwnCgroup(const std::string& controller) {
  std::istringstream in(ReadFile("/proc/self/cgroup"));
  std::string line;
  while (std::getline(in, line)) {
    auto c1 = line.find(':');
    auto c2 = line.find(':', c1 + 1);
    if (c1 == std::string::npos || c2 == std::string::npos) continue;
    std::string list = "," + line.substr(c1 + 1, c2 - c1 - 1) + ",";
    if (list.find("," + controller + ",") != std::string::npos) return line.substr(c2 + 1);
  }
  return "";
}

std::unique_ptr<CgroupSandbox> CgroupSandbox::Create(const std::string& name, std::uint64_t limit,
                                                     std::string* why) {
  static std::atomic<int> counter{0};
  if (::access((std::string(kMount) + "/memory.usage_in_bytes").c_str(), F_OK) != 0) {
    *why = "no cgroup v1 memory controller at " + std::string(kMount);
    return nullptr;
  }
  std::string parent = OwnMemoryCgroup();
  if (parent.empty()) {
    *why = "no memory line in /proc/self/cgroup";
    return nullptr;
  }
  if (parent.back() == '/') parent.pop_back();
  std::string cg =
      parent + "/" + name + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  std::string dir = std::string(kMount) + cg;
  if (::mkdir(dir.c_str(), 0755) != 0) {
    *why = "mkdir " + dir + ": " + std::strerror(errno);
    return nullptr;
  }
  std::unique_ptr<CgroupSandbox> sb(new CgroupSandbox(cg, dir));
  if (!WriteFile(dir + "/memory.limit_in_bytes", std::to_string(limit))) {
    *why = "cannot set memory.limit_in_bytes";
    return nullptr;  // the destructor removes the directory
  }
  return sb;
}

CgroupSandbox::~CgroupSandbox() {
  KillAll();
  for (int i = 0; i < 200; ++i) {
    if (::rmdir(dir_.c_str()) == 0 || errno == ENOENT) return;
    ::usleep(10000);  // the last exits can take a moment to leave the cgroup
  }
}

bool CgroupSandbox::AddProcess(pid_t pid) const {
  return WriteFile(dir_ + "/cgroup.procs", std::to_string(pid));
}

std::vector<pid_t> CgroupSandbox::Procs() const {
  std::vector<pid_t> out;
  std::istringstream in(ReadFile(dir_ + "/cgroup.procs"));
  pid_t p;
  while (in >> p) out.push_back(p);
  return out;
}

static std::uint64_t ToU64(const std::string& s) { return std::strtoull(s.c_str(), nullptr, 10); }

std::uint64_t CgroupSandbox::Usage() const {
  return ToU64(ReadFile(dir_ + "/memory.usage_in_bytes"));
}

std::uint64_t CgroupSandbox::Limit() const {
  return ToU64(ReadFile(dir_ + "/memory.limit_in_bytes"));
}

std::uint64_t CgroupSandbox::OomKills() const {
  std::istringstream in(ReadFile(dir_ + "/memory.oom_control"));
  std::string key;
  std::uint64_t v;
  while (in >> key >> v) {
    if (key == "oom_kill") return v;
  }
  return 0;
}

void CgroupSandbox::KillAll() const {
  for (int round = 0; round < 500; ++round) {
    auto procs = Procs();
    if (procs.empty()) return;
    for (pid_t p : procs) {
      // Through a pidfd: the PID is only ever signalled as the process we opened.
      int fd = static_cast<int>(::syscall(SYS_pidfd_open, p, 0));
      if (fd < 0) continue;
      // Only if the opened process is really ours (a PID reused since cgroup.procs was
      // read belongs to someone else on this shared machine).
      if (ReadFile("/proc/" + std::to_string(p) + "/cgroup").find(":" + cgroup_ + "\n") ==
          std::string::npos) {
        ::close(fd);
        continue;
      }
      ::syscall(SYS_pidfd_send_signal, fd, SIGKILL, nullptr, 0);
      ::close(fd);
    }
    ::usleep(2000);
  }
}

std::unique_ptr<FreezerCgroup> FreezerCgroup::Create(const std::string& name, std::string* why) {
  static std::atomic<int> counter{0};
  std::string parent = OwnCgroup("freezer");
  if (parent.empty() || ::access((std::string(kMount) + "/cgroup.procs").c_str(), F_OK) != 0) {
    *why = "no cgroup v1 freezer";
    return nullptr;
  }
  if (parent.back() == '/') parent.pop_back();
  std::string dir = std::string(kMount) + parent + "/" + name + "-" + std::to_string(::getpid()) +
                    "-" + std::to_string(counter++);
  if (::mkdir(dir.c_str(), 0755) != 0) {
    *why = "mkdir " + dir + ": " + std::strerror(errno);
    return nullptr;
  }
  return std::unique_ptr<FreezerCgroup>(new FreezerCgroup(dir));
}

bool FreezerCgroup::AddProcess(pid_t pid) const {
  return WriteFile(dir_ + "/cgroup.procs", std::to_string(pid));
}

std::string FreezerCgroup::State() const { return ReadFile(dir_ + "/freezer.state"); }

bool FreezerCgroup::Freeze() const {
  if (!WriteFile(dir_ + "/freezer.state", "FROZEN")) return false;
  for (int i = 0; i < 500; ++i) {
    if (State().starts_with("FROZEN")) return true;
    ::usleep(2000);
  }
  return false;
}

bool FreezerCgroup::Thaw() const { return WriteFile(dir_ + "/freezer.state", "THAWED"); }

FreezerCgroup::~FreezerCgroup() {
  WriteFile(dir_ + "/freezer.state", "THAWED");
  std::string procs_path = dir_ + "/cgroup.procs";
  for (int i = 0; i < 500; ++i) {
    std::istringstream in(ReadFile(procs_path));
    pid_t p;
    bool any = false;
    while (in >> p) {
      any = true;
      int fd = static_cast<int>(::syscall(SYS_pidfd_open, p, 0));
      if (fd < 0) continue;
      if (ReadFile("/proc/" + std::to_string(p) + "/cgroup").find("freezer:") !=
              std::string::npos &&
          ReadFile("/proc/" + std::to_string(p) + "/cgroup")
                  .find(dir_.substr(std::strlen(kMount))) != std::string::npos) {
        ::syscall(SYS_pidfd_send_signal, fd, SIGKILL, nullptr, 0);
      }
      ::close(fd);
    }
    if (!any && ::rmdir(dir_.c_str()) == 0) return;
    if (!any && errno == ENOENT) return;
    ::usleep(2000);
  }
}

}  // namespace reaperd::itest
