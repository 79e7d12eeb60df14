// accounts.h: the one repository of roster's data. Every piece reads and
// writes accounts through this class and its SQL; no other file holds SQL
// about domains, mailboxes, usage, last logins, subscriptions or the change
// log (the schema itself lives in sql/).
//
// Addresses are normalised by the caller (common/address.h); lookups compare
// with the mailbox's lookup_key, LOWER(address), so "Bob@Example.org" finds
// "bob@example.org". Methods return NotFound when the thing does not exist,
// Temporary when the database cannot answer now.
//
// Trusts: the Db it is given (and so the database's answers); the caller to
// have checked the actor's right to make a change.
#ifndef ROSTER_COMMON_ACCOUNTS_H
#define ROSTER_COMMON_ACCOUNTS_H

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "common/app_passwords.h"
#include "common/db.h"
#include "common/ip.h"
#include "common/result.h"

namespace roster {

// Everything a login needs, in one query.
struct MailboxLogin {
  uint64_t id = 0;
  std::string address;  // as stored (the canonical spelling)
  std::string password_hash;
  bool mailbox_active = false;
  bool domain_active = false;
  uint64_t max_bytes = 0;     // 0 = unlimited
  uint64_t max_messages = 0;  // 0 = unlimited
  std::string unit;           // "" = this host
  std::string unit_host;      // the unit's host from the unit table, "" if none
  unsigned unit_imap_port = 0;  // 0 = the standard port
  unsigned unit_pop3_port = 0;
  // Migration 005 (common/app_passwords.h): protocols as bits, nullopt = all.
  std::optional<unsigned> login_protocols;
  std::optional<unsigned> main_password_protocols;  // nullopt = wherever login is allowed
  // The app password(s) whose selector the login's typed password starts
  // with: at most one per selector asked (FindMailboxForLogin).
  std::vector<AppPasswordKey> app_passwords;
  // The newest seq of the mailbox's login history (0: none), brought only
  // when the login query is asked for it (with_history), so the passdb's
  // history write appends seq + 1 with no read (migration 008).
  uint64_t newest_login_seq = 0;
};

struct Usage {
  int64_t bytes = 0;
  int64_t messages = 0;
};

enum class UsageCounter { kBytes, kMessages };

// A usage row's counters; either may be unknown (migration 003).
struct UsageCounters {
  std::optional<int64_t> bytes, messages;
};

struct UsageIncrement {
  std::string address;
  int64_t bytes = 0, messages = 0;
};

// Absolute values for a mailbox's counters; nullopt leaves that counter as it is.
struct UsageSet {
  std::string address;
  std::optional<int64_t> bytes, messages;
};

struct LastLogin {
  std::string address;
  std::string protocol;
  std::string ip;         // text form
  std::string logged_at;  // "YYYY-MM-DD HH:MM:SS.ffffff", UTC
};

struct Domain {
  uint64_t id = 0;
  std::string name;
  std::string transport;
  bool active = true;
  uint64_t default_max_bytes = 0;
  uint64_t default_max_messages = 0;
  std::string created_at;
  uint64_t mailboxes = 0;
};

struct Mailbox {
  uint64_t id = 0;
  std::string address;
  std::string domain;
  bool active = true;
  bool domain_active = true;
  std::string display_name;
  std::string department;
  uint64_t max_bytes = 0;
  uint64_t max_messages = 0;
  std::string unit;
  std::string password_scheme;  // scheme name only; the hash never leaves this layer for display
  std::string created_at;
  std::string updated_at;
  std::string password_changed_at;
  std::optional<Usage> usage;
};

struct NewMailbox {
  std::string address;
  std::string password_hash;
  std::string display_name;
  std::string department;
  std::optional<uint64_t> max_bytes;     // unset: the domain's default
  std::optional<uint64_t> max_messages;  // unset: the domain's default
  std::string unit;
  bool active = true;
};

struct Subscription {
  uint64_t id = 0;
  char direction = 'I';  // 'I' incoming (alias, forward, recipient BCC), 'O' outgoing (sender BCC)
  std::string address;   // lower-cased; "@domain" is a catch-all
  std::string recipient;
};

// What Postfix's questions need about one mailbox (role policy): state,
// limits, usage and route, never a credential.
struct MailboxState {
  std::string key;  // lookup_key
  bool active = false;
  bool domain_active = false;
  uint64_t max_bytes = 0;     // 0 = unlimited
  uint64_t max_messages = 0;  // 0 = unlimited
  std::optional<int64_t> bytes, messages;  // unknown: no usage row, or a recount pending
  std::string unit;            // "" = no unit (the MX's own)
  std::string unit_host;       // from the unit table
  std::string unit_transport;  // from the unit table
};

// A recipient's domain and mailbox, in one query.
struct RecipientState {
  bool domain_exists = false;
  bool domain_active = false;
  std::string domain_transport;
  std::optional<MailboxState> mailbox;  // the first key that names a mailbox
};

struct ChangeLogEntry {
  uint64_t id = 0;
  std::string at;
  std::string actor;
  std::string origin;
  std::string action;
  std::string object;
  std::string detail;
};

struct ChangeLogFilter {
  std::string object;  // account or domain; "" = all
  std::string actor;
  std::string action;
  std::string since;   // "YYYY-MM-DD[ HH:MM:SS]"; "" = all
  uint64_t limit = 100;
};

// Who makes a change and from where: written to the change log with it.
struct Actor {
  std::string name;
  std::string origin;
};

class Accounts {
 public:
  explicit Accounts(Db& db) : db_(db) {}

  // --- login (role auth) ---
  // `selector`: the first group of a typed password that has an app
  // password's shape (common/app_passwords.h), "" if none: the mailbox's app
  // password with that selector, if any, comes in the same query.
  Result<MailboxLogin> FindMailboxForLogin(std::string_view address, std::string_view selector = "",
                                           bool with_history = false);
  // The same for several addresses in one round trip (per kMaxBatch):
  // element i answers addresses[i] (with selectors[i]), empty if there is no
  // such mailbox. An address may appear more than once; its app_passwords
  // then hold those of any of its selectors in the batch.
  static constexpr size_t kMaxBatch = 32;
  Result<std::vector<std::optional<MailboxLogin>>> FindMailboxesForLogin(
      const std::vector<std::string>& addresses, const std::vector<std::string>& selectors = {},
      bool with_history = false);
  // Compare-and-set: stores new_hash only if the row still holds old_hash.
  // Returns false (no error) when another change won.
  Result<bool> ReplacePasswordHash(std::string_view address, std::string_view old_hash, std::string_view new_hash);
  // One page of the active mailboxes of active domains, in lookup-key order,
  // after `after_key` ("" = from the start): pairs of (address, lookup key).
  // Userdb iteration pulls page after page, so no listing is held whole.
  Result<std::vector<std::pair<std::string, std::string>>> ActiveAddressPage(std::string_view after_key,
                                                                            uint64_t limit);

  // --- usage (role dict) ---
  Result<Usage> GetUsage(std::string_view address);
  // One counter of Dovecot's quota dict (migration 003: a counter may be
  // unknown). NotFound when the mailbox has no usage row or the counter is
  // unknown: Dovecot then recounts and sets it.
  Result<int64_t> GetUsageCounter(std::string_view address, UsageCounter counter);
  // Increments whose database write fails with a temporary error (the
  // server away, a deadlock) or whose outcome is unknown (the connection died
  // after it was sent, common/db.h) leave the counters they change unknown,
  // so Dovecot recounts them instead of keeping a counter that missed, or
  // may have doubled, an increment: they answer NotFound once the counters
  // are unknown, and the error when that cannot be done now (then it is done
  // once the server is back, before this Db's next statement). Inside a
  // transaction the caller does this after the rollback (ForgetUsage).
  //
  // Adds diff in one statement, so concurrent increments are never lost;
  // NotFound when there is no usage row or the counter is unknown.
  Status AddToUsageCounter(std::string_view address, UsageCounter counter, int64_t diff);
  // Adds to both counters in one statement (the quota plugin's usual commit):
  // NotFound when there is no usage row or a counter being changed is unknown,
  // and then nothing is changed. At least one diff must be non-zero.
  Status AddToUsage(std::string_view address, int64_t bytes, int64_t messages);
  // Batches for the dict's asynchronous mode, kMaxBatch mailboxes per
  // statement. GetUsages: element i answers addresses[i], empty if there is
  // no usage row. AddToUsages: one UPDATE for the batch (each mailbox's
  // increments summed, and applied or not together); element i answers
  // increments[i] as AddToUsage would: Ok (applied), NotFound (no usage row,
  // a counter it changes is unknown, or, rarely, it cannot be told: Dovecot
  // then recounts), or an error. When a row makes the batch fail (a counter
  // out of range), each increment is applied alone, so only the one at fault
  // fails; an error's text names no other increment's mailbox.
  Result<std::vector<std::optional<UsageCounters>>> GetUsages(const std::vector<std::string>& addresses);
  std::vector<Status> AddToUsages(const std::vector<UsageIncrement>& increments);
  // Makes the chosen counters unknown (NULL, as Dovecot's unset) now, or,
  // while the server is away, before this Db's next statement.
  Status ForgetUsage(std::string_view address, bool bytes, bool messages);
  // Sets the counter, creating the usage row if needed; nullopt makes it
  // unknown (Dovecot's unset) and keeps the row and the account. NotFound when
  // there is no such mailbox.
  Status SetUsageCounter(std::string_view address, UsageCounter counter, std::optional<int64_t> value);
  // Sets the given counters (at least one) in one statement (quota_clone's
  // commit: both), creating the usage row if needed (a counter not given is
  // then unknown) and leaving a counter not given as it is; a counter set is
  // known again. NotFound when there is no such mailbox. Setting twice gives
  // what setting once gives: retried after a lost connection, and after a
  // deadlock. SetUsages: the same for a batch, kMaxBatch mailboxes per
  // statement, as if applied in order (a mailbox's later set of a counter
  // wins); element i answers sets[i]. When a row makes the batch fail, each
  // set is applied alone, so only the one at fault fails.
  Status SetUsage(std::string_view address, std::optional<int64_t> bytes, std::optional<int64_t> messages);
  std::vector<Status> SetUsages(const std::vector<UsageSet>& sets);

  // --- last login (role dict writes, policy and admin read) ---
  // unix_time: when the login happened (default: now, the database server's
  // clock); a time ahead of that clock is stored as its now. Retried once
  // after a lost connection (running it twice changes nothing more).
  Status RecordLastLogin(std::string_view address, std::string_view protocol, std::string_view ip,
                         std::optional<int64_t> unix_time = std::nullopt);
  Result<std::vector<LastLogin>> LastLogins(std::string_view address, uint64_t limit);
  // The mailbox's newest login as (protocol, ip, unix time) for the dict role,
  // which may not read addresses; NotFound when there is none.
  Result<std::tuple<std::string, std::string, int64_t>> NewestLogin(std::string_view address);

  // --- Postfix's questions (role policy) ---
  // The domain and the mailbox named by the first of `keys` (addresses of
  // that domain, in order of preference: "a+b@d" before "a@d") that exists;
  // no keys: the domain alone. No such domain: domain_exists is false.
  Result<RecipientState> FindRecipient(std::string_view domain, const std::vector<std::string>& keys);
  // Element i: the mailbox named addresses[i], if there is one.
  Result<std::vector<std::optional<MailboxState>>> FindMailboxStates(const std::vector<std::string>& addresses);
  // Element i: the recipients subscribed to addresses[i] in `direction`
  // ('I' incoming, 'O' outgoing), in recipient order. Invalid when a query
  // meets more than kMaxSubscriberRows (more than Postfix takes in one answer
  // of 100,000 bytes): the rows read are bounded whatever the list's size.
  static constexpr size_t kMaxSubscriberRows = 25000;
  Result<std::vector<std::vector<std::string>>> FindSubscribers(const std::vector<std::string>& addresses,
                                                                char direction);
  // Whether an active mailbox of an active domain logged in over IMAP or POP3
  // from an address in one of `ranges` (packed as common/ip.h; each range's
  // ends of the same length; at most kMaxBatch ranges) within the last `window`.
  Result<bool> LoggedInFrom(const std::vector<IpRange>& ranges, std::chrono::milliseconds window);
  // The mailbox (lookup key) that logged in from one of `ranges` within
  // `window`: with `newest`, the one that did last; else any; none if nobody.
  Result<std::optional<std::string>> NewestLoginFrom(const std::vector<IpRange>& ranges,
                                                     std::chrono::milliseconds window, bool newest = true);

  // --- administration (role admin); each change writes the change log in the same transaction ---
  Status AddDomain(const Domain& domain, const Actor& actor);
  // Deleting a domain that has mailboxes needs force, and then deletes them,
  // the domain's subscriptions, every subscription delivering into it, and
  // the send-as grants on its addresses (common/send_as.h).
  Status DeleteDomain(std::string_view name, bool force, const Actor& actor);
  Status SetDomainActive(std::string_view name, bool active, const Actor& actor);
  Result<Domain> GetDomain(std::string_view name);
  Result<std::vector<Domain>> ListDomains();

  // Refuses a name that cannot be a path (common/address.h,
  // CheckMailboxLocalPart) and limits Dovecot cannot hold (above 2^63-1).
  Status AddMailbox(const NewMailbox& mailbox, const Actor& actor);
  // Also deletes the subscriptions that delivered to the mailbox.
  Status DeleteMailbox(std::string_view address, const Actor& actor);
  Status SetMailboxActive(std::string_view address, bool active, const Actor& actor);
  Status SetMailboxQuota(std::string_view address, std::optional<uint64_t> max_bytes,
                         std::optional<uint64_t> max_messages, const Actor& actor);
  Status SetPasswordHash(std::string_view address, std::string_view hash, const Actor& actor);
  Result<Mailbox> GetMailbox(std::string_view address);
  // All mailboxes, or a domain's; streamed through `each` in address order.
  Status ListMailboxes(std::string_view domain, const std::function<bool(const Mailbox&)>& each);

  Status AddSubscription(const Subscription& sub, const Actor& actor);
  Status DeleteSubscription(const Subscription& sub, const Actor& actor);
  Result<std::vector<Subscription>> ListSubscriptions(std::string_view address);

  Result<std::vector<ChangeLogEntry>> ListChangeLog(const ChangeLogFilter& filter);
  Status WriteChangeLog(const Actor& actor, std::string_view action, std::string_view object, std::string_view detail);

  Db& db() { return db_; }

 private:
  Result<uint64_t> DomainId(std::string_view name);
  Result<uint64_t> MailboxId(std::string_view address);

  Db& db_;
};

}  // namespace roster

#endif
