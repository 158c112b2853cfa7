// The event stream of a live daemon: a subscriber on the status socket (the library client
// and `reaperd events`) sees the scope's level change and the kill of a hog in a test cgroup,
// with the victim's pid, comm, uid and size, and the kill's outcome afterwards.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "integration/support/cgroup_sandbox.h"
#include "integration/support/daemon.h"
#include "integration/support/hog.h"
#include "integration/support/live_util.h"
#include "report/event_stream.h"

namespace reaperd::itest {
namespace {

using namespace live;  // NOLINT(google-build-using-namespace): test helpers
using nlohmann::json;

// Reads JSON lines from fd until pred holds for one of them or timeout_ms passes.
std::vector<json> ReadEventsUntil(int fd, const std::function<bool(const json&)>& pred,
                                  int timeout_ms) {
  std::vector<json> out;
  std::string pending;
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    pending.append(buf, static_cast<std::size_t>(n));
    for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n')) {
      out.push_back(json::parse(pending.substr(0, nl), nullptr, false));
      pending.erase(0, nl + 1);
      if (pred(out.back())) return out;
    }
  }
  return out;
}

std::string Dump(const std::vector<json>& events) {
  std::string s;
  for (const auto& e : events) s += e.dump() + "\n";
  return s;
}

TEST(EventsLive, SubscriberSeesLevelChangeAndKill) {
  auto sb = Sandbox("events", 256 * kMiB);
  ASSERT_TRUE(sb);
  TempConfig cfg(R"(
[kill]
last_resort = "none"
[watchdog]
enabled = false
[report]
kill_report_path = ""
metrics_textfile_path = ""
status_socket = "@DIR@/status.sock"
)");
  ASSERT_TRUE(cfg.ok());
  const std::string socket = cfg.dir() + "/status.sock";
  Daemon d({sb->cgroup()}, 30000, {"--config", cfg.path()});
  ASSERT_TRUE(d.WaitStarted()) << d.Log();
  auto sub = report::SubscribeEvents(socket, 2000);
  ASSERT_TRUE(sub.has_value()) << sub.error().ToString() << d.Log();
  // `reaperd events` (human form) follows the same stream into a file.
  const std::string printed = cfg.dir() + "/events.txt";
  const pid_t cli = ::fork();
  if (cli == 0) {
    const int out = ::open(printed.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(out, 1);
    ::execl(REAPERD_BINARY, REAPERD_BINARY, "events", "--socket", socket.c_str(), nullptr);
    ::_exit(127);
  }
  ASSERT_GT(cli, 0);
  // Both subscribed before the hog starts (the stream has no history).
  ::usleep(300 * 1000);

  Hog hog = Hog::Spawn({.touch_mib = 0, .grow_mib_per_s = 400, .grow_max_mib = 600}, sb.get());
  ASSERT_GT(hog.pid(), 0);
  const std::string scope = "cgroup:" + sb->cgroup();
  auto events = ReadEventsUntil(
      sub->get(), [](const json& e) { return e.value("event", "") == "kill_result"; }, 15000);
  ::kill(cli, SIGTERM);
  ::waitpid(cli, nullptr, 0);
  d.Stop();

  const json* level = nullptr;
  const json* kill = nullptr;
  const json* result = nullptr;
  for (const auto& e : events) {
    const std::string kind = e.value("event", "");
    if (kind == "level" && e.value("from", "") == "ok" && level == nullptr) level = &e;
    if (kind == "kill") kill = &e;
    if (kind == "kill_result") result = &e;
  }
  ASSERT_NE(level, nullptr) << Dump(events) << d.Log();
  EXPECT_EQ(level->value("scope", ""), scope);
  EXPECT_NE(level->value("to", "ok"), "ok");
  EXPECT_GT(level->value("total_bytes", 0ULL), 0ULL) << level->dump();
  ASSERT_NE(kill, nullptr) << Dump(events) << d.Log();
  EXPECT_EQ(kill->value("scope", ""), scope);
  EXPECT_EQ(kill->value("pid", 0), hog.pid());
  EXPECT_EQ(kill->value("uid", -1), static_cast<int>(::getuid()));
  EXPECT_FALSE(kill->value("comm", "").empty());
  EXPECT_GT(kill->value("rss_bytes", 0ULL), 50 * kMiB) << kill->dump();
  EXPECT_EQ(kill->value("outcome", ""), "signalled");
  ASSERT_NE(result, nullptr) << Dump(events) << d.Log();
  EXPECT_EQ(result->value("pid", 0), hog.pid());
  const std::string outcome = result->value("outcome", "");
  EXPECT_TRUE(outcome == "reaped" || outcome == "exited") << result->dump();

  const std::string text = ReadFile(printed);
  EXPECT_NE(text.find("level    " + scope + " ok -> "), std::string::npos) << text;
  EXPECT_NE(text.find("kill     " + scope + " pid " + std::to_string(hog.pid())), std::string::npos)
      << text;
  ::unlink(printed.c_str());
}

}  // namespace
}  // namespace reaperd::itest
