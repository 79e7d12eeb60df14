// smtp_client.cc: see smtp_client.h.
#include "common/smtp_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "common/text.h"

namespace roster {
namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr size_t kMaxReply = 64 * 1024;
constexpr size_t kMaxBody = 64 * 1024;
constexpr size_t kMaxLine = 998;

class Connection {
 public:
  explicit Connection(SteadyClock::time_point deadline) : deadline_(deadline) {}
  ~Connection() {
    if (fd_ >= 0) close(fd_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

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

  // Reads one reply (all its lines, at most kMaxReply bytes); its code must
  // start with `expect`.
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
      if (buffer_.size() + reply.size() > kMaxReply) return Error::Temporary(std::string(step) + ": reply too long");
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
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - SteadyClock::now()).count();
      if (left <= 0) return Error::Temporary("timed out");
      pollfd p{fd_, events, 0};
      int r = poll(&p, 1, static_cast<int>(left));
      if (r > 0) return Status::Ok();
      if (r == 0) return Error::Temporary("timed out");
      if (errno != EINTR) return Error::Temporary(std::string("poll: ") + strerror(errno));
    }
  }

  int fd_ = -1;
  SteadyClock::time_point deadline_;
  std::string buffer_;
};

// A header value or an envelope address: one line, no control character,
// bounded.
std::string OneLine(std::string_view s, size_t max = 900) {
  std::string out;
  for (char c : s.substr(0, max)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7f) out += c;
  }
  return out;
}

bool IsAscii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

std::string Base64(std::string_view bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(strlen(out.c_str()));
  return out;
}

// RFC 2047: "=?UTF-8?B?...?=" for a subject that is not ASCII.
std::string EncodedWord(const std::string& text) {
  if (IsAscii(text)) return text;
  return "=?UTF-8?B?" + Base64(text) + "?=";
}

std::string DateHeader() {
  char buf[64];
  time_t now = time(nullptr);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

bool IsLoopback(const std::string& host) {
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

}  // namespace

Result<SmtpTarget> ParseSmtpTarget(std::string_view text) {
  SmtpTarget t;
  std::string host(text);
  std::string port;
  if (!text.empty() && text[0] == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return Error::Invalid("missing ']': " + Shown(text));
    host = std::string(text.substr(1, close - 1));
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return Error::Invalid("expected ':' after ']': " + Shown(text));
      port = std::string(rest.substr(1));
    }
  } else if (auto colon = text.rfind(':'); colon != std::string_view::npos) {
    host = std::string(text.substr(0, colon));
    port = std::string(text.substr(colon + 1));
  }
  if (!port.empty()) {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
      return Error::Invalid("not a port: " + Shown(port));
    unsigned long p = std::stoul(port);
    if (p == 0 || p > 65535) return Error::Invalid("not a port: " + Shown(port));
    t.port = static_cast<uint16_t>(p);
  }
  if (!IsLoopback(host)) return Error::Invalid("must be a numeric loopback address (127.0.0.0/8 or [::1]): " + Shown(text));
  t.host = host;
  return t;
}

Status SendMail(const SmtpTarget& target, const MailMessage& m) {
  if (m.to.empty() || OneLine(m.to) != m.to || m.to.find_first_of("<> ") != std::string::npos)
    return Error::Invalid("not a recipient address: " + Shown(m.to));
  if (OneLine(m.envelope_from) != m.envelope_from || m.envelope_from.find_first_of("<> ") != std::string::npos)
    return Error::Invalid("not a sender address: " + Shown(m.envelope_from));
  Connection smtp(SteadyClock::now() + target.timeout);
  ROSTER_TRY(smtp.Connect(target.host, target.port));
  ROSTER_TRY(smtp.Expect('2', "greeting"));
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  const std::string me = OneLine(host, 200);
  ROSTER_TRY(smtp.Write("EHLO " + me + "\r\n"));
  if (!smtp.Expect('2', "EHLO").ok()) {
    ROSTER_TRY(smtp.Write("HELO " + me + "\r\n"));
    ROSTER_TRY(smtp.Expect('2', "HELO"));
  }
  ROSTER_TRY(smtp.Write("MAIL FROM:<" + m.envelope_from + ">\r\n"));
  ROSTER_TRY(smtp.Expect('2', "MAIL FROM"));
  ROSTER_TRY(smtp.Write("RCPT TO:<" + m.to + ">\r\n"));
  ROSTER_TRY(smtp.Expect('2', "RCPT TO"));
  ROSTER_TRY(smtp.Write("DATA\r\n"));
  ROSTER_TRY(smtp.Expect('3', "DATA"));
  std::string message = "From: " + OneLine(m.from_header) + "\r\n" + "To: <" + m.to + ">\r\n" +
                        "Subject: " + EncodedWord(OneLine(m.subject, 400)) + "\r\n" + "Date: " + DateHeader() +
                        "\r\n" + m.extra_headers +
                        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                        "Content-Transfer-Encoding: 8bit\r\n\r\n";
  // The body: each line without control characters, cut at kMaxLine bytes,
  // dot-stuffed, ended by CRLF.
  std::string_view b = std::string_view(m.body).substr(0, kMaxBody);
  size_t start = 0;
  while (start <= b.size()) {
    size_t nl = b.find('\n', start);
    std::string_view raw = b.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    std::string line = OneLine(raw, kMaxLine);
    if (!line.empty() && line[0] == '.') line = "." + line;
    message += line + "\r\n";
    if (nl == std::string_view::npos) break;
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
