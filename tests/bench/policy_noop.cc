// policy_noop: the floor for policy-server benchmarks: a Postfix SMTP access
// policy server that does no work at all. One thread, epoll, non-blocking
// sockets on 127.0.0.1:PORT; every request (name=value lines up to an empty
// line) is answered "action=DUNNO" without looking at its attributes. Whatever
// a real server does beyond this (parsing, lookups, logging) is what a
// benchmark measures above this floor. It trusts its clients: no limits on
// request size or count, no timeouts; for loopback benchmarks only.
//   policy_noop PORT
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Conn {
  bool open = false;
  bool at_line_start = true;  // the next byte starts a line (an empty line ends a request)
  bool want_out = false;      // registered for EPOLLOUT
  std::string out;            // replies not yet written
};

std::vector<Conn> conns;  // by file descriptor
int epfd = -1;

void Close(int fd) {
  epoll_ctl(epfd, EPOLL_CTL_DEL, fd, nullptr);
  close(fd);
  conns[fd] = Conn();
}

// Writes what it can; waits for EPOLLOUT only while something is left.
void Flush(int fd) {
  Conn& c = conns[fd];
  while (!c.out.empty()) {
    ssize_t n = send(fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n <= 0) return Close(fd);
    c.out.erase(0, static_cast<size_t>(n));
  }
  if (c.want_out == !c.out.empty()) return;
  c.want_out = !c.out.empty();
  epoll_event ev{};
  ev.events = EPOLLIN;
  if (c.want_out) ev.events |= EPOLLOUT;
  ev.data.fd = fd;
  epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
}

void Read(int fd) {
  char buf[16384];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n <= 0) return Close(fd);
    Conn& c = conns[fd];
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] == '\n') {
        if (c.at_line_start) c.out += "action=DUNNO\n\n";
        c.at_line_start = true;
      } else {
        c.at_line_start = false;
      }
    }
    if (n < static_cast<ssize_t>(sizeof buf)) break;
  }
  Flush(fd);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: policy_noop PORT\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::atoi(argv[1])));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (lfd < 0 || bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(lfd, SOMAXCONN) != 0) {
    std::perror("policy_noop: listen");
    return 1;
  }
  epfd = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = lfd;
  epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
  std::vector<epoll_event> events(256);
  for (;;) {
    int n = epoll_wait(epfd, events.data(), static_cast<int>(events.size()), -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::perror("policy_noop: epoll_wait");
      return 1;
    }
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == lfd) {
        int cfd;
        while ((cfd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
          if (static_cast<size_t>(cfd) >= conns.size()) conns.resize(static_cast<size_t>(cfd) * 2 + 1);
          conns[cfd] = Conn();
          conns[cfd].open = true;
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = cfd;
          epoll_ctl(epfd, EPOLL_CTL_ADD, cfd, &cev);
        }
        continue;
      }
      if (!conns[fd].open) continue;  // closed earlier in this batch
      if (events[i].events & (EPOLLERR | EPOLLHUP)) {
        Close(fd);
        continue;
      }
      if (events[i].events & EPOLLOUT) Flush(fd);
      if (conns[fd].open && (events[i].events & EPOLLIN)) Read(fd);
    }
  }
}
