// notifier.cc: see notifier.h. The SMTP dialogue is common/smtp_client's.
#include "policy/notifier.h"

#include "common/smtp_client.h"
#include "common/text.h"

namespace roster {

namespace {

// One line of printable text, bounded.
std::string HeaderText(const std::string& s) { return Shown(s, 200); }

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
  SmtpTarget target;
  target.host = s.host;
  target.port = s.port;
  target.timeout = s.timeout;
  MailMessage m;
  m.envelope_from = s.from;
  m.to = s.to;
  m.from_header = "roster-policyd <" + HeaderText(s.from.empty() ? "postmaster" : s.from) + ">";
  m.subject = HeaderText(subject);
  m.extra_headers = "Auto-Submitted: auto-generated\r\n";
  m.body = body.substr(0, 16 * 1024);
  return SendMail(target, m);
}

}  // namespace roster
