// notifier.h: sends the circuit breaker's notices (policy/outbound.cc) to a
// configured address through the local MTA, by SMTP to a loopback
// host:port, from a thread of its own: a request never waits for it. Each
// notice has a bounded time (connect to QUIT); a notice that cannot be sent
// is logged, never retried (the suspension and its log line stand anyway).
// It never authenticates, and the MTA sees it come from the loopback, so the
// outbound check counts it on nobody (a refused notice would be lost).
//
// Thread contract: Send() may be called from any thread and never blocks on
// the network. The thread starts with the first notice; the destructor lets
// the notice being sent finish (bounded by the timeout), logs those still
// queued as not sent, and joins it.
//
// Trusts: its settings (checked by policy/settings.cc: the host is numeric
// and loopback); the text it is given is made printable and bounded here.
#ifndef ROSTER_POLICY_NOTIFIER_H
#define ROSTER_POLICY_NOTIFIER_H

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/result.h"
#include "policy/log.h"

namespace roster {

struct NoticeSettings {
  std::string to;    // the recipient; empty: notices are only logged
  std::string from;  // envelope sender; empty = <>
  std::string host;  // numeric, loopback
  uint16_t port = 25;
  std::chrono::milliseconds timeout{10000};
};

class Notifier {
 public:
  static constexpr size_t kMaxQueued = 64;
  // `log` (may be null: stderr) must outlive the notifier.
  Notifier(NoticeSettings settings, Logger* log);
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // Queues a notice; false (and a log line) when none is configured or the
  // queue is full.
  bool Send(const std::string& subject, const std::string& body);

  // One SMTP dialogue, synchronously (the thread's work; tests).
  static Status Deliver(const NoticeSettings& settings, const std::string& subject, const std::string& body);

 private:
  struct Notice {
    std::string subject, body;
  };
  void Run();
  void Log(bool warning, const std::string& line);

  const NoticeSettings settings_;
  Logger* const log_;
  std::unique_ptr<Logger> own_log_;  // when none was given
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Notice> queue_;  // GUARDED_BY(mu_)
  bool stopping_ = false;     // GUARDED_BY(mu_)
  std::thread thread_;        // started by the first Send, under mu_
};

}  // namespace roster

#endif
