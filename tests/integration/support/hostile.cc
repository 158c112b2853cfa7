#include "integration/support/hostile.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "integration/support/cgroup_sandbox.h"

namespace reaperd::itest {

namespace {

constexpr std::size_t kMiB = 1 << 20;
constexpr const char* kHelperEnv = "REAPERD_HOSTILE_HELPER";
constexpr int kReadyFd = 200;

[[noreturn]] void SleepForever() {
  for (;;) ::syscall(SYS_pause);
}

void Touch(std::uint64_t mib) {
  if (mib == 0) return;
  void* p = ::mmap(nullptr, mib * kMiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) ::_exit(10);
  std::memset(p, 0x5a, mib * kMiB);
}

void SleepMs(long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  ::nanosleep(&ts, nullptr);
}

std::string Hex(const std::string& s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

int Nibble(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

// Waits up to timeout_ms for n bytes on fd.
bool ReadWithin(int fd, void* out, std::size_t n, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) != 1) return false;
  return ::read(fd, out, n) == static_cast<ssize_t>(n);
}

// Forks a child that blocks until it is in `sandbox`, then runs body(ready_fd) (which must
// not return). Returns the child once body wrote `ready_bytes` bytes to ready_fd (into *ready).
template <typename Body>
Helper ForkInto(const CgroupSandbox& sandbox, Body body, void* ready, std::size_t ready_bytes) {
  int go[2];
  int rd[2];
  if (::pipe2(go, O_CLOEXEC) != 0) return Helper();
  if (::pipe(rd) != 0) {
    ::close(go[0]);
    ::close(go[1]);
    return Helper();
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(go[1]);
    ::close(rd[0]);
    char c;
    if (::read(go[0], &c, 1) != 1) ::_exit(11);
    body(rd[1]);
    ::_exit(12);
  }
  ::close(go[0]);
  ::close(rd[1]);
  Helper h(pid);
  bool ok = pid > 0 && sandbox.AddProcess(pid) && ::write(go[1], "g", 1) == 1 &&
            ReadWithin(rd[0], ready, ready_bytes, 20000);
  ::close(go[1]);
  ::close(rd[0]);
  if (!ok) h.Kill();
  return h;
}

}  // namespace

Helper& Helper::operator=(Helper&& o) noexcept {
  if (this != &o) {
    Kill();
    pid_ = o.pid_;
    o.pid_ = 0;
  }
  return *this;
}

bool Helper::Dead() {
  if (pid_ <= 0) return true;
  int st;
  if (::waitpid(pid_, &st, WNOHANG) == pid_) {
    pid_ = 0;
    return true;
  }
  return false;
}

bool Helper::WaitDead(int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 20) {
    if (Dead()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Dead();
}

void Helper::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = 0;
}

Helper SpawnHostile(const HostileSpec& spec, const CgroupSandbox& sandbox) {
  // Everything the child needs is built before fork: the test process has threads.
  std::vector<std::string> args = spec.argv;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The ready pipe is moved to a fixed fd number in the child, so the environment can be
  // built here.
  std::string env = std::string(kHelperEnv) + "=" + Hex(spec.comm) + "," +
                    std::to_string(spec.touch_mib) + "," + std::to_string(spec.grow_mib_per_s) +
                    "," + std::to_string(spec.grow_max_mib) + "," + std::to_string(kReadyFd);
  std::array<char*, 2> envp{env.data(), nullptr};
  char ready = 0;
  return ForkInto(
      sandbox,
      [&](int ready_fd) {
        if (::dup2(ready_fd, kReadyFd) != kReadyFd) ::_exit(13);
        ::execve("/proc/self/exe", argv.data(), envp.data());
        ::_exit(127);
      },
      &ready, 1);
}

void RunHostileHelperIfAsked() {
  const char* spec = std::getenv(kHelperEnv);
  if (spec == nullptr) return;
  // comm-hex,touch,rate,max,ready-fd
  std::string s = spec;
  std::vector<std::string> f;
  for (std::size_t at = 0;;) {
    auto comma = s.find(',', at);
    f.push_back(s.substr(at, comma - at));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  if (f.size() != 5) ::_exit(20);
  std::string comm;
  for (std::size_t i = 0; i + 1 < f[0].size(); i += 2) {
    comm.push_back(static_cast<char>(Nibble(f[0][i]) * 16 + Nibble(f[0][i + 1])));
  }
  if (::prctl(PR_SET_NAME, comm.c_str(), 0, 0, 0) != 0) ::_exit(21);
  Touch(std::strtoull(f[1].c_str(), nullptr, 10));
  const double rate = std::strtod(f[2].c_str(), nullptr);
  const std::uint64_t max = std::strtoull(f[3].c_str(), nullptr, 10);
  const int ready = std::atoi(f[4].c_str());
  if (::write(ready, "r", 1) != 1) ::_exit(22);
  ::close(ready);
  if (rate > 0) {
    const long ms_per_mib = static_cast<long>(1000.0 / rate);
    for (std::uint64_t i = 0; i < max; ++i) {
      Touch(1);
      SleepMs(ms_per_mib);
    }
  }
  SleepForever();
}

Helper SpawnZombieParent(const CgroupSandbox& sandbox, std::uint64_t child_mib, pid_t* zombie) {
  return ForkInto(
      sandbox,
      [child_mib](int ready) {
        const pid_t child = ::fork();
        if (child == 0) {
          Touch(child_mib);
          ::_exit(0);
        }
        if (::write(ready, &child, sizeof child) != sizeof child) ::_exit(14);
        SleepForever();  // never waits: the child stays a zombie
      },
      zombie, sizeof *zombie);
}

Helper SpawnForkBomb(const CgroupSandbox& sandbox, int children, std::uint64_t child_mib,
                     int interval_ms) {
  char ready = 0;
  return ForkInto(
      sandbox,
      [=](int ready_fd) {
        if (::setpgid(0, 0) != 0) ::_exit(15);
        if (::write(ready_fd, "r", 1) != 1) ::_exit(16);
        ::close(ready_fd);
        for (int i = 0; i < children; ++i) {
          if (::fork() == 0) {
            Touch(child_mib);
            SleepForever();
          }
          SleepMs(interval_ms);
        }
        SleepForever();
      },
      &ready, 1);
}

Helper SpawnNamed(const CgroupSandbox& sandbox, const std::string& comm, std::uint64_t mib) {
  char ready = 0;
  const char* name = comm.c_str();
  return ForkInto(
      sandbox,
      [=](int ready_fd) {
        if (::prctl(PR_SET_NAME, name, 0, 0, 0) != 0) ::_exit(17);
        Touch(mib);
        if (::write(ready_fd, "r", 1) != 1) ::_exit(18);
        SleepForever();
      },
      &ready, 1);
}

std::string ControlBytes(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if ((c < 0x20 && c != '\n') || c == 0x7f) out.push_back(static_cast<char>(c));
  }
  return out;
}

std::string RunCapture(const std::vector<std::string>& args, int* status) {
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  int out[2];
  *status = -1;
  if (::pipe2(out, O_CLOEXEC) != 0) return "";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  std::string text;
  std::array<char, 65536> buf;
  for (ssize_t n; (n = ::read(out[0], buf.data(), buf.size())) > 0;) {
    text.append(buf.data(), static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  ::waitpid(pid, status, 0);
  return text;
}

}  // namespace reaperd::itest
