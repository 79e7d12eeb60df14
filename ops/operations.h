// operations.h: roster's one administration layer. Every administrative
// operation (what rosterctl does, and what roster-apid will serve) is a row
// of one table, as doveadm keeps its commands: a name ("mailbox.add"),
// whether it changes anything, the kind of object it acts on and the input
// field naming it, who besides the mail administrator may run it, its input
// fields with their types and bounds, and its handler.
//
// A caller runs an operation by name with a JSON object as input:
//   Run(context, "mailbox.set_password", {"address": ..., "password": ...})
// Run checks the input against the declared fields (unknown fields, wrong
// types, values out of bounds: kInvalid, with Error::field set), normalises
// addresses and domains (common/address.h), loads the object where the
// decision needs it (a mailbox's department), asks Authorize, and only then
// calls the handler. Authorize is the one place that decides who may do what
// to which object: a refusal is kForbidden, and says the same whether the
// object exists or not, so nobody learns what lies outside their scope; a
// kNotFound is only ever answered inside the principal's scope. The handler
// calls the admin role's stores (common/admin_store.h and companions), which
// write the change log with ctx.actor in the same transaction as the change.
//
// Listing operations take "cursor" and "limit" and answer
// {"items": [...], "next_cursor": "..." | null}: the cursor is opaque to the
// caller (a position in the listing's order), so a client pages through
// 100,000 mailboxes one bounded query at a time.
//
// Trusts: the caller to have authenticated ctx.principal and to give the
// actor's true origin; nothing in the input (every field is checked here
// before any statement). Single-threaded per Context: one Db, on its thread.
#ifndef ROSTER_OPS_OPERATIONS_H
#define ROSTER_OPS_OPERATIONS_H

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "common/db.h"
#include "common/json.h"
#include "common/password.h"
#include "common/result.h"
#include "common/smtp_client.h"
#include "common/store_types.h"
#include "ops/principal.h"

namespace roster {
class Config;
}

namespace roster::ops {

// Tells a running Dovecot to drop entries from its auth cache after a change
// that must stop old credentials at once. `users`: addresses as stored (the
// implementation folds them as Dovecot's cache key does); empty = every
// entry. Best effort: a failure is the implementation's to report, never the
// operation's (the change is made).
class AuthCacheFlusher {
 public:
  virtual ~AuthCacheFlusher() = default;
  virtual void Flush(const std::vector<std::string>& users) = 0;
};

// Flushes nothing (a caller with no Dovecot to tell).
class NoAuthCacheFlush : public AuthCacheFlusher {
 public:
  void Flush(const std::vector<std::string>&) override {}
};

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowUnix() const = 0;  // seconds since the epoch, UTC
};

class SystemClock : public Clock {
 public:
  int64_t NowUnix() const override { return static_cast<int64_t>(std::time(nullptr)); }
};

// Sends the few mails an operation sends (a password-reset link,
// ops/recovery_ops.cc). Send blocks at most the implementation's timeout.
class Mailer {
 public:
  virtual ~Mailer() = default;
  // OK once the local MTA accepted the message; kTemporary if it did not.
  virtual Status Send(const std::string& to, const std::string& subject, const std::string& body) = 0;
};

// The public operations' throttle (Audience kPublic), in memory, one per
// daemon; Run asks it before validating the input. Defined in ops/authn.h.
class PublicThrottle;

// What the operations read from roster.conf.
struct OpsSettings {
  PasswordPolicy password_policy;  // for new hashes and checking a current password
  bool webmail_networks = false;   // auth_webmail_networks is set (mailbox.set_access)
  std::string config_path;         // named in messages about the settings
  uint64_t login_history = 100;    // mailbox.logins' default limit: what the history keeps
  // Sign-in to the administration service (ops/authn.h).
  unsigned api_lockout_failures = 5;    // failed sign-ins in a row that lock an account (0 = never)
  int64_t api_lockout = 900;            // seconds an account stays locked
  unsigned api_client_failures = 20;    // failures per client address within api_client_window (0 = no limit)
  int64_t api_client_window = 900;      // seconds
  // Self-service recovery (ops/recovery_ops.cc).
  unsigned recovery_max_failures = 3;   // wrong answers in a row that lock the reset
  int64_t recovery_lock = 1800;         // seconds the reset stays locked
  int64_t recovery_link_lifetime = 3600;  // seconds a reset link works
  int64_t recovery_link_interval = 600;   // seconds before another link goes to the same mailbox
  std::string public_url;               // api_public_url: the pages' address, for the link
  std::string mail_from;                // api_mail_from: the reset mail's envelope sender ("" = <>)
  SmtpTarget smtp;                      // api_smtp, api_smtp_timeout: the local MTA
  // The public operations' throttle (roster-apid): calls per client address
  // per window, and applications from everyone per window.
  unsigned public_client_limit = 30;
  int64_t public_window = 900;
  unsigned public_application_limit = 100;

  static Result<OpsSettings> FromConfig(const Config& config, std::string config_path);
};

// What one run of an operation works with. The pointers are the caller's and
// outlive the call; none may be null.
struct Context {
  Principal principal;
  Actor actor;  // written to the change log with every change
  Db* db = nullptr;  // connected as the admin role (roster_admin; roster-apid: roster_api)
  AuthCacheFlusher* flusher = nullptr;
  const Clock* clock = nullptr;
  const OpsSettings* settings = nullptr;
  Mailer* mailer = nullptr;                   // null: no mail can be sent (recovery.send_link: kTemporary)
  PublicThrottle* public_throttle = nullptr;  // null: the public operations are not throttled (tests)
};

// The kinds of object an operation acts on, which Authorize looks at.
enum class ObjectKind {
  kNone,     // the whole installation (domain.list, log.list, outbound.suspended)
  kDomain,   // a domain, named by the object field ("" = every domain: then as kNone)
  kMailbox,  // a mailbox, named by the object field; loaded for the decision
  kAddress,  // an address or "@domain" (subscriptions, send-as); "" = every one: then as kNone
  kAdmin,    // an administrator account (admin.*, api_key.*: its owner), named by the object field;
             // absent: the principal's own account (Principal::account)
};

enum class FieldType {
  kBool,
  kUint,         // 0..max
  kUintOrNull,   // 0..max, or null (outbound: "the domain's default")
  kString,       // at most max bytes, valid UTF-8, no control character
  kText,         // free text for people: as kString (common/address.h, CheckFreeText)
  kSecret,       // a password: 1..max bytes; never in a message or a log
  kDomain,       // common/address.h, ParseDomain; normalised
  kMailbox,      // a mailbox's address (ParseMailboxName); normalised
  kAddress,      // an address or "@domain"; normalised
  kAdminName,    // an administrator account's name (common/admin_accounts.h); normalised
  kDomainList,   // an array of at most max domains (0: 1000), each as kDomain; normalised, duplicates dropped
};

struct Field {
  const char* name;
  FieldType type;
  bool required = false;
  uint64_t max = 0;  // kUint: the largest value; string types: the most bytes (0 = the type's own bound)
};

// Who besides the mail administrator may run an operation, each inside
// their scope (Authorize).
enum Audience : unsigned {
  kMailAdminOnly = 0,
  kDomainAdmins = 1,  // on objects in their domains
  kGroupAdmins = 2,   // on mailboxes of their department (listings: narrowed to it)
  kOwner = 4,         // a mailbox user, on their own mailbox (subscriptions: their own address, incoming)
  kSelf = 8,          // an administrator, on its own account (kAdmin objects)
  // Everyone, signed in or not (Principal::Public()): the password
  // recovery's and the mailbox application's few operations, which check
  // their own proof (an answer, a link's token) and are throttled per client
  // (Context::public_throttle). Such an operation has no object (kNone).
  kPublic = 16,
};

// The object an operation acts on, as Run found it.
struct Object {
  ObjectKind kind = ObjectKind::kNone;
  std::string name;    // the mailbox, domain or address ("" = all)
  std::string domain;  // its domain ("" = all)
  // kMailbox: whether it exists, and its department (read before deciding).
  bool exists = false;
  std::string department;
  bool outgoing = false;  // a subscription's direction (input "outgoing")
};

struct Operation;
using Handler = Result<Json> (*)(Context& ctx, const Operation& op, const Json& input, const Object& object);

struct Operation {
  const char* name;
  bool changes;            // refused to read-only API keys
  ObjectKind object;
  const char* object_field;  // the input field naming the object ("" for kNone)
  unsigned audience;       // Audience bits
  bool scoped_listing;     // with no object named, lists only what the principal may see
  std::vector<Field> fields;
  Handler handler;
  // When the input has no object_field, the field that names the object
  // instead (sub.list: "recipient"), or nullptr.
  const char* alt_object_field = nullptr;
};

// Every operation, in a stable order (rosterctl's help, the service's routes).
const std::vector<Operation>& Operations();
// The operation called `name`, or nullptr.
const Operation* FindOperation(std::string_view name);

// The one authorization decision: may `principal` run `op` on `object`?
// OK, or kForbidden (its message never says whether the object exists).
Status Authorize(const Principal& principal, const Operation& op, const Object& object);

// Validates `input` against the operation's fields, authorizes, runs.
// Errors: kInvalid (bad input; Error::field names the field), kForbidden,
// kNotFound (only inside the principal's scope), kConflict, kTemporary, as
// the stores answer.
Result<Json> Run(Context& ctx, std::string_view name, const Json& input);

// The most a listing answers per call, and what it answers without "limit".
constexpr uint64_t kMaxPage = 1000;
constexpr uint64_t kDefaultPage = 100;

}  // namespace roster::ops

#endif  // ROSTER_OPS_OPERATIONS_H
