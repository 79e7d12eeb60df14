// notifier.cc: see notifier.h. A minimal SMTP client (RFC 5321): EHLO,
// MAIL, RCPT, DATA with dot-stuffing, QUIT; every step within one deadline.
#include "policy/notifier.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "common/text.h"

namespace roster {

namespace {

using Clock = std::chrono::steady_clock;

class SmtpClient {
 public:
  explicit SmtpClient(Clock::time_point deadline) : deadline_(deadline) {}
  ~SmtpClient() {
    if (fd_ >= 0) close(fd_);
  }

  Status Connect(const std::string& host, uint16_t port) {
    sockaddr_storage addr{};
    socklen_t len = 0;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
    if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
      v4->sin_family = AF_INET;
      v4->sin_port = htons(port);
      len = sizeof *v4;
    } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
      v6->sin6_family = AF_INET6;
      v6->sin6_port = htons(port);
      len = sizeof *v6;
    } else {
      return Error::Invalid("not a numeric address: " + Shown(host));
    }
    fd_ = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return Error::Temporary(std::string("socket: ") + strerror(errno));
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
      if (errno != EINPROGRESS) return Error::Temporary(std::string("connect: ") + strerror(errno));
      ROSTER_TRY(Wait(POLLOUT));
      int err = 0;
      socklen_t elen = sizeof err;
      getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &elen);
      if (err != 0) return Error::Temporary(std::string("connect: ") + strerror(err));
    }
    return Status::Ok();
  }

  // Reads one reply (all its lines); its code must start with `expect`.
  Status Expect(char expect, const char* step) {
    std::string reply;
    for (;;) {
      size_t nl;
      while ((nl = buffer_.find('\n')) != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        reply += line + " ";
        if (line.size() < 4 || line[3] != '-') {
          if (line.empty() || line[0] != expect)
            return Error::Temporary(std::string(step) + ": " + Shown(reply, 200));
          return Status::Ok();
        }
      }
      if (buffer_.size() + reply.size() > 64 * 1024) return Error::Temporary(std::string(step) + ": reply too long");
      ROSTER_TRY(Wait(POLLIN));
      char buf[4096];
      ssize_t n = read(fd_, buf, sizeof buf);
      if (n == 0) return Error::Temporary(std::string(step) + ": connection closed");
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        return Error::Temporary(std::string(step) + ": " + strerror(errno));
      }
      buffer_.append(buf, static_cast<size_t>(n));
    }
  }

  Status Write(const std::string& data) {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) {
          ROSTER_TRY(Wait(POLLOUT));
          continue;
        }
        return Error::Temporary(std::string("write: ") + strerror(errno));
      }
      done += static_cast<size_t>(n);
    }
    return Status::Ok();
  }

 private:
  Status Wait(short events) {
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now()).count();
      if (left <= 0) return Error::Temporary("timed out");
      pollfd p{fd_, events, 0};
      int r = poll(&p, 1, static_cast<int>(left));
      if (r > 0) return Status::Ok();
      if (r == 0) return Error::Temporary("timed out");
      if (errno != EINTR) return Error::Temporary(std::string("poll: ") + strerror(errno));
    }
  }

  int fd_ = -1;
  Clock::time_point deadline_;
  std::string buffer_;
};

// One line of printable text, bounded.
std::string HeaderText(const std::string& s) { return Shown(s, 200); }

std::string DateHeader() {
  char buf[64];
  time_t now = time(nullptr);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

}  // namespace

Notifier::Notifier(NoticeSettings settings, Logger* log) : settings_(std::move(settings)), log_(log) {
  if (!log_) own_log_ = std::make_unique<Logger>(false);
}

Notifier::~Notifier() {
  std::deque<Notice> left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    left.swap(queue_);
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (const Notice& n : left) Log(true, "notice not sent (daemon stopping or reloading): " + HeaderText(n.subject));
}

void Notifier::Log(bool warning, const std::string& line) {
  Logger& log = log_ ? *log_ : *own_log_;
  if (warning) log.Warning(line);
  else log.Info(line);
}

bool Notifier::Send(const std::string& subject, const std::string& body) {
  if (settings_.to.empty()) return false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return false;
    if (queue_.size() >= kMaxQueued) {
      // Outside the lock below: Log takes the logger's own.
    } else {
      queue_.push_back(Notice{subject, body});
      if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
      cv_.notify_one();
      return true;
    }
  }
  Log(true, "notice not sent: " + std::to_string(kMaxQueued) + " notices wait already: " + HeaderText(subject));
  return false;
}

void Notifier::Run() {
  for (;;) {
    Notice n;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping
      n = std::move(queue_.front());
      queue_.pop_front();
    }
    Status sent = Deliver(settings_, n.subject, n.body);
    if (sent.ok())
      Log(false, "notice sent to <" + HeaderText(settings_.to) + ">: " + HeaderText(n.subject));
    else
      Log(true, "notice to <" + HeaderText(settings_.to) + "> not sent (" + settings_.host + ":" +
                    std::to_string(settings_.port) + "): " + sent.error().message + ": " + HeaderText(n.subject));
  }
}

Status Notifier::Deliver(const NoticeSettings& s, const std::string& subject, const std::string& body) {
  SmtpClient smtp(Clock::now() + s.timeout);
  ROSTER_TRY(smtp.Connect(s.host, s.port));
  ROSTER_TRY(smtp.Expect('2', "greeting"));
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  ROSTER_TRY(smtp.Write("EHLO " + HeaderText(host) + "\r\n"));
  ROSTER_TRY(smtp.Expect('2', "EHLO"));
  ROSTER_TRY(smtp.Write("MAIL FROM:<" + HeaderText(s.from) + ">\r\n"));
  ROSTER_TRY(smtp.Expect('2', "MAIL FROM"));
  ROSTER_TRY(smtp.Write("RCPT TO:<" + HeaderText(s.to) + ">\r\n"));
  ROSTER_TRY(smtp.Expect('2', "RCPT TO"));
  ROSTER_TRY(smtp.Write("DATA\r\n"));
  ROSTER_TRY(smtp.Expect('3', "DATA"));
  std::string message = "From: roster-policyd <" + HeaderText(s.from.empty() ? "postmaster" : s.from) + ">\r\n" +
                        "To: <" + HeaderText(s.to) + ">\r\n" + "Subject: " + HeaderText(subject) + "\r\n" +
                        "Date: " + DateHeader() + "\r\n" + "Auto-Submitted: auto-generated\r\n" +
                        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n";
  // The body: lines of printable text, dot-stuffed, bounded.
  size_t start = 0;
  std::string b = body.substr(0, 16 * 1024);
  while (start <= b.size()) {
    size_t nl = b.find('\n', start);
    std::string line = Shown(b.substr(start, nl == std::string::npos ? std::string::npos : nl - start), 998);
    if (!line.empty() && line[0] == '.') line = "." + line;
    message += line + "\r\n";
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  message += ".\r\n";
  ROSTER_TRY(smtp.Write(message));
  ROSTER_TRY(smtp.Expect('2', "end of data"));
  ROSTER_TRY(smtp.Write("QUIT\r\n"));
  (void)smtp.Expect('2', "QUIT");  // the message is accepted already
  return Status::Ok();
}

}  // namespace roster
