// The event stream's bounded buffers and its subscribers: lines that do not fit are counted
// and replaced by one {"event":"lost","count":N} line once the subscriber catches up, the
// buffer never grows past what was reserved, Publish never waits for a reader, and the status
// socket hands an "events" request to the stream while other requests still get the status.
#include "report/event_stream.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "report/endpoints.h"

namespace reaperd::report {
namespace {

std::string Line(int i) { return "{\"event\":\"x\",\"i\":" + std::to_string(i) + "}\n"; }

TEST(EventBufferTest, QueuesWholeLinesUntilFull) {
  EventBuffer b(64);
  EXPECT_TRUE(b.Push(Line(1)));
  EXPECT_TRUE(b.Push(Line(2)));
  EXPECT_EQ(b.Pending(), Line(1) + Line(2));
  EXPECT_EQ(b.lost_total(), 0u);
}

TEST(EventBufferTest, DropsWhatDoesNotFitAndSaysHowManyWhenItCatchesUp) {
  EventBuffer b(80);
  ASSERT_TRUE(b.Push(Line(1)));  // 20 bytes each: full after 4
  ASSERT_TRUE(b.Push(Line(2)));
  ASSERT_TRUE(b.Push(Line(3)));
  ASSERT_TRUE(b.Push(Line(4)));
  const char* storage = b.Pending().data();
  EXPECT_FALSE(b.Push(Line(5)));
  EXPECT_FALSE(b.Push(Line(6)));
  EXPECT_FALSE(b.Push(Line(7)));
  EXPECT_EQ(b.lost_unreported(), 3u);
  // The reader takes two lines: the 27-byte note fits now and is queued at once, in order.
  b.Consume(2 * Line(1).size());
  EXPECT_EQ(b.Pending(), Line(3) + Line(4) + "{\"event\":\"lost\",\"count\":3}\n");
  EXPECT_EQ(b.lost_unreported(), 0u);
  // Everything read: the next line follows the note; nothing was reallocated on the way.
  b.Consume(b.Pending().size());
  EXPECT_TRUE(b.Push(Line(8)));
  EXPECT_EQ(b.Pending(), Line(8));
  EXPECT_EQ(b.Pending().data(), storage);
  EXPECT_EQ(b.lost_total(), 3u);
}

TEST(EventBufferTest, LostNoteWaitsWithTheLineWhenOnlyOneFits) {
  EventBuffer b(60);
  ASSERT_TRUE(b.Push(Line(1)));
  ASSERT_TRUE(b.Push(Line(2)));
  ASSERT_TRUE(b.Push(Line(3)));
  EXPECT_FALSE(b.Push(Line(4)));  // full
  b.Consume(Line(1).size());      // 20 free: the line would fit, but not after its note
  EXPECT_FALSE(b.Push(Line(5)));
  EXPECT_EQ(b.lost_unreported(), 2u);
  b.Consume(b.Pending().size());
  EXPECT_EQ(b.Pending(), "{\"event\":\"lost\",\"count\":2}\n");
}

TEST(EventBufferTest, LineLongerThanTheBufferIsLostNotTruncated) {
  EventBuffer b(32);
  EXPECT_FALSE(b.Push(std::string(40, 'a') + "\n"));
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.lost_total(), 1u);
}

// Reads whatever is queued on fd within timeout_ms.
std::string ReadAll(int fd, int timeout_ms) {
  std::string out;
  char buf[65536];
  pollfd p{fd, POLLIN, 0};
  while (::poll(&p, 1, out.empty() ? timeout_ms : 20) > 0) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

std::size_t Count(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

TEST(EventStreamTest, SlowSubscriberLosesEventsAndGetsTheCountNeverBlockingThePublisher) {
  auto s = EventStream::Create();
  ASSERT_TRUE(s.has_value());
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  ASSERT_TRUE((*s)->Add(sys::UniqueFd(sv[0])));
  // Far more than the socket and the buffer hold, with nobody reading: Publish returns.
  constexpr int kEvents = 40000;
  for (int i = 0; i < kEvents; ++i) {
    (*s)->Publish("{\"event\":\"x\",\"i\":" + std::to_string(i) + "}");
  }
  EXPECT_GT((*s)->lost_total(), 0u);
  // The reader catches up; the stream sends the rest and then the note.
  std::string got;
  for (int round = 0; round < 200; ++round) {
    got += ReadAll(sv[1], 20);
    (*s)->OnReady();
    if (got.find("\"lost\"") != std::string::npos) break;
  }
  got += ReadAll(sv[1], 50);
  EXPECT_TRUE(got.starts_with("{\"event\":\"subscribed\"}\n"));
  const auto at = got.find("{\"event\":\"lost\",\"count\":");
  ASSERT_NE(at, std::string::npos);
  const std::uint64_t count = std::stoull(got.substr(at + 24));
  EXPECT_EQ(count, (*s)->lost_total());
  // Every event is either delivered whole or counted: none cut, none twice.
  EXPECT_EQ(Count(got, "{\"event\":\"x\","), static_cast<std::size_t>(kEvents) - count);
  (*s)->Publish("{\"event\":\"after\"}");
  EXPECT_EQ(ReadAll(sv[1], 200), "{\"event\":\"after\"}\n");
  ::close(sv[1]);
}

TEST(EventStreamTest, AtMostMaxSubscribersAndAGoneOneFreesItsSlot) {
  auto s = EventStream::Create();
  ASSERT_TRUE(s.has_value());
  int peers[EventStream::kMaxSubscribers + 1];
  for (std::size_t i = 0; i <= EventStream::kMaxSubscribers; ++i) {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    peers[i] = sv[1];
    EXPECT_EQ((*s)->Add(sys::UniqueFd(sv[0])), i < EventStream::kMaxSubscribers);
  }
  EXPECT_EQ((*s)->subscribers(), EventStream::kMaxSubscribers);
  ::close(peers[0]);
  (*s)->OnReady();
  EXPECT_EQ((*s)->subscribers(), EventStream::kMaxSubscribers - 1);
  // Post from another thread reaches the loop's subscribers at its next OnReady.
  std::thread([&] { (*s)->Post("{\"event\":\"posted\"}"); }).join();
  (*s)->OnReady();
  EXPECT_EQ(ReadAll(peers[1], 200), "{\"event\":\"subscribed\"}\n{\"event\":\"posted\"}\n");
  for (std::size_t i = 1; i <= EventStream::kMaxSubscribers; ++i) ::close(peers[i]);
}

TEST(EventStreamTest, StatusSocketHandsEventsRequestsToTheStream) {
  char tmpl[] = "/tmp/reaperd-ev-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  const std::string path = dir + "/status.sock";
  auto ep = Endpoints::Create();
  auto stream = EventStream::Create();
  ASSERT_TRUE(ep.has_value() && stream.has_value());
  ASSERT_TRUE((*ep)->ListenStatus(path, [] { return std::string("{\"ok\":1}\n"); }));
  EventStream& es = **stream;
  ASSERT_TRUE((*ep)->Watch(es.fd(), [&es] { es.OnReady(); }));
  (*ep)->SetEventsHandler([&es](sys::UniqueFd fd) { es.Add(std::move(fd)); });
  std::atomic<bool> stop{false};
  std::thread loop([&] {
    while (!stop) {
      pollfd p{(*ep)->fd(), POLLIN, 0};
      if (::poll(&p, 1, 10) > 0) (*ep)->OnReady();
    }
  });
  auto sub = SubscribeEvents(path, 2000);
  ASSERT_TRUE(sub.has_value()) << sub.error().ToString();
  for (int i = 0; i < 200 && es.subscribers() == 0; ++i) ::usleep(5000);
  es.Post("{\"event\":\"level\"}");
  EXPECT_EQ(ReadAll(sub->get(), 1000).substr(0, 18), "{\"event\":\"level\"}\n");
  // The status answer is unchanged, with the request line and without one.
  auto status = QueryStatus(path, 2000);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, "{\"ok\":1}\n");
  stop = true;
  loop.join();
  ep->reset();
  ::rmdir(dir.c_str());
}

}  // namespace
}  // namespace reaperd::report
