// password_input.cc: see password_input.h.
#include "admin/password_input.h"

#include <fcntl.h>
#include <sodium.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "common/password.h"

namespace roster {

SecretString::~SecretString() {
  if (!value_.empty()) sodium_memzero(value_.data(), value_.size());
}

namespace {

// Reads one line from fd, without the newline; bounded.
Result<SecretString> ReadLine(int fd) {
  std::string line;
  line.reserve(kMaxPasswordBytes + 2);
  char c;
  for (;;) {
    ssize_t n = read(fd, &c, 1);
    if (n < 0) return Error::Invalid("cannot read the password");
    if (n == 0 || c == '\n') break;
    if (line.size() > kMaxPasswordBytes) {
      sodium_memzero(line.data(), line.size());
      return Error::Invalid("password longer than " + std::to_string(kMaxPasswordBytes) + " bytes");
    }
    line += c;
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  SecretString secret(std::move(line));
  if (secret.value().empty()) return Error::Invalid("empty password");
  if (secret.value().find('\0') != std::string::npos) return Error::Invalid("password contains a NUL byte");
  return secret;
}

Result<SecretString> Prompt(int tty, const char* question) {
  // Echo goes off before the prompt is shown: an answer typed (or pasted) as
  // soon as the prompt appears is then neither echoed nor thrown away.
  struct termios saved, quiet;
  bool restore = tcgetattr(tty, &saved) == 0;
  if (restore) {
    quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(tty, TCSAFLUSH, &quiet);
  }
  if (write(tty, question, strlen(question)) < 0) {
    if (restore) tcsetattr(tty, TCSADRAIN, &saved);
    return Error::Invalid("cannot write to the terminal");
  }
  auto line = ReadLine(tty);
  if (restore) tcsetattr(tty, TCSADRAIN, &saved);
  if (write(tty, "\n", 1) < 0) {
  }
  return line;
}

}  // namespace

Result<SecretString> ReadNewPassword(bool from_stdin) {
  if (from_stdin) return ReadLine(STDIN_FILENO);
  int tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (tty < 0) return Error::Invalid("no terminal to ask for the password: use --password-stdin");
  auto first = Prompt(tty, "New password: ");
  if (!first) {
    close(tty);
    return first.error();
  }
  auto second = Prompt(tty, "Again: ");
  close(tty);
  if (!second) return second.error();
  if (first->value() != second->value()) return Error::Invalid("the passwords do not match");
  return std::move(*first);
}

}  // namespace roster
