// sys::Spawn gives a hook a normal oom_score_adj: reaperd runs at -1000 (an OOM killer the
// kernel must not pick), and a hook inheriting that could leak and be killed by nobody. The
// test raises its own (forked) adj to 500 first, so a hook that inherits shows 500; this host
// lacks CAP_SYS_RESOURCE, so -1000 itself cannot be made, but lowering back to 0 is allowed
// (the kernel only refuses going below oom_score_adj_min, 0 here).
#include "sys/spawn.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <string>
#include <vector>

#include "sys/self_protect.h"

namespace reaperd::sys {
namespace {

// Runs argv through Spawn in a child process whose oom_score_adj is first set to adj;
// returns what the program printed (or "<error>").
std::string RunWithAdj(int adj, const std::vector<std::string>& argv, int nice = 0) {
  int p[2];
  if (::pipe(p) != 0) return "<error>";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    const int fd = ::open("/proc/self/oom_score_adj", O_WRONLY);
    const std::string v = std::to_string(adj);
    if (fd < 0 || ::write(fd, v.data(), v.size()) != static_cast<ssize_t>(v.size())) _exit(2);
    ::close(fd);
    if (nice != 0) {
      // As the daemon's loop thread: boosted, then spawning.
      if (!SetThreadNice(nice)) _exit(4);
      errno = 0;
      if (::getpriority(PRIO_PROCESS, 0) != nice) _exit(5);
    }
    auto child = Spawn(argv, std::vector<std::string>{});
    if (!child) _exit(3);
    std::string out;
    std::array<char, 256> buf{};
    for (;;) {
      pollfd pf{child->output_fd(), POLLIN, 0};
      if (::poll(&pf, 1, 5000) <= 0) break;
      const ssize_t n = ::read(child->output_fd(), buf.data(), buf.size());
      if (n <= 0) break;
      out.append(buf.data(), static_cast<std::size_t>(n));
    }
    (void)child->Reap();
    (void)!::write(p[1], out.data(), out.size());
    _exit(0);
  }
  ::close(p[1]);
  std::string out;
  std::array<char, 256> buf{};
  ssize_t n;
  while ((n = ::read(p[0], buf.data(), buf.size())) > 0)
    out.append(buf.data(), static_cast<std::size_t>(n));
  ::close(p[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return "<error " + std::to_string(status) + ">";
  return out;
}

TEST(Spawn, HookGetsANormalOomScoreAdj) {
  EXPECT_EQ(RunWithAdj(500, {"/bin/cat", "/proc/self/oom_score_adj"}), "0\n");
}

TEST(Spawn, HookRunsAtNormalNiceWhenTheLoopIsBoosted) {
  // stat's field 19 is the nice value.
  EXPECT_EQ(RunWithAdj(0, {"/bin/sh", "-c", "cut -d' ' -f19 /proc/self/stat"}, -10), "0\n");
}

TEST(Spawn, HookIsItsOwnProcessGroupWithSignalsUnblocked) {
  // The shell prints its pgid and its pid (equal: it leads its group) and the blocked mask.
  const std::string out = RunWithAdj(
      0,
      {"/bin/sh", "-c", "ps -o pgid= -p $$ | tr -d ' '; echo $$; grep SigBlk /proc/self/status"});
  std::vector<std::string> lines;
  std::size_t at = 0;
  while (at < out.size()) {
    const std::size_t nl = out.find('\n', at);
    lines.push_back(out.substr(at, nl - at));
    at = nl == std::string::npos ? out.size() : nl + 1;
  }
  ASSERT_EQ(lines.size(), 3u) << out;
  EXPECT_EQ(lines[0], lines[1]) << out;
  EXPECT_EQ(lines[2], "SigBlk:\t0000000000000000") << out;
}

TEST(Spawn, MissingProgramIsAnError) {
  auto child =
      Spawn(std::vector<std::string>{"/nonexistent/reaperd-hook"}, std::vector<std::string>{});
  ASSERT_FALSE(child.has_value());
  EXPECT_EQ(child.error().sys_errno, ENOENT);
}

}  // namespace
}  // namespace reaperd::sys
