#include "integration/support/daemon.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <sstream>

namespace reaperd::itest {

Daemon::Daemon(const std::vector<std::string>& scopes, int run_for_ms,
               const std::vector<std::string>& extra, const std::string& cgroup_ns_dir) {
  std::vector<std::string> args = {REAPERD_BINARY,
                                   "run",
                                   "--no-mlock",
                                   "--log-level",
                                   "info",
                                   "--run-for-ms",
                                   std::to_string(run_for_ms)};
  for (const auto& s : scopes) {
    args.push_back("--scope");
    args.push_back("cgroup:" + s);
  }
  args.insert(args.end(), extra.begin(), extra.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string procs = cgroup_ns_dir.empty() ? "" : cgroup_ns_dir + "/cgroup.procs";
  std::array<int, 2> pipe_fds{};
  if (::pipe2(pipe_fds.data(), O_CLOEXEC) != 0) return;
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(pipe_fds[1], 2);  // dup2 clears O_CLOEXEC on fd 2
    if (!procs.empty()) {
      // "0" is the writer itself (v1 and v2); then the namespace is rooted at that cgroup.
      const int fd = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0 || ::write(fd, "0", 1) != 1 || ::unshare(CLONE_NEWCGROUP) != 0) ::_exit(126);
      ::close(fd);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  const int rd = pipe_fds[0];
  reader_ = std::thread([this, rd] { ReadLoop(rd); });
}

Daemon::~Daemon() { Stop(); }

void Daemon::ReadLoop(int fd) {
  std::array<char, 4096> buf{};
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, 100);
    if (ready == 0) {
      // Once the daemon is gone, a quiet pipe means everything it wrote has been read (a
      // leftover child holding stderr must not keep the test waiting).
      if (draining_.load()) break;
      continue;
    }
    if (ready < 0) continue;
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n <= 0) break;
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mu_);
    partial_.append(buf.data(), static_cast<std::size_t>(n));
    for (auto nl = partial_.find('\n'); nl != std::string::npos; nl = partial_.find('\n')) {
      lines_.push_back({now, partial_.substr(0, nl)});
      partial_.erase(0, nl + 1);
    }
  }
  ::close(fd);
}

bool Daemon::WaitStarted() {
  return WaitFor([&] { return Log().find("start version=") != std::string::npos; }, 4000);
}

int Daemon::Stop() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, &status_, 0);
    pid_ = 0;
  }
  draining_ = true;
  if (reader_.joinable()) reader_.join();
  return status_;
}

std::string Daemon::Log() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& l : lines_) out += l.text + "\n";
  return out + partial_;
}

std::vector<LogLine> Daemon::TimedLines(const std::string& event) const {
  std::lock_guard lock(mu_);
  std::vector<LogLine> out;
  for (const auto& l : lines_) {
    auto sp = l.text.find("] ");
    if (sp != std::string::npos && l.text.compare(sp + 2, event.size() + 1, event + " ") == 0) {
      out.push_back(l);
    }
  }
  return out;
}

std::vector<std::string> Daemon::Lines(const std::string& event) const {
  std::vector<std::string> out;
  for (auto& l : TimedLines(event)) out.push_back(std::move(l.text));
  return out;
}

std::uint64_t Field(const std::string& line, const std::string& key) {
  auto p = line.find(" " + key + "=");
  if (p == std::string::npos) return 0;
  return std::strtoull(line.c_str() + p + key.size() + 2, nullptr, 10);
}

std::string TextField(const std::string& line, const std::string& key) {
  auto p = line.find(" " + key + "=");
  if (p == std::string::npos) return "";
  p += key.size() + 2;
  return line.substr(p, line.find(' ', p) - p);
}

bool WaitFor(const std::function<bool()>& f, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 20) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return f();
}

TempConfig::TempConfig(std::string toml) {
  char tmpl[] = "/tmp/reaperd-live-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return;
  dir_ = tmpl;
  path_ = dir_ + "/config.toml";
  for (auto at = toml.find("@DIR@"); at != std::string::npos; at = toml.find("@DIR@")) {
    toml.replace(at, 5, dir_);
  }
  const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  ok_ = ::fchmod(fd, 0644) == 0 &&
        ::write(fd, toml.data(), toml.size()) == static_cast<ssize_t>(toml.size());
  ::close(fd);
}

TempConfig::~TempConfig() {
  if (dir_.empty()) return;
  // Only files: the daemon writes its reports here.
  if (DIR* d = ::opendir(dir_.c_str())) {
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name != "." && name != "..") ::unlink((dir_ + "/" + name).c_str());
    }
    ::closedir(d);
  }
  ::rmdir(dir_.c_str());
}

}  // namespace reaperd::itest
