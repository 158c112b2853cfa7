// The status socket and the HTTP endpoint, served by Endpoints::OnReady as the daemon loop
// would: answers for root/own uid only, mode 0600, stale socket replaced, a live one refused,
// GET /metrics answered and anything else 404.
#include "report/endpoints.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "sys/unix_socket.h"

namespace reaperd::report {
namespace {

// Serves ep from a thread until stop, like the daemon loop does.
class Server {
 public:
  explicit Server(Endpoints& ep)
      : thread_([this, &ep] {
          while (!stop_) {
            pollfd p{ep.fd(), POLLIN, 0};
            if (::poll(&p, 1, 20) > 0) ep.OnReady();
          }
        }) {}
  ~Server() {
    stop_ = true;
    thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::string TempDir() {
  char tmpl[] = "/tmp/reaperd-ep-XXXXXX";
  return ::mkdtemp(tmpl);
}

TEST(EndpointsTest, StatusSocketAnswersAndIsPrivate) {
  const std::string dir = TempDir();
  const std::string path = dir + "/status.sock";
  auto ep = Endpoints::Create();
  ASSERT_TRUE(ep.has_value());
  ASSERT_TRUE((*ep)->ListenStatus(path, [] { return std::string("{\"ok\":1}\n"); }).has_value());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  {
    Server s(**ep);
    auto a = QueryStatus(path, 2000);
    ASSERT_TRUE(a.has_value()) << a.error().ToString();
    EXPECT_EQ(*a, "{\"ok\":1}\n");
    // A second daemon on the same socket is refused while the first answers.
    auto other = Endpoints::Create();
    EXPECT_FALSE((*other)->ListenStatus(path, [] { return std::string("x"); }).has_value());
    if (::geteuid() == 0) {
      // Another uid cannot even connect (mode 0600); the child reports what it got.
      pid_t child = ::fork();
      if (child == 0) {
        if (::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0) {
          ::_exit(2);
        }
        ::_exit(QueryStatus(path, 1000).has_value() ? 1 : 0);
      }
      int status = 0;
      ::waitpid(child, &status, 0);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "nobody got an answer";
    }
    // Our query and the second daemon's probe were answered; nobody's connect was not. The
    // probe is served by the server thread, possibly after ListenStatus returned: wait for it.
    for (int i = 0; i < 200 && (*ep)->status_served() < 2u; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ((*ep)->status_served(), 2u);
  }
  // The socket file is removed with its endpoint; a stale file would be replaced.
  ep->reset();
  EXPECT_NE(::access(path.c_str(), F_OK), 0);
  ::rmdir(dir.c_str());
}

// reaperd-managed-oom's request: a line longer than any other request (the table of opted-in
// cgroups), handed whole to its handler, whose reply line goes back.
TEST(EndpointsTest, ManagedOomRequestReachesItsHandler) {
  const std::string dir = TempDir();
  const std::string path = dir + "/status.sock";
  auto ep = Endpoints::Create();
  ASSERT_TRUE(ep.has_value());
  ASSERT_TRUE((*ep)->ListenStatus(path, [] { return std::string("{\"ok\":1}\n"); }).has_value());
  std::atomic<std::size_t> got{0};
  (*ep)->SetManagedOomHandler([&](std::string_view body) {
    got = body.size();
    return std::string(body.starts_with("{") && body.ends_with("}") ? "ok cgroups=1\n" : "error\n");
  });
  const std::string body = "{\"cgroups\":[],\"pad\":\"" + std::string(6000, 'x') + "\"}";
  {
    Server s(**ep);
    std::string reply;
    auto r = sys::UnixRequest(path, "managed-oom " + body + "\n", 2000, &reply);
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
    EXPECT_EQ(*r, sys::UnixReply::kReplied);
    EXPECT_EQ(reply, "ok cgroups=1");
    EXPECT_EQ(got.load(), body.size());
    // Other requests are answered as before.
    auto a = QueryStatus(path, 2000);
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(*a, "{\"ok\":1}\n");
  }
  ep->reset();
  ::rmdir(dir.c_str());
}

std::string HttpGet(std::uint16_t port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return "connect failed";
  }
  ::send(fd, request.data(), request.size(), 0);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}

TEST(EndpointsTest, HttpServesMetricsOnLoopback) {
  auto ep = Endpoints::Create();
  ASSERT_TRUE(ep.has_value());
  ASSERT_TRUE((*ep)->ListenHttp(0x7f000001, 0, [] { return std::string("m_total 1\n"); }));
  ASSERT_GT((*ep)->http_port(), 0);
  Server s(**ep);
  const std::string ok = HttpGet((*ep)->http_port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(ok.starts_with("HTTP/1.0 200 OK\r\n")) << ok;
  EXPECT_TRUE(ok.ends_with("\r\n\r\nm_total 1\n")) << ok;
  EXPECT_NE(ok.find("Content-Length: 10\r\n"), std::string::npos) << ok;
  const std::string missing = HttpGet((*ep)->http_port(), "GET /secret HTTP/1.0\r\n\r\n");
  EXPECT_TRUE(missing.starts_with("HTTP/1.0 404")) << missing;
}

}  // namespace
}  // namespace reaperd::report
