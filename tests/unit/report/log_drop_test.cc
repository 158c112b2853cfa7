// The daemon's log sinks never wait for their reader: a journal whose queue is full and a
// stderr pipe nobody reads lose the line at once, count it, and the next line that gets
// through says how many were lost, once. Each write runs on a thread with a watchdog, so a
// sink that blocks fails the test instead of hanging it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <string>
#include <thread>

#include "report/journal_sink.h"
#include "sys/unique_fd.h"

namespace reaperd::report {
namespace {

// Runs f on a thread; true when it ended before the watchdog. Else unstick() runs until it
// ends (so the test can go on) and false is returned.
bool EndsOnItsOwn(const std::function<void()>& f, const std::function<void()>& unstick) {
  std::atomic<bool> done{false};
  std::thread t([&] {
    f();
    done = true;
  });
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!done.load() && std::chrono::steady_clock::now() < give_up) ::usleep(1000);
  const bool in_time = done.load();
  while (!done.load()) {
    unstick();
    ::usleep(1000);
  }
  t.join();
  return in_time;
}

class JournalDropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/reaperd-jdrop-XXXXXX";
    ASSERT_NE(::mkdtemp(templ), nullptr);
    dir_ = templ;
    path_ = dir_ + "/socket";
    server_.Reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    addr_.sun_family = AF_UNIX;
    std::memcpy(addr_.sun_path, path_.data(), path_.size());
    ASSERT_EQ(::bind(server_.get(), reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_), 0);
  }
  void TearDown() override {
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  // Fills the queue from fresh non-blocking senders until a fresh one is refused at once.
  void Fill() {
    for (int senders = 0; senders < 256; ++senders) {
      sys::UniqueFd s(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
      int sent = 0;
      while (::sendto(s.get(), "x", 1, 0, reinterpret_cast<const sockaddr*>(&addr_),
                      sizeof addr_) == 1) {
        ++sent;
      }
      if (sent == 0) return;
    }
    FAIL() << "the journal's queue never filled";
  }
  // Empties the queue; returns the last datagram.
  std::string Drain() {
    std::string last;
    std::array<char, 1 << 16> buf;
    for (ssize_t n; (n = ::recv(server_.get(), buf.data(), buf.size(), MSG_DONTWAIT)) >= 0;) {
      last.assign(buf.data(), static_cast<std::size_t>(n));
    }
    return last;
  }

  std::string dir_, path_;
  sys::UniqueFd server_;
  sockaddr_un addr_{};
};

TEST_F(JournalDropTest, AFullJournalLosesTheLineAtOnceAndTheNextLineSaysSo) {
  JournalSink sink(path_);
  Fill();
  const bool in_time = EndsOnItsOwn(
      [&] {
        for (int i = 0; i < 3; ++i) sink.Write(LogLevel::kWarning, "kill", "kill pid=42");
      },
      [&] { Drain(); });
  EXPECT_TRUE(in_time) << "the sink waited for the journal";
  EXPECT_EQ(sink.lines_dropped(), 3u);
  Drain();
  sink.Write(LogLevel::kNotice, "level", "level scope=system to=ok");
  const std::string got = Drain();
  EXPECT_NE(got.find("MESSAGE=level scope=system to=ok log_lines_dropped=3\n"), std::string::npos)
      << got;
  EXPECT_NE(got.find("\nREAPERD_LOG_LINES_DROPPED=3\n"), std::string::npos) << got;
  // Said once: the following line is plain again, and the total stays.
  sink.Write(LogLevel::kNotice, "level", "level scope=system to=warn");
  EXPECT_NE(Drain().find("MESSAGE=level scope=system to=warn\n"), std::string::npos);
  EXPECT_EQ(sink.lines_dropped(), 3u);
}

TEST_F(JournalDropTest, ALineLargerThanTheStackBufferStillGoesOut) {
  JournalSink sink(path_);
  const std::string line = "big value=" + std::string(20000, 'v');
  sink.Write(LogLevel::kInfo, "big", line);
  const std::string got = Drain();
  EXPECT_NE(got.find("MESSAGE=" + line + "\n"), std::string::npos);
  EXPECT_NE(got.find("\nREAPERD_VALUE=" + std::string(20000, 'v') + "\n"), std::string::npos);
  EXPECT_EQ(sink.lines_dropped(), 0u);
}

TEST(StderrDropTest, AFullPipeLosesTheLineAtOnceAndTheNextLineSaysSo) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  sys::UniqueFd rd(p[0]), wr(p[1]);
  // Filled through a non-blocking flag set only for the filling: the sink sees a blocking pipe.
  ASSERT_EQ(::fcntl(wr.get(), F_SETFL, O_NONBLOCK), 0);
  std::array<char, 4096> junk{};
  while (::write(wr.get(), junk.data(), junk.size()) > 0) {
  }
  ASSERT_EQ(::fcntl(wr.get(), F_SETFL, 0), 0);
  StderrLogSink sink(wr.get());
  auto drain = [&] {
    ::fcntl(rd.get(), F_SETFL, O_NONBLOCK);
    std::string all;
    for (ssize_t n; (n = ::read(rd.get(), junk.data(), junk.size())) > 0;) {
      all.append(junk.data(), static_cast<std::size_t>(n));
    }
    return all;
  };
  const bool in_time = EndsOnItsOwn(
      [&] {
        sink.Write(LogLevel::kWarning, "kill", "kill pid=42");
        sink.Write(LogLevel::kWarning, "kill", "kill pid=43");
      },
      [&] { drain(); });
  EXPECT_TRUE(in_time) << "the sink waited for the pipe's reader";
  EXPECT_EQ(sink.lines_dropped(), 2u);
  drain();
  sink.Write(LogLevel::kNotice, "level", "level to=ok");
  EXPECT_EQ(drain(), "reaperd[notice] level to=ok log_lines_dropped=2\n");
  sink.Write(LogLevel::kNotice, "level", "level to=warn");
  EXPECT_EQ(drain(), "reaperd[notice] level to=warn\n");
  // The pipe's own description was left blocking (the flag is on a description of ours).
  EXPECT_EQ(::fcntl(wr.get(), F_GETFL) & O_NONBLOCK, 0);
}

}  // namespace
}  // namespace reaperd::report
