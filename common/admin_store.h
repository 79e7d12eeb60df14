// admin_store.h: the data access of the admin role (roster_admin): what
// rosterctl (admin/) does to domains, mailboxes, subscriptions and the
// change log, and what it reads of last logins; its companions in the same
// library administer app passwords (common/app_password_admin.h), send-as
// grants (common/send_as_admin.h) and outbound limits (common/
// outbound_admin.h). Every change writes the change log in the same
// transaction. The schema itself is admin/schema (rosterctl db init).
//
// Addresses are normalised by the caller (common/address.h); lookups compare
// with the mailbox's lookup_key, LOWER(address), so "Bob@Example.org" finds
// "bob@example.org". Methods return NotFound when the thing does not exist,
// Temporary when the database cannot answer now.
//
// Trusts: the Db it is given (and so the database's answers); the caller to
// have checked the actor's right to make a change. One AdminStore on one Db,
// on the Db's thread.
#ifndef ROSTER_COMMON_ADMIN_STORE_H
#define ROSTER_COMMON_ADMIN_STORE_H

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/db.h"
#include "common/result.h"
#include "common/store_types.h"

namespace roster {

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
  // The newest login the dict (last_login) or the passdb (login_history)
  // recorded, "YYYY-MM-DD HH:MM:SS.ffffff" UTC; "" = never. Only MailboxPage
  // fills it.
  std::string last_login;
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
  uint64_t before_id = 0;  // only entries older than this id (a page's cursor); 0 = from the newest
};

// Whose entries a scoped listing of the change log holds (ListChangeLogIn):
// those about objects of `domains` (the entry's object_domain, migration
// 012), and with `department` only those about that one domain's mailboxes
// of the department, as they are now (a mailbox deleted or moved since takes
// its entries out).
struct ChangeLogScope {
  std::vector<std::string> domains;  // lower-case; empty = nothing
  std::optional<std::string> department;
};

// A page of a scoped listing: at most the filter's limit entries, newest
// first. With a department, a page examines at most kChangeLogScan entries of
// the domain: `resume_before` is then the id to go on below, though the page
// may hold fewer entries than the limit, or none (0 = nothing older).
struct ChangeLogPage {
  std::vector<ChangeLogEntry> entries;
  uint64_t resume_before = 0;
};
constexpr uint64_t kChangeLogScan = 10000;

// The orders of a page of mailboxes. Each is total: ties are broken by the
// mailbox's id, in the order's direction.
enum class MailboxOrder {
  kAddress,    // the lookup key
  kUsage,      // bytes used; no usage row or an unknown counter counts as 0
  kLastLogin,  // mailbox.last_login_at, the newest login of the dict's and the passdb's; never = before every login
};

// Where a page starts: after the mailbox with this sort value and lookup key
// or id (the last one of the page before). `value` is the order's integer
// key: kUsage the bytes, kLastLogin microseconds since 1970 or -1 for never,
// kAddress unused (0).
struct MailboxKey {
  int64_t value = 0;
  std::string lookup_key;  // kAddress's position
  uint64_t id = 0;         // the other orders' tie-break
};

// One page of mailboxes (MailboxPage): filters, in the query's order after `after`.
struct MailboxQuery {
  std::string domain;      // "" = every domain
  std::string department;  // "" = any (compared exactly)
  std::optional<bool> active;
  std::string prefix;      // the address starts with it (compared lower-cased); "" = any
  // Only mailboxes using at least this percent of a byte quota (0..1000); a
  // mailbox without one (max_bytes 0) never matches.
  std::optional<uint64_t> min_usage_percent;
  MailboxOrder order = MailboxOrder::kAddress;
  bool descending = false;
  std::optional<MailboxKey> after;  // unset: from the first
  uint64_t limit = 100;
};

// A host of a distributed installation (seed 004; table `unit`): where the
// MX relays its mailboxes' mail and where the front end proxies their logins
// (doc/scale-out.md).
struct Unit {
  std::string name;
  std::string host;       // Dovecot's proxy host; smtp:[host] when transport is empty
  std::string transport;  // Postfix's transport for its mailboxes' mail ("" = smtp:[host])
  uint64_t imap_port = 0;  // 0 = the protocol's standard port
  uint64_t pop3_port = 0;
  uint64_t mailboxes = 0;  // mailboxes on it (read only)
};

// `rosterctl db status`'s figures.
struct StoreCounts {
  std::string server_version;
  uint64_t domains = 0;
  uint64_t mailboxes = 0;
};

class AdminStore {
 public:
  explicit AdminStore(Db& db) : db_(db) {}

  Status AddDomain(const Domain& domain, const Actor& actor);
  // Deleting a domain that has mailboxes needs force, and then deletes them,
  // the domain's subscriptions, every subscription delivering into it, and
  // the send-as grants on its addresses (common/send_as_admin.h).
  Status DeleteDomain(std::string_view name, bool force, const Actor& actor);
  Status SetDomainActive(std::string_view name, bool active, const Actor& actor);
  Result<Domain> GetDomain(std::string_view name);
  // OK if the domain exists, else kNotFound; without counting its mailboxes as GetDomain does.
  Status FindDomain(std::string_view name);
  Result<std::vector<Domain>> ListDomains();
  // At most `limit` domains named after `after` ("" = from the first), by name.
  Result<std::vector<Domain>> DomainPage(std::string_view after, uint64_t limit);

  // Refuses a name that cannot be a path (common/address.h,
  // CheckMailboxLocalPart) and limits Dovecot cannot hold (above 2^63-1).
  Status AddMailbox(const NewMailbox& mailbox, const Actor& actor);
  // Also deletes the subscriptions that delivered to the mailbox.
  Status DeleteMailbox(std::string_view address, const Actor& actor);
  // Disabling, and a new password, move the mailbox's credentials_version
  // (migration 010): its sessions in the administration service end.
  Status SetMailboxActive(std::string_view address, bool active, const Actor& actor);
  Status SetMailboxQuota(std::string_view address, std::optional<uint64_t> max_bytes,
                         std::optional<uint64_t> max_messages, const Actor& actor);
  Status SetPasswordHash(std::string_view address, std::string_view hash, const Actor& actor);
  // Moves a mailbox to `unit` ("" = no unit: every host serves it); a unit
  // must exist (kNotFound). Its stored mail is not moved (doc/scale-out.md).
  Status SetMailboxUnit(std::string_view address, std::string_view unit, const Actor& actor);
  Result<Mailbox> GetMailbox(std::string_view address);

  // Units: created or changed whole (true: created); deleting one that still
  // holds mailboxes is a kConflict.
  Result<bool> SetUnit(const Unit& unit, const Actor& actor);
  Status DeleteUnit(std::string_view name, const Actor& actor);
  Result<std::vector<Unit>> ListUnits();
  // All mailboxes, or a domain's; streamed through `each` in address order.
  Status ListMailboxes(std::string_view domain, const std::function<bool(const Mailbox&)>& each);
  // One page: at most query.limit mailboxes; each one's key (the next page's
  // `after`) in `keys`, same order. In address order a keyset query on the
  // lookup key's index (it reads the page's rows); ordered by usage or last
  // login, the domain's (or department's) keys are read from the same index
  // and sorted by the server, the page's rows then read by id: its cost grows
  // with the mailboxes the filters leave (doc/PERFORMANCE.md).
  Result<std::vector<Mailbox>> MailboxPage(const MailboxQuery& query, std::vector<MailboxKey>* keys);
  // The stored password hash, to check a mailbox user's current password
  // (ops/, mailbox.change_password); it never leaves the ops layer.
  Result<std::string> PasswordHash(std::string_view address);

  Status AddSubscription(const Subscription& sub, const Actor& actor);
  Status DeleteSubscription(const Subscription& sub, const Actor& actor);
  Result<std::vector<Subscription>> ListSubscriptions(std::string_view address);
  // The subscriptions delivering to `recipient` (compared without case, as
  // a mailbox is looked up; of `address` only, unless ""), in id order after
  // `after_id`, at most `limit`.
  Result<std::vector<Subscription>> ListSubscriptionsTo(std::string_view recipient, std::string_view address,
                                                        uint64_t after_id, uint64_t limit);

  Result<std::vector<ChangeLogEntry>> ListChangeLog(const ChangeLogFilter& filter);
  // The same, narrowed to `scope`: each domain's entries are one range of the
  // index change_log_domain (a few domains per statement, merged newest first).
  Result<ChangeLogPage> ListChangeLogIn(const ChangeLogFilter& filter, const ChangeLogScope& scope);
  Status WriteChangeLog(const Actor& actor, std::string_view action, std::string_view object, std::string_view detail);

  // The newest last logins (the dict's, one per mailbox and protocol) of
  // `address` ("" = all), newest first; at most `limit`.
  Result<std::vector<LastLogin>> LastLogins(std::string_view address, uint64_t limit);
  // Sets a usage counter (an import of usage figures; common/shared_sql.h).
  Status SetUsageCounter(std::string_view address, UsageCounter counter, std::optional<int64_t> value);
  // The server's version; with `count`, also how many domains and mailboxes
  // there are (only once the schema exists).
  Result<StoreCounts> Counts(bool count);

  Db& db() { return db_; }

 private:
  Result<uint64_t> DomainId(std::string_view name);
  Result<uint64_t> MailboxId(std::string_view address);

  Db& db_;
};

}  // namespace roster

#endif
