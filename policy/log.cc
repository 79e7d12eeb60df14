// log.cc: see log.h.
#include "policy/log.h"

#include <syslog.h>
#include <unistd.h>

#include <cstdio>

namespace roster {

Logger::Logger(bool to_syslog, const char* ident) : to_syslog_(to_syslog), ident_(ident) {
  if (to_syslog_) openlog(ident_, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

Logger::~Logger() {
  if (to_syslog_) closelog();
}

void Logger::Write(Severity severity, const std::string& line) {
  static const char* const kPrefix[] = {"", "warning: ", "error: "};
  if (to_syslog_) {
    static const int kPriority[] = {LOG_INFO, LOG_WARNING, LOG_ERR};
    syslog(kPriority[severity], "%s%s", kPrefix[severity], line.c_str());
    return;
  }
  std::string out = std::string(ident_) + "[" + std::to_string(getpid()) + "]: " + kPrefix[severity] + line + "\n";
  std::lock_guard<std::mutex> lock(mu_);
  fwrite(out.data(), 1, out.size(), stderr);
  fflush(stderr);
}

}  // namespace roster
