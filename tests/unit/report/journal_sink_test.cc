// The journal fields of a log line: priority, message id by event, key=value pairs as
// REAPERD_* fields, quoted values kept escaped (no forged fields or lines).
#include "report/journal_sink.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "sys/unique_fd.h"

namespace reaperd::report {
namespace {

bool Has(const std::vector<std::string>& fields, const std::string& f) {
  return std::find(fields.begin(), fields.end(), f) != fields.end();
}

TEST(JournalFieldsTest, KillLine) {
  const std::string line = "kill seq=3 scope=\"cgroup:/a b\" pid=42 comm=\"evil\\nPRIORITY=0\"";
  auto f = JournalFields(LogLevel::kWarning, "kill", line);
  EXPECT_TRUE(Has(f, "MESSAGE=" + line));
  EXPECT_TRUE(Has(f, "PRIORITY=4"));
  EXPECT_TRUE(Has(f, "REAPERD_EVENT=kill"));
  EXPECT_TRUE(Has(f, "MESSAGE_ID=" + std::string(kMessageIdKill)));
  EXPECT_TRUE(Has(f, "REAPERD_SEQ=3"));
  EXPECT_TRUE(Has(f, "REAPERD_SCOPE=cgroup:/a b"));
  EXPECT_TRUE(Has(f, "REAPERD_PID=42"));
  // The escaped newline stays two characters: the journal sees one field, not two.
  EXPECT_TRUE(Has(f, "REAPERD_COMM=evil\\nPRIORITY=0"));
  for (const auto& x : f) EXPECT_EQ(x.find('\n'), std::string::npos) << x;
}

TEST(JournalFieldsTest, MessageIdsByEvent) {
  auto id = [](LogLevel l, const char* ev, const char* line) {
    for (const auto& x : JournalFields(l, ev, line)) {
      if (x.starts_with("MESSAGE_ID=")) return x.substr(11);
    }
    return std::string();
  };
  EXPECT_EQ(id(LogLevel::kError, "reaped", "reaped seq=1 outcome=missed_deadline last_resort=none"),
            kMessageIdStall);
  EXPECT_EQ(
      id(LogLevel::kError, "reaped", "reaped seq=1 outcome=missed_deadline last_resort=kernel"),
      kMessageIdEscalation);
  EXPECT_EQ(id(LogLevel::kNotice, "reaped", "reaped seq=1 outcome=reaped last_resort=none"),
            kMessageIdKillResult);
  EXPECT_EQ(id(LogLevel::kInfo, "level", "level scope=system from=ok to=warn"), kMessageIdLevel);
  EXPECT_EQ(id(LogLevel::kError, "stall", "stall seq=1"), kMessageIdStall);
  EXPECT_EQ(id(LogLevel::kInfo, "start", "start version=1"), "");
  auto dbg = JournalFields(LogLevel::kDebug, "x", "x");
  EXPECT_TRUE(Has(dbg, "PRIORITY=7"));
}

TEST(JournalSinkTest, StderrUnlessJournalStreamMatches) {
  ::setenv("JOURNAL_STREAM", "1:2", 1);
  EXPECT_FALSE(StderrIsJournal());
  ::unsetenv("JOURNAL_STREAM");
  EXPECT_FALSE(StderrIsJournal());
}

TEST(JournalSinkTest, SendsTheFieldsAsOneNativeEntry) {
  char templ[] = "/tmp/reaperd-jsink-XXXXXX";
  ASSERT_NE(::mkdtemp(templ), nullptr);
  const std::string dir = templ, path = dir + "/socket";
  sys::UniqueFd server(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.data(), path.size());
  ASSERT_EQ(::bind(server.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a), 0);
  JournalSink sink(path);
  sink.Write(LogLevel::kWarning, "kill", "kill pid=42 comm=\"a b\"");
  char buf[4096];
  const ssize_t n = ::recv(server.get(), buf, sizeof buf, MSG_DONTWAIT);
  ::unlink(path.c_str());
  ::rmdir(dir.c_str());
  ASSERT_GT(n, 0);
  const std::string got(buf, static_cast<std::size_t>(n));
  EXPECT_EQ(got,
            "MESSAGE=kill pid=42 comm=\"a b\"\nPRIORITY=4\nSYSLOG_IDENTIFIER=reaperd\n"
            "REAPERD_EVENT=kill\nMESSAGE_ID=" +
                std::string(kMessageIdKill) + "\nREAPERD_PID=42\nREAPERD_COMM=a b\n");
}

}  // namespace
}  // namespace reaperd::report
