// dovecot_flush.cc: see dovecot_flush.h.
#include "admin/dovecot_flush.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/text.h"

namespace roster {

Result<unsigned> FlushDovecotAuthCache(const std::string& socket_path, const std::vector<std::string>& users) {
  if (socket_path.empty()) return Error::NotFound("no auth-master socket configured");
  sockaddr_un addr{};
  if (socket_path.size() >= sizeof addr.sun_path) return Error::Invalid("auth-master socket path too long");
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error::Temporary(std::string("socket: ") + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int e = errno;
    if (e == ENOENT || e == ECONNREFUSED) return Error::NotFound(socket_path + ": Dovecot is not running");
    return Error::Temporary(socket_path + ": " + std::strerror(e));
  }
  std::string request = "VERSION\t1\t0\nCACHE-FLUSH\t1";
  for (const std::string& user : users) {
    // Addresses reaching here are normalised: no tab, no newline, no control character.
    if (user.find_first_of("\t\n\r") != std::string::npos) return Error::Invalid("bad user name");
    request += "\t" + user;
  }
  request += "\n";
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size()))
    return Error::Temporary(socket_path + ": write failed");
  std::string input;
  char buf[1024];
  while (input.size() < 65536) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) return Error::Temporary(socket_path + ": no answer to CACHE-FLUSH");
    input.append(buf, static_cast<size_t>(n));
    size_t pos;
    while ((pos = input.find('\n')) != std::string::npos) {
      std::string line = input.substr(0, pos);
      input.erase(0, pos + 1);
      if (line.rfind("OK\t1\t", 0) == 0) return static_cast<unsigned>(std::strtoul(line.c_str() + 5, nullptr, 10));
      if (line.rfind("FAIL\t1", 0) == 0) return Error::Temporary(socket_path + ": CACHE-FLUSH failed");
    }
  }
  return Error::Temporary(socket_path + ": answer too long");
}

void DovecotAuthCacheFlusher::Flush(const std::vector<std::string>& users) {
  std::vector<std::string> keys;
  // The driver's cache key is the address as Dovecot lower-cases it (%Lu):
  // ASCII letters only, as a login compares (LoginStore::FindMailboxForLogin).
  for (const std::string& u : users) keys.push_back(AsciiLower(u));
  auto flushed = FlushDovecotAuthCache(socket_path_, keys);
  if (report_) report_(flushed);
}

}  // namespace roster
