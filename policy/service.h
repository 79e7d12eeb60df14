// service.h: what roster-policyd answers, apart from how it talks. One
// Service holds one configuration with its database connections and caches;
// a reload builds a new Service and requests in flight finish on the old.
//   Decide()          the policy protocol (decide.cc): over-quota recipients,
//                     POP/IMAP-before-SMTP relaying (an OK is always the
//                     database's answer of now, never a cached one), and at
//                     DATA the sender's outbound limits and the circuit
//                     breaker (outbound.cc; never cached: counted in the
//                     database)
//   AnswerSocketmap() Postfix's lookup tables (tables.cc)
//   DecideOrQueue()   the same, but an outbound check is queued for the
//                     outbound thread, which counts every check that queued
//                     while it was busy in one transaction (OutboundBatcher)
//                     and answers later
// All are safe to call from several threads at once, and catch every
// exception: an answer always comes back (exactly once).
//
// Trusts: requests only after common/address.h and common/ip.h have parsed
// them; the database (role roster_policy: read-only but for the outbound
// counters, the suspension columns and the change log) for the facts.
#ifndef ROSTER_POLICY_SERVICE_H
#define ROSTER_POLICY_SERVICE_H

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <string_view>
#include <vector>

#include "common/outbound_counter.h"
#include "common/policy_store.h"
#include "policy/db_pool.h"
#include "policy/log.h"
#include "policy/notifier.h"
#include "policy/policy_request.h"
#include "policy/recipients.h"
#include "policy/settings.h"
#include "policy/ttl_cache.h"

namespace roster {

// Where a recipient's mail would end up.
struct RecipientTargets {
  bool local_domain = false;   // the domain is in the domain table
  bool domain_active = false;
  std::vector<MailboxState> mailboxes;  // the mailboxes here that would get it
  bool elsewhere = false;      // and some address that is not a mailbox here (or not resolved)
};

// Where an alias leads (Service::WalkAlias).
struct AliasWalk {
  std::vector<MailboxState> mailboxes;  // the active mailboxes of active domains it reaches
  bool elsewhere = false;  // and some address that is no mailbox here (or does not parse)
  bool cut = false;        // stopped at kMaxAliasDepth levels or kMaxAliasTargets addresses
};

struct PolicyAnswer {
  std::string action;  // "DUNNO", "OK", "452 4.2.2 <a@b>: Mailbox is over quota", ...
  std::string log;     // why, when worth a log line; empty otherwise
  bool warning = false;  // the log line reports a failure
  bool alert = false;    // a warning that is an event, not a failure (the circuit breaker): always logged
};

// The outbound thread of a Service: counts the checks submitted to it in
// batches (OutboundCounter::CountBatch, at most kMaxBatch each): every
// check that queued while it was busy, on one pooled connection. Each
// check's `done` runs exactly once, on that thread. The queue holds at most
// one check per policy connection (a connection waits for its answer before
// its next request). Destruction counts what is queued, then joins.
class OutboundBatcher {
 public:
  using Done = std::function<void(const Result<OutboundDecision>&)>;
  OutboundBatcher(std::shared_ptr<DbPool> pool, BreakerRule rule) : pool_(std::move(pool)), rule_(rule) {}
  ~OutboundBatcher();
  OutboundBatcher(const OutboundBatcher&) = delete;
  OutboundBatcher& operator=(const OutboundBatcher&) = delete;

  // Queues a check; starts the thread on first use.
  void Submit(OutboundCheck check, Done done);

 private:
  void Run();

  const std::shared_ptr<DbPool> pool_;
  const BreakerRule rule_;
  std::mutex mu_;
  std::condition_variable wake_;                        // GUARDED_BY(mu_): queue_ or stopping_ changed
  std::deque<std::pair<OutboundCheck, Done>> queue_;    // GUARDED_BY(mu_)
  bool stopping_ = false;                               // GUARDED_BY(mu_)
  std::thread thread_;                                  // started under mu_
};

class Service {
 public:
  // Aliases are followed this deep, and to this many addresses, when the
  // quota check looks for the mailboxes behind a recipient; past that the
  // mail counts as going elsewhere.
  static constexpr int kMaxAliasDepth = 4;
  static constexpr size_t kMaxAliasTargets = 100;

  // `log` (may be null: stderr) is where the notifier reports; it must
  // outlive the Service.
  explicit Service(PolicySettings settings, Logger* log = nullptr);

  const PolicySettings& settings() const { return settings_; }

  PolicyAnswer Decide(const PolicyRequest& request);
  // Decide(), but a request to count on the outbound limits goes to the
  // outbound thread: nullopt then, and `later` runs once with the answer on
  // that thread. Anything else is answered now (`later` is not called).
  std::optional<PolicyAnswer> DecideOrQueue(const PolicyRequest& request,
                                            std::function<void(PolicyAnswer)> later);
  // "name key" -> "OK value" | "NOTFOUND " | "TEMP reason" | "PERM reason".
  std::string AnswerSocketmap(std::string_view query, std::string* log);

  // The rule of the quota check (doc/roster-policyd.8): mail of `size` bytes
  // (0 = unknown) does not fit when it would take the mailbox past a limit.
  static bool OverQuota(const MailboxState& mailbox, uint64_t size);
  // Refused only when every place the mail goes is a mailbox here that is
  // over quota: one full member does not hold up a list's mail.
  static bool AllOverQuota(const RecipientTargets& targets, uint64_t size);

 private:
  Result<RecipientTargets> Resolve(PolicyStore& store, const RecipientKeys& keys);
  Result<RecipientTargets> Targets(const RecipientKeys& keys, std::unique_ptr<DbPool::Lease>* lease);
  PolicyAnswer CheckRelay(const PolicyRequest& request, std::unique_ptr<DbPool::Lease>* lease);
  // At DATA (or END-OF-MESSAGE): counts the message on its sender's mailbox;
  // with `later`, on the outbound thread (nullopt: `later` answers).
  std::optional<PolicyAnswer> CheckOutbound(const PolicyRequest& request,
                                            std::function<void(PolicyAnswer)>* later = nullptr);
  // Whether Decide() would count this request on the outbound limits.
  bool IsOutboundCheck(const PolicyRequest& request) const;
  // The answer to a counted message (and the breaker's notice).
  PolicyAnswer OutboundAnswer(const std::string& who, uint64_t recipients, const Result<OutboundDecision>& d);
  std::vector<IpRange> RelayRangesOf(const std::string& client_address) const;
  std::string Table(std::string_view name, std::string_view key, PolicyStore& store, std::string* log);
  // The sender_logins table (smtpd_sender_login_maps).
  std::string SenderLogins(std::string_view key, PolicyStore& store, std::string* log);
  // The mailboxes an alias delivers to (not through catch-alls), as lookup keys.
  Result<std::vector<std::string>> AliasMembers(PolicyStore& store, const RecipientKeys& keys, std::string* log);
  // The one walk from an address that is not an active mailbox to the
  // mailboxes behind it, for the quota check and sender_logins alike: its own
  // subscribers (the +ext form's first), then theirs, level by level, one
  // batch per level, at most kMaxAliasDepth levels and kMaxAliasTargets
  // addresses. With `catch_alls`, an address without subscribers goes on to
  // its domain's catch-all (where mail goes); without, never.
  Result<AliasWalk> WalkAlias(PolicyStore& store, const RecipientKeys& keys, bool catch_alls);
  PolicyStore StoreOf(std::unique_ptr<DbPool::Lease>* lease);

  const PolicySettings settings_;
  std::shared_ptr<DbPool> pool_;
  TtlCache<RecipientTargets> targets_cache_;
  // Client networks whose relay check said no. A yes is never cached: it
  // would outlive a disabled mailbox and a database outage.
  TtlCache<bool> relay_refused_cache_;
  TtlCache<bool> domain_cache_;  // whether a domain is ours, for the relay-only context
  Notifier notifier_;            // the circuit breaker's notices
  // Last: destroyed (its queue counted, its thread joined) before the
  // members its callbacks use.
  OutboundBatcher outbound_;
};

}  // namespace roster

#endif
