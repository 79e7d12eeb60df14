// log.h: the daemons' log (roster-policyd, and roster-apid which compiles
// this file too): syslog (facility mail, as Postfix logs) or stderr (under
// systemd, or in tests), one line per event, safe from any thread. Callers pass text already made printable (common/text.h Shown).
//
// Trusts: its callers; it adds nothing but a severity.
#ifndef ROSTER_POLICY_LOG_H
#define ROSTER_POLICY_LOG_H

#include <mutex>
#include <string>

namespace roster {

class Logger {
 public:
  // `ident`: the program's name, the syslog ident and the stderr prefix; a
  // string literal (syslog keeps the pointer).
  explicit Logger(bool to_syslog, const char* ident = "roster-policyd");
  ~Logger();
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  void Info(const std::string& line) { Write(kInfo, line); }
  void Warning(const std::string& line) { Write(kWarning, line); }
  void Error(const std::string& line) { Write(kError, line); }

 private:
  enum Severity { kInfo, kWarning, kError };
  void Write(Severity severity, const std::string& line);

  const bool to_syslog_;
  const char* const ident_;
  std::mutex mu_;
};

}  // namespace roster

#endif
