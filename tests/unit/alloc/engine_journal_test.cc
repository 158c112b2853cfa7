// The kill path with the daemon's production log sink (the journal's, report/journal_sink.h,
// aimed at a real bound datagram socket) and the production Reporting observer attached:
// nothing allocates between the kill decision and the signal (the fake process ops read the
// allocation counter at the moment they receive SIGKILL), and a journal that never reads
// (its receive queue full) delays neither the signal nor the loop: its lines are dropped
// and counted.
#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>

#include "daemon/reporting.h"
#include "report/journal_sink.h"
#include "sys/unique_fd.h"
#include "unit/alloc/counting.h"
#include "unit/alloc/engine_fixture.h"

namespace reaperd {
namespace {

using alloc_test::Counted;
using alloc_test::EngineCycle;

// A datagram socket bound in a private temporary directory, standing in for journald.
class FakeJournal {
 public:
  FakeJournal() {
    char templ[] = "/tmp/reaperd-journal-XXXXXX";
    EXPECT_NE(::mkdtemp(templ), nullptr);
    dir_ = templ;
    path_ = dir_ + "/socket";
    fd_.Reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    addr_.sun_family = AF_UNIX;
    std::memcpy(addr_.sun_path, path_.data(), path_.size());
    EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_), 0);
  }
  ~FakeJournal() {
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }

  // Fills the receive queue: datagrams from fresh non-blocking senders (each sender's own
  // buffer limits it too) until a fresh sender is refused at once. Returns how many went in.
  int Fill() {
    int queued = 0;
    for (int senders = 0; senders < 256; ++senders) {
      sys::UniqueFd s(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
      int sent = 0;
      while (::sendto(s.get(), "x", 1, 0, reinterpret_cast<const sockaddr*>(&addr_),
                      sizeof addr_) == 1) {
        ++sent;
      }
      if (errno != EAGAIN) return -1;
      queued += sent;
      if (sent == 0) return queued;
    }
    return -1;
  }
  // Reads whatever is queued (into a fixed buffer: no allocation); counts kill lines.
  int Drain() {
    int n = 0;
    for (ssize_t r; (r = ::recv(fd_.get(), buf_.data(), buf_.size(), MSG_DONTWAIT)) >= 0;) {
      const std::string_view d(buf_.data(), static_cast<std::size_t>(r));
      if (d.find("\nREAPERD_EVENT=kill\n") != std::string_view::npos) ++kill_lines;
      ++n;
    }
    return n;
  }
  // Drains on its own thread until stop, as journald would.
  void DrainUntil(const std::atomic<bool>& stop) {
    pollfd p{fd_.get(), POLLIN, 0};
    while (!stop.load()) {
      if (::poll(&p, 1, 10) > 0) Drain();
    }
    Drain();
  }

  std::atomic<int> kill_lines{0};

 private:
  std::string dir_, path_;
  sys::UniqueFd fd_;
  sockaddr_un addr_{};
  std::array<char, 1 << 16> buf_{};
};

TEST_F(EngineCycle, NothingAllocatesFromTheKillDecisionToTheSignalWithProductionSinkAndReporting) {
  FakeJournal journal;
  report::JournalSink journal_sink(journal.path());
  daemon::Reporting reporting(cfg_, log_, false);
  sink_.next = &journal_sink;
  engine_->AddObserver(&reporting);
  std::atomic<bool> stop{false};
  std::thread reader([&] { journal.DrainUntil(stop); });
  // Warm-up: first use of every path, the reports' and the journal's included.
  bool warm = Cycle() && Cycle();
  constexpr int kCycles = 3;
  int done = 0;
  long before_signal = 0, whole = 0;
  for (int i = 0; i < kCycles && warm; ++i) {
    ops_.allocs_at_kill = -1;
    const bool ok = Cycle([] { alloc_test::StartCounting(); });
    const Counted c = alloc_test::StopCounting();
    if (!ok) break;
    ++done;
    before_signal += ops_.allocs_at_kill.load();
    whole += c.allocs;
    EXPECT_GE(ops_.allocs_at_kill.load(), 0) << "no SIGKILL seen in cycle " << i;
  }
  stop = true;
  reader.join();
  sink_.next = nullptr;
  engine_->Stop();
  ASSERT_TRUE(warm);
  ASSERT_EQ(done, kCycles);
  std::printf(
      "engine with journal sink and Reporting: %.1f allocations per cycle up to the signal, "
      "%.1f per whole kill tick and reaping (the reports, after the signal)\n",
      static_cast<double>(before_signal) / kCycles, static_cast<double>(whole) / kCycles);
  // The decision reached the signal without one allocation, with the production sink and
  // observer in place; they ran (the journal got the kill lines, the reports were written).
  EXPECT_EQ(before_signal, 0);
  EXPECT_GT(journal.kill_lines.load(), 0);
  EXPECT_EQ(engine_->status()[0].kills, static_cast<std::uint64_t>(kCycles + 2));
  ::unlink(cfg_.report.kill_report_path.c_str());
}

TEST_F(EngineCycle, AJournalThatNeverReadsDelaysNeitherTheKillNorTheLoop) {
  ASSERT_TRUE(Cycle());  // warm, before the journal stalls
  FakeJournal journal;
  report::JournalSink journal_sink(journal.path());
  ASSERT_GT(journal.Fill(), 0);
  sink_.next = &journal_sink;
  const int signals_before = ops_.signals.load();
  std::atomic<bool> done{false};
  bool ok = false;
  std::thread loop([&] {
    ok = Cycle();
    done = true;
  });
  // A watchdog, not a timing: a sink that waits for the journal waits forever here. Then the
  // journal is drained so the loop can end and the test fails instead of hanging.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!done.load() && std::chrono::steady_clock::now() < give_up) ::usleep(1000);
  const bool in_time = done.load();
  while (!done.load()) {
    journal.Drain();
    ::usleep(1000);
  }
  loop.join();
  sink_.next = nullptr;
  EXPECT_TRUE(in_time) << "the loop blocked on a journal that does not read";
  EXPECT_TRUE(ok);
  EXPECT_GT(ops_.signals.load(), signals_before);
  EXPECT_GT(journal_sink.lines_dropped(), 0u);
}

TEST(LogSinkAlloc, TheJournalSinkSendsDropsAndNotesWithoutAllocating) {
  FakeJournal journal;
  report::JournalSink sink(journal.path());
  constexpr std::string_view kLine =
      "kill seq=7 scope=\"system\" pid=103 comm=\"hog\" uid=1000 rss_mib=3.9 rules=none";
  sink.Write(LogLevel::kWarning, "kill", kLine);  // warm-up
  journal.Drain();
  const Counted sent = alloc_test::Count([&] {
    for (int i = 0; i < 5; ++i) sink.Write(LogLevel::kWarning, "kill", kLine);
  });
  EXPECT_EQ(journal.Drain(), 5);
  ASSERT_GT(journal.Fill(), 0);
  const Counted dropped = alloc_test::Count([&] {
    for (int i = 0; i < 5; ++i) sink.Write(LogLevel::kWarning, "kill", kLine);
  });
  EXPECT_EQ(sink.lines_dropped(), 5u);
  journal.Drain();
  const Counted noted = alloc_test::Count([&] { sink.Write(LogLevel::kNotice, "level", "level"); });
  EXPECT_EQ(journal.Drain(), 1);
  EXPECT_EQ(sent.allocs, 0) << sent.bytes << " bytes";
  EXPECT_EQ(dropped.allocs, 0) << dropped.bytes << " bytes";
  EXPECT_EQ(noted.allocs, 0) << noted.bytes << " bytes";
}

}  // namespace
}  // namespace reaperd
