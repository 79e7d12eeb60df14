// outbound.cc: the policy protocol's outbound check at DATA (see service.h,
// doc/postfix.md "Outbound limits"): the sender's mailbox (its SASL login,
// or for a POP/IMAP-before-SMTP client the mailbox that logged in last from
// its network; never for a client on the loopback) is counted in the database (common/outbound_counter.h), refused with
// a temporary code over a limit, and suspended, logged and notified once
// when the circuit breaker trips.
//
// Trusts: Postfix's attributes only after they are bounded here; the
// database for the counts.
#include <thread>

#include "common/outbound_counter.h"
#include "common/text.h"
#include "policy/service.h"

namespace roster {

namespace {

const PolicyAnswer kDunno{"DUNNO", "", false};

// The longest SASL login name worth a query (an address is at most 254).
constexpr size_t kMaxLogin = 512;

std::string LimitReply(const OutboundDecision& d) {
  const std::string n = std::to_string(d.limit);
  switch (d.verdict) {
    case OutboundVerdict::kRecipientsPerMessage:
      return "452 4.5.3 Too many recipients: this account may send to at most " + n + " recipients per message";
    case OutboundVerdict::kMessagesPerHour:
      return "451 4.7.1 Sending limit reached: this account may send at most " + n +
             " messages per hour (UTC clock hour); try again later";
    case OutboundVerdict::kMessagesPerDay:
      return "451 4.7.1 Sending limit reached: this account may send at most " + n +
             " messages per day (UTC day); try again later";
    case OutboundVerdict::kRecipientsPerDay:
      return "451 4.7.1 Sending limit reached: this account may send to at most " + n +
             " recipients per day (UTC day); try again later";
    case OutboundVerdict::kBreaker:
      return "451 4.7.1 Sending limit reached: too many messages tried in this hour; try again later";
    default:
      return "451 4.7.1 Sending limit reached";
  }
}

}  // namespace

OutboundBatcher::~OutboundBatcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void OutboundBatcher::Submit(OutboundCheck check, Done done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.emplace_back(std::move(check), std::move(done));
    if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
  }
  wake_.notify_one();
}

void OutboundBatcher::Run() {
  for (;;) {
    std::vector<std::pair<OutboundCheck, Done>> batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything counted
      while (!queue_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    std::vector<OutboundCheck> checks;
    for (auto& [check, done] : batch) checks.push_back(check);
    std::vector<Result<OutboundDecision>> decided;
    try {
      DbPool::Lease lease = pool_->Acquire();
      decided = OutboundCounter(lease.db()).CountBatch(checks, rule_);
    } catch (const std::exception& e) {
      decided.assign(batch.size(), Error::Temporary(std::string("internal error: ") + e.what()));
    } catch (...) {
      decided.assign(batch.size(), Error::Temporary("internal error"));
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      try {
        batch[i].second(decided[i]);
      } catch (...) {
        // A callback's failure must not stop the others' answers.
      }
    }
  }
}

std::optional<PolicyAnswer> Service::CheckOutbound(const PolicyRequest& request,
                                                   std::function<void(PolicyAnswer)>* later) {
  std::unique_ptr<DbPool::Lease> lease;
  auto db = [&]() -> Db& {
    if (!lease) lease = std::make_unique<DbPool::Lease>(pool_->Acquire());
    return lease->db();
  };
  std::string key, who;
  if (!request.sasl_username.empty()) {
    if (request.sasl_username.size() > kMaxLogin)
      return PolicyAnswer{"DUNNO", "outbound: sasl_username too long, not counted: " + Shown(request.sasl_username),
                          false};
    key = request.sasl_username;
    who = "sasl_username=" + Shown(key);
  } else {
    // Not authenticated: counted only when it is a POP/IMAP-before-SMTP client.
    if (!settings_.outbound_relay_clients) return kDunno;
    // Never a loopback client: a login from the loopback is a webmail or a
    // proxy on this host, which says nothing about who sends from there (cron,
    // monitoring, and the circuit breaker's own notices, which policy/notifier
    // sends from the loopback without SASL).
    if (IsLoopbackAddress(request.client_address)) return kDunno;
    std::vector<IpRange> ranges = RelayRangesOf(request.client_address);
    if (ranges.empty()) return kDunno;
    std::string cache_key;
    for (const IpRange& r : ranges) cache_key += r.low + r.high;
    if (relay_refused_cache_.Get(cache_key)) return kDunno;
    auto mailbox = PolicyStore(db()).NewestLoginFrom(ranges, settings_.relay_window);
    if (!mailbox)
      return PolicyAnswer{settings_.outbound_db_failure_action,
                          "outbound check of client " + Shown(request.client_address) +
                              " failed: " + mailbox.error().message,
                          true};
    if (!*mailbox) {
      relay_refused_cache_.Put(cache_key, true);
      return kDunno;
    }
    key = **mailbox;
    who = "client " + Shown(request.client_address) + " (logged in as " + Shown(key) + ")";
  }
  // recipient_count is set at DATA and END-OF-MESSAGE; an older client
  // without it sends at least one.
  uint64_t recipients = std::max<uint64_t>(request.recipient_count, 1);
  Actor actor{"roster-policyd", Shown(request.client_address, 64)};
  if (later) {
    lease.reset();  // the outbound thread takes a connection of its own
    outbound_.Submit(OutboundCheck{key, recipients, actor},
                     [this, who, recipients, done = std::move(*later)](const Result<OutboundDecision>& d) {
                       PolicyAnswer answer;
                       try {
                         answer = OutboundAnswer(who, recipients, d);
                       } catch (const std::exception& e) {
                         answer = {"DUNNO", std::string("internal error: ") + e.what(), true};
                       } catch (...) {
                         answer = {"DUNNO", "internal error", true};
                       }
                       done(std::move(answer));
                     });
    return std::nullopt;
  }
  auto d = OutboundCounter(db()).Count(key, recipients, BreakerRule{settings_.breaker_attempts, settings_.breaker_factor},
                                actor);
  return OutboundAnswer(who, recipients, d);
}

PolicyAnswer Service::OutboundAnswer(const std::string& who, uint64_t recipients,
                                     const Result<OutboundDecision>& d) {
  if (!d)
    return {settings_.outbound_db_failure_action, "outbound check of " + who + " failed: " + d.error().message, true};
  switch (d->verdict) {
    case OutboundVerdict::kAdmitted:
      return kDunno;
    case OutboundVerdict::kUnknownSender:
      return {"DUNNO", "outbound: " + who + " is no mailbox here: not counted", false};
    case OutboundVerdict::kSuspended:
      return {settings_.outbound_suspended_reply,
              "outbound: refused " + who + ": sending of <" + Shown(d->address) +
                  "> is suspended: " + Shown(d->suspended_reason, 255),
              false};
    default:
      break;
  }
  std::string refused = "outbound: refused " + who + ", " + std::to_string(recipients) + " recipient(s): " +
                        OutboundVerdictName(d->verdict) + " limit " + std::to_string(d->limit) +
                        ", attempts this hour " + std::to_string(d->attempts);
  if (!d->tripped) return {LimitReply(*d), refused, false};

  std::string subject = "roster: sending suspended for " + Shown(d->address);
  std::string body = "roster-policyd suspended the sending of <" + Shown(d->address) + ">.\n\nReason: " +
                     Shown(d->suspended_reason, 255) + "\nLast message from: " + who +
                     "\n\nIts logins for reading still work. If the account was not hijacked, or once its password "
                     "is changed:\n\n    rosterctl outbound show " + Shown(d->address) +
                     "\n    rosterctl outbound lift " + Shown(d->address) + "\n";
  notifier_.Send(subject, body);
  PolicyAnswer a{settings_.outbound_suspended_reply,
                 "circuit breaker: suspended the sending of <" + Shown(d->address) + ">: " +
                     Shown(d->suspended_reason, 255) + "; " + who +
                     (settings_.notify_to.empty() ? "" : "; notice to <" + Shown(settings_.notify_to) + ">"),
                 true};
  a.alert = true;
  return a;
}

}  // namespace roster
