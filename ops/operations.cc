// operations.cc: the table of operations, the input check, the one
// authorization decision (Authorize) and Run; see operations.h. The
// handlers are in ops/*_ops.cc.
//
// Trusts: nothing in the input; ctx.principal as the caller authenticated it.
#include "ops/operations.h"

#include <sodium.h>

#include <algorithm>
#include <set>

#include "common/address.h"
#include "common/admin_accounts.h"
#include "common/admin_store.h"
#include "common/app_passwords.h"
#include "common/config.h"
#include "common/text.h"
#include "ops/authn.h"
#include "ops/handlers.h"

namespace roster::ops {

const char* PrincipalKindName(PrincipalKind kind) {
  switch (kind) {
    case PrincipalKind::kMailAdmin: return "mail administrator";
    case PrincipalKind::kDomainAdmin: return "domain administrator";
    case PrincipalKind::kGroupAdmin: return "group administrator";
    case PrincipalKind::kMailboxUser: return "mailbox user";
    case PrincipalKind::kPublic: return "client that has not signed in";
  }
  return "unknown";
}

Result<OpsSettings> OpsSettings::FromConfig(const Config& config, std::string config_path) {
  auto policy = PasswordPolicy::FromConfig(config);
  if (!policy) return policy.error();
  OpsSettings s;
  s.password_policy = *policy;
  s.webmail_networks = !config.GetList("auth_webmail_networks").empty();
  s.config_path = std::move(config_path);
  int64_t kept = config.GetInt("auth_login_history");
  s.login_history = kept > 0 ? static_cast<uint64_t>(kept) : 100;
  auto count = [&](const char* key, int64_t high, unsigned* out) -> Status {
    int64_t v = config.GetInt(key);
    if (v < 0 || v > high) return Error::Invalid(std::string(key) + " must be 0.." + std::to_string(high));
    *out = static_cast<unsigned>(v);
    return Status::Ok();
  };
  auto seconds = [&](const char* key, int64_t* out) -> Status {
    int64_t ms = config.GetDuration(key).count();
    if (ms < 1000 || ms > 86400 * 1000) return Error::Invalid(std::string(key) + " must be 1s..1d");
    *out = ms / 1000;
    return Status::Ok();
  };
  ROSTER_TRY(count("api_lockout_failures", 1000, &s.api_lockout_failures));
  ROSTER_TRY(seconds("api_lockout", &s.api_lockout));
  ROSTER_TRY(count("api_client_failures", 100000, &s.api_client_failures));
  ROSTER_TRY(seconds("api_client_window", &s.api_client_window));
  int64_t failures = config.GetInt("recovery_max_failures");
  if (failures < 1 || failures > 100) return Error::Invalid("recovery_max_failures must be 1..100");
  s.recovery_max_failures = static_cast<unsigned>(failures);
  ROSTER_TRY(seconds("recovery_lock", &s.recovery_lock));
  if (s.recovery_lock < 60) return Error::Invalid("recovery_lock must be 1m..1d");
  s.public_url = config.GetString("api_public_url");
  if (!s.public_url.empty() && !StartsWith(s.public_url, "https://") && !StartsWith(s.public_url, "http://"))
    return Error::Invalid("api_public_url must start with https:// (or http://)");
  for (char c : s.public_url)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '#')
      return Error::Invalid("api_public_url: no spaces, control characters or '#'");
  s.mail_from = config.GetString("api_mail_from");
  if (!s.mail_from.empty()) {
    auto from = ParseMailboxName(s.mail_from);
    if (!from) return Error::Invalid("api_mail_from: " + from.error().message);
    s.mail_from = from->Mailbox();
  }
  auto smtp = ParseSmtpTarget(config.GetString("api_smtp"));
  if (!smtp) return Error::Invalid("api_smtp: " + smtp.error().message);
  s.smtp = *smtp;
  s.smtp.timeout = config.GetDuration("api_smtp_timeout");
  if (s.smtp.timeout.count() < 100 || s.smtp.timeout.count() > 60000)
    return Error::Invalid("api_smtp_timeout must be 100ms..60s");
  auto positive = [&](const char* key, int64_t high, unsigned* out) -> Status {
    int64_t v = config.GetInt(key);
    if (v < 1 || v > high) return Error::Invalid(std::string(key) + " must be 1.." + std::to_string(high));
    *out = static_cast<unsigned>(v);
    return Status::Ok();
  };
  ROSTER_TRY(positive("api_public_client_limit", 100000, &s.public_client_limit));
  ROSTER_TRY(positive("api_application_limit", 1000000, &s.public_application_limit));
  ROSTER_TRY(seconds("api_public_window", &s.public_window));
  return s;
}

// ------------------------------------------------------------------ the table

namespace {

using F = FieldType;
constexpr bool kChanges = true, kReads = false;
constexpr unsigned kDomainAdminsAndGroups = kDomainAdmins | kGroupAdmins;
// Outbound limits: 0..kMaxOutboundLimit, or null for "the domain's default".
#define ROSTER_OUTBOUND_FIELDS                                                               \
  Field{"per_hour", F::kUintOrNull, false, kMaxOutboundLimit},                               \
      Field{"per_day", F::kUintOrNull, false, kMaxOutboundLimit},                            \
      Field{"rcpt_per_message", F::kUintOrNull, false, kMaxOutboundLimit},                   \
      Field{"rcpt_per_day", F::kUintOrNull, false, kMaxOutboundLimit}

const Field kCursor{"cursor", F::kString, false, 320};
const Field kLimit{"limit", F::kUint, false, kMaxPage};

}  // namespace

const std::vector<Operation>& Operations() {
  static const std::vector<Operation> kOperations = {
      // ---- domains
      {"domain.add", kChanges, ObjectKind::kDomain, "domain", kMailAdminOnly, false,
       {{"domain", F::kDomain, true}, {"transport", F::kText, false, 255},
        {"max_bytes", F::kUint}, {"max_messages", F::kUint},
        {"active", F::kBool}},
       DomainAdd},
      {"domain.del", kChanges, ObjectKind::kDomain, "domain", kMailAdminOnly, false,
       {{"domain", F::kDomain, true}, {"force", F::kBool}}, DomainDel},
      {"domain.enable", kChanges, ObjectKind::kDomain, "domain", kMailAdminOnly, false,
       {{"domain", F::kDomain, true}}, DomainSetActive},
      {"domain.disable", kChanges, ObjectKind::kDomain, "domain", kMailAdminOnly, false,
       {{"domain", F::kDomain, true}}, DomainSetActive},
      {"domain.show", kReads, ObjectKind::kDomain, "domain", kDomainAdmins, false, {{"domain", F::kDomain, true}},
       DomainShow},
      {"domain.list", kReads, ObjectKind::kNone, "", kDomainAdmins, true, {kCursor, kLimit}, DomainList},
      // ---- mailboxes
      {"mailbox.add", kChanges, ObjectKind::kAddress, "address", kDomainAdmins, false,
       {{"address", F::kMailbox, true}, {"password", F::kSecret, false, kMaxPasswordBytes},
        {"password_hash", F::kString, false, 1024}, {"name", F::kText, false, 255},
        {"department", F::kText, false, 255}, {"max_bytes", F::kUint},
        {"max_messages", F::kUint}, {"unit", F::kString, false, 64}, {"active", F::kBool}},
       MailboxAdd},
      {"mailbox.del", kChanges, ObjectKind::kMailbox, "address", kDomainAdmins, false,
       {{"address", F::kMailbox, true}}, MailboxDel},
      {"mailbox.enable", kChanges, ObjectKind::kMailbox, "address", kDomainAdminsAndGroups, false,
       {{"address", F::kMailbox, true}}, MailboxSetActive},
      {"mailbox.disable", kChanges, ObjectKind::kMailbox, "address", kDomainAdminsAndGroups, false,
       {{"address", F::kMailbox, true}}, MailboxSetActive},
      {"mailbox.set_quota", kChanges, ObjectKind::kMailbox, "address", kDomainAdmins, false,
       {{"address", F::kMailbox, true}, {"max_bytes", F::kUint},
        {"max_messages", F::kUint}},
       MailboxSetQuota},
      {"mailbox.set_unit", kChanges, ObjectKind::kMailbox, "address", kMailAdminOnly, false,
       {{"address", F::kMailbox, true}, {"unit", F::kString, true, 64}}, MailboxSetUnit},
      {"mailbox.set_password", kChanges, ObjectKind::kMailbox, "address", kDomainAdminsAndGroups, false,
       {{"address", F::kMailbox, true}, {"password", F::kSecret, false, kMaxPasswordBytes},
        {"password_hash", F::kString, false, 1024}},
       MailboxSetPassword},
      // A mailbox user's own change: the current password proves it.
      {"mailbox.change_password", kChanges, ObjectKind::kMailbox, "address", kOwner, false,
       {{"address", F::kMailbox, true}, {"current_password", F::kSecret, true, kMaxPasswordBytes},
        {"password", F::kSecret, true, kMaxPasswordBytes}},
       MailboxChangePassword},
      {"mailbox.show", kReads, ObjectKind::kMailbox, "address", kDomainAdminsAndGroups | kOwner, false,
       {{"address", F::kMailbox, true}}, MailboxShow},
      // Group administrators: narrowed to their department (Run fills it in).
      {"mailbox.list", kReads, ObjectKind::kDomain, "domain", kDomainAdminsAndGroups, false,
       {{"domain", F::kDomain}, {"department", F::kText, false, 255}, {"active", F::kBool},
        {"prefix", F::kString, false, 320}, {"sort", F::kString, false, 16},
        {"min_usage_percent", F::kUint, false, 1000}, {"cursor", F::kString, false, 512}, kLimit},
       MailboxList},
      {"mailbox.inactive", kReads, ObjectKind::kDomain, "domain", kDomainAdmins, false,
       {{"domain", F::kDomain}, {"days", F::kUint, true}, kCursor, kLimit}, MailboxInactive},
      {"mailbox.last_logins", kReads, ObjectKind::kMailbox, "address", kDomainAdminsAndGroups | kOwner, false,
       {{"address", F::kMailbox}, {"limit", F::kUint, false, 100000}}, MailboxLastLogins},
      {"mailbox.logins", kReads, ObjectKind::kMailbox, "address", kDomainAdminsAndGroups | kOwner, false,
       {{"address", F::kMailbox, true}, kLimit}, MailboxLogins},
      {"mailbox.access", kReads, ObjectKind::kMailbox, "address", kDomainAdmins | kOwner, false,
       {{"address", F::kMailbox, true}}, MailboxAccess},
      {"mailbox.set_access", kChanges, ObjectKind::kMailbox, "address", kDomainAdmins, false,
       {{"address", F::kMailbox, true}, {"protocols", F::kString, false, 255},
        {"main_password", F::kString, false, 255}, {"force", F::kBool}},
       MailboxSetAccess},
      // ---- app passwords
      {"app_password.add", kChanges, ObjectKind::kMailbox, "address", kDomainAdmins | kOwner, false,
       {{"address", F::kMailbox, true}, {"label", F::kString, true, 4 * kMaxLabelChars}, {"protocols", F::kString, false, 255},
        {"expires_at", F::kUint}, {"expires_in", F::kUint, false, 100ull * 366 * 86400}},
       AppPasswordAdd},
      {"app_password.list", kReads, ObjectKind::kMailbox, "address", kDomainAdmins | kOwner, false,
       {{"address", F::kMailbox, true}}, AppPasswordList},
      {"app_password.revoke", kChanges, ObjectKind::kMailbox, "address", kDomainAdmins | kOwner, false,
       {{"address", F::kMailbox, true}, {"id", F::kUint, true, UINT64_MAX}}, AppPasswordRevoke},
      // ---- subscriptions (aliases, forwards, BCC): a mailbox user owns the
      // incoming ones on their own address (their forwards).
      {"sub.add", kChanges, ObjectKind::kAddress, "address", kDomainAdmins | kOwner, false,
       {{"address", F::kAddress, true}, {"recipient", F::kMailbox, true}, {"outgoing", F::kBool}}, SubChange},
      {"sub.del", kChanges, ObjectKind::kAddress, "address", kDomainAdmins | kOwner, false,
       {{"address", F::kAddress, true}, {"recipient", F::kMailbox, true}, {"outgoing", F::kBool}}, SubChange},
      // By address, or by recipient (the aliases and forwards that deliver to
      // a mailbox: authorized on the recipient, each row then as if listed by
      // its address; paged by cursor).
      {"sub.list", kReads, ObjectKind::kAddress, "address", kDomainAdmins | kOwner, false,
       {{"address", F::kAddress}, {"recipient", F::kMailbox}, kCursor, kLimit}, SubList, "recipient"},
      // ---- send-as: the object is the sender address (its domain decides)
      {"send_as.grant", kChanges, ObjectKind::kAddress, "address", kDomainAdmins, false,
       {{"address", F::kAddress, true}, {"login", F::kMailbox, true}}, SendAsChange},
      {"send_as.revoke", kChanges, ObjectKind::kAddress, "address", kDomainAdmins, false,
       {{"address", F::kAddress, true}, {"login", F::kMailbox, true}}, SendAsChange},
      {"send_as.list", kReads, ObjectKind::kAddress, "who", kDomainAdmins, false,
       {{"who", F::kAddress}, {"limit", F::kUint, false, 100000}}, SendAsList},
      // ---- outbound limits: raising them and lifting the breaker stay the
      // mail administrator's; a domain administrator may look and suspend.
      {"outbound.show", kReads, ObjectKind::kMailbox, "address", kDomainAdmins, false,
       {{"address", F::kMailbox, true}}, OutboundShow},
      {"outbound.set", kChanges, ObjectKind::kMailbox, "address", kMailAdminOnly, false,
       {{"address", F::kMailbox, true}, ROSTER_OUTBOUND_FIELDS}, OutboundSet},
      {"outbound.defaults", kReads, ObjectKind::kDomain, "domain", kDomainAdmins, false,
       {{"domain", F::kDomain, true}}, OutboundDefaults},
      {"outbound.set_defaults", kChanges, ObjectKind::kDomain, "domain", kMailAdminOnly, false,
       {{"domain", F::kDomain, true}, ROSTER_OUTBOUND_FIELDS}, OutboundSetDefaults},
      {"outbound.suspend", kChanges, ObjectKind::kMailbox, "address", kDomainAdmins, false,
       {{"address", F::kMailbox, true}, {"reason", F::kText, false, 255}}, OutboundSuspend},
      {"outbound.lift", kChanges, ObjectKind::kMailbox, "address", kMailAdminOnly, false,
       {{"address", F::kMailbox, true}}, OutboundLift},
      {"outbound.suspended", kReads, ObjectKind::kNone, "", kMailAdminOnly, false, {}, OutboundSuspended},
      // ---- units (seed 004): the hosts of the installation, the mail
      // administrator's.
      {"unit.set", kChanges, ObjectKind::kNone, "", kMailAdminOnly, false,
       {{"name", F::kString, true, 64}, {"host", F::kString, true, 255}, {"transport", F::kString, false, 255},
        {"imap_port", F::kUint, false, 65535}, {"pop3_port", F::kUint, false, 65535}},
       UnitSet},
      {"unit.del", kChanges, ObjectKind::kNone, "", kMailAdminOnly, false, {{"name", F::kString, true, 64}}, UnitDel},
      {"unit.list", kReads, ObjectKind::kNone, "", kMailAdminOnly, false, {}, UnitList},
      // ---- administrators (ops/admin_ops.cc): the mail administrator's;
      // each administrator its own password, second factor and API keys
      // (a read-only key or one limited to domains manages none of them).
      {"admin.add", kChanges, ObjectKind::kAdmin, "name", kMailAdminOnly, false,
       {{"name", F::kAdminName, true}, {"kind", F::kString, true, 8}, {"domains", F::kDomainList},
        {"department", F::kText, false, 255}, {"password", F::kSecret, true, kMaxPasswordBytes},
        {"active", F::kBool}},
       AdminAdd},
      {"admin.list", kReads, ObjectKind::kNone, "", kMailAdminOnly, false, {kCursor, kLimit}, AdminList},
      {"admin.show", kReads, ObjectKind::kAdmin, "name", kSelf, false, {{"name", F::kAdminName}}, AdminShow},
      {"admin.del", kChanges, ObjectKind::kAdmin, "name", kMailAdminOnly, false, {{"name", F::kAdminName, true}},
       AdminDel},
      // Its own: with the current password.
      {"admin.set_password", kChanges, ObjectKind::kAdmin, "name", kSelf, false,
       {{"name", F::kAdminName}, {"password", F::kSecret, true, kMaxPasswordBytes},
        {"current_password", F::kSecret, false, kMaxPasswordBytes}},
       AdminSetPassword},
      // "enable": a new secret, answered once with its otpauth:// URI; false: none.
      {"admin.set_totp", kChanges, ObjectKind::kAdmin, "name", kSelf, false,
       {{"name", F::kAdminName}, {"enable", F::kBool, true},
        {"current_password", F::kSecret, false, kMaxPasswordBytes}},
       AdminSetTotp},
      {"admin.enable", kChanges, ObjectKind::kAdmin, "name", kMailAdminOnly, false, {{"name", F::kAdminName, true}},
       AdminSetActive},
      {"admin.disable", kChanges, ObjectKind::kAdmin, "name", kMailAdminOnly, false, {{"name", F::kAdminName, true}},
       AdminSetActive},
      {"admin.unlock", kChanges, ObjectKind::kAdmin, "name", kMailAdminOnly, false, {{"name", F::kAdminName, true}},
       AdminUnlock},
      // ---- API keys: the key is in the answer of api_key.add, once.
      {"api_key.add", kChanges, ObjectKind::kAdmin, "admin", kSelf, false,
       {{"admin", F::kAdminName}, {"label", F::kText, false, 400}, {"read_only", F::kBool},
        {"domains", F::kDomainList}, {"expires_at", F::kUint},
        {"expires_in", F::kUint, false, 100ull * 366 * 86400}},
       ApiKeyAdd},
      {"api_key.list", kReads, ObjectKind::kAdmin, "admin", kSelf, false, {{"admin", F::kAdminName}, kCursor, kLimit},
       ApiKeyList},
      {"api_key.revoke", kChanges, ObjectKind::kAdmin, "admin", kSelf, false,
       {{"admin", F::kAdminName}, {"id", F::kUint, true, UINT64_MAX}}, ApiKeyRevoke},
      // ---- self-service password recovery (ops/recovery_ops.cc): a user's
      // own question and recovery address (with the current password); the
      // public questions and resets, throttled; administrators lift a lock.
      {"recovery.set", kChanges, ObjectKind::kMailbox, "address", kOwner, false,
       {{"address", F::kMailbox, true}, {"current_password", F::kSecret, true, kMaxPasswordBytes},
        {"question", F::kText, false, 255}, {"answer", F::kSecret, false, 255},
        {"recovery_address", F::kString, false, 320}},
       RecoverySet},
      {"recovery.show", kReads, ObjectKind::kMailbox, "address", kDomainAdminsAndGroups | kOwner, false,
       {{"address", F::kMailbox, true}}, RecoveryShow},
      {"recovery.unlock", kChanges, ObjectKind::kMailbox, "address", kDomainAdminsAndGroups, false,
       {{"address", F::kMailbox, true}}, RecoveryUnlock},
      {"recovery.question", kReads, ObjectKind::kNone, "", kPublic, false, {{"address", F::kMailbox, true}},
       RecoveryQuestion},
      {"recovery.reset", kChanges, ObjectKind::kNone, "", kPublic, false,
       {{"address", F::kMailbox, true}, {"answer", F::kSecret, true, 255},
        {"password", F::kSecret, true, kMaxPasswordBytes}},
       RecoveryReset},
      {"recovery.send_link", kChanges, ObjectKind::kNone, "", kPublic, false, {{"address", F::kMailbox, true}},
       RecoverySendLink},
      {"recovery.reset_by_link", kChanges, ObjectKind::kNone, "", kPublic, false,
       {{"token", F::kSecret, true, 64}, {"password", F::kSecret, true, kMaxPasswordBytes}}, RecoveryResetByLink},
      // ---- mailbox applications (ops/application_ops.cc): the public
      // submission, throttled; a domain's administrators decide.
      {"domain.self_service", kReads, ObjectKind::kDomain, "domain", kDomainAdmins, false,
       {{"domain", F::kDomain, true}}, DomainSelfService},
      {"domain.set_self_service", kChanges, ObjectKind::kDomain, "domain", kDomainAdmins, false,
       {{"domain", F::kDomain, true}, {"applications", F::kString, false, 16}, {"recovery_mail", F::kBool}},
       DomainSetSelfService},
      {"application.submit", kChanges, ObjectKind::kNone, "", kPublic, false,
       {{"address", F::kMailbox, true}, {"password", F::kSecret, true, kMaxPasswordBytes},
        {"name", F::kText, false, 255}, {"department", F::kText, false, 255}, {"phone", F::kText, false, 64}},
       ApplicationSubmit},
      {"application.list", kReads, ObjectKind::kDomain, "domain", kDomainAdmins, false,
       {{"domain", F::kDomain}, {"state", F::kString, false, 16}, kCursor, kLimit}, ApplicationList},
      {"application.approve", kChanges, ObjectKind::kDomain, "domain", kDomainAdmins, false,
       {{"domain", F::kDomain}, {"id", F::kUint, true, UINT64_MAX}}, ApplicationApprove},
      {"application.reject", kChanges, ObjectKind::kDomain, "domain", kDomainAdmins, false,
       {{"domain", F::kDomain}, {"id", F::kUint, true, UINT64_MAX}}, ApplicationReject},
      // ---- the change log: a domain administrator's of its domains' objects,
      // a group administrator's of its department's mailboxes.
      {"log.list", kReads, ObjectKind::kNone, "", kDomainAdminsAndGroups, true,
       {{"object", F::kString, false, 255}, {"actor", F::kString, false, 64}, {"action", F::kString, false, 32},
        {"since", F::kString, false, 19}, kCursor, {"limit", F::kUint, false, kMaxPage}},
       LogList},
  };
  return kOperations;
}

#undef ROSTER_OUTBOUND_FIELDS

const Operation* FindOperation(std::string_view name) {
  for (const Operation& op : Operations())
    if (name == op.name) return &op;
  return nullptr;
}

// ------------------------------------------------------------------ helpers for handlers

std::string Str(const Json& in, const char* name) {
  auto it = in.find(name);
  return it == in.end() || !it->is_string() ? std::string() : it->get<std::string>();
}

bool Flag(const Json& in, const char* name, bool def) {
  auto it = in.find(name);
  return it == in.end() || !it->is_boolean() ? def : it->get<bool>();
}

std::optional<uint64_t> OptUint(const Json& in, const char* name) {
  auto it = in.find(name);
  if (it == in.end() || !it->is_number_unsigned()) return std::nullopt;
  return it->get<uint64_t>();
}

uint64_t PageLimit(const Json& in, uint64_t def) {
  uint64_t n = OptUint(in, "limit").value_or(def);
  return n == 0 ? def : n;
}

std::optional<std::set<std::string>> ListedDomains(const Principal& p) {
  const bool limited = p.api_key && !p.api_key->domains.empty();
  std::set<std::string> domains;
  switch (p.kind) {
    case PrincipalKind::kMailAdmin:
      if (!limited) return std::nullopt;
      return p.api_key->domains;
    case PrincipalKind::kDomainAdmin:
      domains = p.domains;
      break;
    case PrincipalKind::kGroupAdmin:
      domains = {p.domain};
      break;
    case PrincipalKind::kMailboxUser:
    case PrincipalKind::kPublic:
      return domains;  // none: a mailbox user lists no domain
  }
  if (limited) {
    std::set<std::string> narrowed;
    for (const std::string& d : domains)
      if (p.api_key->domains.count(d)) narrowed.insert(d);
    domains = std::move(narrowed);
  }
  return domains;
}

Error FieldInvalid(const char* field, const std::string& message) {
  Error e = Error::Invalid(std::string(field) + ": " + message);
  e.field = field;
  return e;
}

std::string DomainOfName(const std::string& name) {
  auto at = name.rfind('@');
  return at == std::string::npos ? name : name.substr(at + 1);
}

Result<uint64_t> IdCursor(const Json& in) {
  std::string cursor = Str(in, "cursor");
  if (cursor.empty()) return uint64_t{0};
  if (cursor.size() > 19 || cursor.find_first_not_of("0123456789") != std::string::npos)
    return FieldInvalid("cursor", "not one this listing gave");
  return static_cast<uint64_t>(std::stoull(cursor));
}

Json Page(Json items, const std::string& next_cursor) {
  Json page = Json::object();
  page["items"] = std::move(items);
  page["next_cursor"] = next_cursor.empty() ? Json(nullptr) : Json(next_cursor);
  return page;
}

// ------------------------------------------------------------------ input

namespace {

Error FieldError(const Field& f, const std::string& message) {
  Error e = Error::Invalid(std::string(f.name) + ": " + message);
  e.field = f.name;
  return e;
}

size_t StringBound(const Field& f) {
  if (f.max) return f.max;
  switch (f.type) {
    case F::kDomain: return 253;
    case F::kMailbox: case F::kAddress: return 320;
    case F::kAdminName: return 64;
    case F::kSecret: return kMaxPasswordBytes;
    default: return 1024;
  }
}

// The value checked and, for names, normalised.
Result<Json> CheckField(const Field& f, const Json& v) {
  switch (f.type) {
    case F::kBool:
      if (!v.is_boolean()) return FieldError(f, "expected true or false");
      return v;
    case F::kUintOrNull:
      if (v.is_null()) return v;
      [[fallthrough]];
    case F::kUint: {
      if (!v.is_number_integer() || (v.is_number_integer() && !v.is_number_unsigned() && v.get<int64_t>() < 0))
        return FieldError(f, "expected a whole number, 0 or more");
      uint64_t n = v.get<uint64_t>();
      if (f.max && n > f.max) return FieldError(f, "at most " + std::to_string(f.max));
      return Json(n);
    }
    case F::kDomainList: {
      const size_t most = f.max ? f.max : 1000;
      if (!v.is_array()) return FieldError(f, "expected an array of domains");
      if (v.size() > most) return FieldError(f, "at most " + std::to_string(most) + " domains");
      std::set<std::string> domains;
      for (const Json& item : v) {
        if (!item.is_string() || item.get_ref<const std::string&>().size() > 253)
          return FieldError(f, "expected an array of domains");
        auto d = ParseDomain(item.get_ref<const std::string&>());
        if (!d) return FieldError(f, d.error().message);
        domains.insert(*d);
      }
      return Json(std::vector<std::string>(domains.begin(), domains.end()));
    }
    default: break;
  }
  if (!v.is_string()) return FieldError(f, "expected a string");
  const std::string& s = v.get_ref<const std::string&>();
  if (s.size() > StringBound(f)) return FieldError(f, "at most " + std::to_string(StringBound(f)) + " bytes");
  switch (f.type) {
    case F::kText: {
      Status ok = CheckFreeText(s, f.name, StringBound(f));
      if (!ok) return FieldError(f, ok.error().message);
      return v;
    }
    case F::kSecret:
      if (s.empty()) return FieldError(f, "must not be empty");
      return v;  // never echoed
    case F::kDomain: {
      auto d = ParseDomain(s);
      if (!d) return FieldError(f, d.error().message);
      return Json(*d);
    }
    case F::kMailbox: {
      auto a = ParseMailboxName(s);
      if (!a) return FieldError(f, a.error().message);
      return Json(a->Mailbox());
    }
    case F::kAdminName: {
      auto name = NormaliseAdminName(s);
      if (!name) return FieldError(f, name.error().message);
      return Json(*name);
    }
    case F::kAddress: {
      if (!s.empty() && s[0] == '@') {
        auto d = ParseDomain(s.substr(1));
        if (!d) return FieldError(f, d.error().message);
        return Json("@" + *d);
      }
      auto a = ParseMailboxName(s);
      if (!a) return FieldError(f, a.error().message);
      return Json(a->Mailbox());
    }
    default:
      return v;  // kString: bounded; what it means is the handler's to check
  }
}

Result<Json> Validate(const Operation& op, const Json& input) {
  if (!input.is_object()) return Error::Invalid(std::string(op.name) + ": the input must be a JSON object");
  for (auto it = input.begin(); it != input.end(); ++it) {
    bool known = std::any_of(op.fields.begin(), op.fields.end(), [&](const Field& f) { return it.key() == f.name; });
    if (!known) {
      Error e = Error::Invalid("unknown field '" + Shown(it.key(), 64) + "' for " + op.name);
      e.field = it.key().size() <= 64 ? it.key() : std::string();
      return e;
    }
  }
  Json out = Json::object();
  for (const Field& f : op.fields) {
    auto it = input.find(f.name);
    if (it == input.end()) {
      if (f.required) return FieldError(f, "required");
      continue;
    }
    auto checked = CheckField(f, *it);
    if (!checked) return checked.error();
    out[f.name] = std::move(*checked);
  }
  return out;
}

bool HasField(const Operation& op, const char* name) {
  return std::any_of(op.fields.begin(), op.fields.end(), [&](const Field& f) { return std::string(f.name) == name; });
}

// A principal whose scope is exactly one domain, or "".
std::string OnlyDomain(const Principal& p) {
  if (p.kind == PrincipalKind::kGroupAdmin) return p.domain;
  if (p.kind == PrincipalKind::kDomainAdmin && p.domains.size() == 1) return *p.domains.begin();
  if (p.api_key && p.api_key->domains.size() == 1 && p.kind == PrincipalKind::kMailAdmin)
    return *p.api_key->domains.begin();
  return "";
}

void WipeSecrets(const Operation& op, Json& in) {
  for (const Field& f : op.fields) {
    if (f.type != F::kSecret) continue;
    auto it = in.find(f.name);
    if (it == in.end() || !it->is_string()) continue;
    std::string& s = it->get_ref<std::string&>();
    sodium_memzero(s.data(), s.size());
  }
}

}  // namespace

// ------------------------------------------------------------------ the decision

Status Authorize(const Principal& p, const Operation& op, const Object& object) {
  const std::string what = object.name.empty() ? std::string(op.name) : std::string(op.name) + " on " + object.name;
  auto deny = [&]() -> Status {
    return Error::Forbidden("permission denied: " + what + " is not allowed to this " + PrincipalKindName(p.kind) +
                            (p.api_key ? "'s API key" : ""));
  };
  if (p.api_key && p.api_key->read_only && op.changes)
    return Error::Forbidden("permission denied: " + what + " changes something, and this API key is read-only");
  // An operation open to everyone checks its own proof (an answer, a link's
  // token); nothing else is open to a client that has not signed in.
  if (op.audience & kPublic) return Status::Ok();
  if (p.kind == PrincipalKind::kPublic) return deny();
  const bool everything = object.kind == ObjectKind::kNone || object.name.empty();
  if (p.api_key && !p.api_key->domains.empty()) {
    if (everything ? !op.scoped_listing : p.api_key->domains.count(object.domain) == 0) return deny();
  }
  // An administrator account (no domain: a key limited to domains was
  // refused above): the mail administrator's, and each administrator's own.
  if (object.kind == ObjectKind::kAdmin) {
    if (p.kind == PrincipalKind::kMailAdmin) return Status::Ok();
    if (p.kind != PrincipalKind::kMailboxUser && (op.audience & kSelf) && !p.account.empty() &&
        object.name == p.account)
      return Status::Ok();
    return deny();
  }
  switch (p.kind) {
    case PrincipalKind::kMailAdmin:
      return Status::Ok();
    case PrincipalKind::kDomainAdmin:
      if (!(op.audience & kDomainAdmins)) return deny();
      if (everything) return op.scoped_listing ? Status::Ok() : deny();
      return p.domains.count(object.domain) ? Status::Ok() : deny();
    case PrincipalKind::kGroupAdmin:
      if (!(op.audience & kGroupAdmins)) return deny();
      if (everything) return op.scoped_listing ? Status::Ok() : deny();
      if (object.domain != p.domain) return deny();
      // A mailbox of the department: known only once read, so one that does
      // not exist is refused like one of another department.
      if (object.kind == ObjectKind::kMailbox)
        return object.exists && object.department == p.department ? Status::Ok() : deny();
      // A listing of the domain, narrowed to the department.
      if (object.kind == ObjectKind::kDomain) return object.department == p.department ? Status::Ok() : deny();
      return deny();
    case PrincipalKind::kMailboxUser:
      if (!(op.audience & kOwner)) return deny();
      if (everything || object.outgoing) return deny();
      if (object.kind != ObjectKind::kMailbox && object.kind != ObjectKind::kAddress) return deny();
      return EqualsIgnoreCase(object.name, p.mailbox) ? Status::Ok() : deny();
    case PrincipalKind::kPublic:
      return deny();
  }
  return deny();
}

// ------------------------------------------------------------------ Run

Result<Json> Run(Context& ctx, std::string_view name, const Json& input) {
  const Operation* op = FindOperation(name);
  if (op == nullptr) return Error::Invalid("unknown operation '" + Shown(name, 64) + "'");
  // The public operations count every call, valid or not, before anything else.
  if ((op->audience & kPublic) && ctx.public_throttle != nullptr)
    ROSTER_TRY(ctx.public_throttle->Admit(op->name, ctx.actor.origin, ctx.clock->NowUnix()));
  auto validated = Validate(*op, input);
  if (!validated) return validated.error();
  Json& in = *validated;

  // Defaults that follow from the principal's scope: a group administrator
  // lists their department; one whose scope is one domain, that domain.
  if (ctx.principal.kind == PrincipalKind::kGroupAdmin && HasField(*op, "department") && !in.contains("department"))
    in["department"] = ctx.principal.department;
  if (op->object == ObjectKind::kDomain && !in.contains(op->object_field)) {
    std::string only = OnlyDomain(ctx.principal);
    if (!only.empty()) in[op->object_field] = only;
  }

  // An administrator's own account, when none is named.
  if (op->object == ObjectKind::kAdmin && !in.contains(op->object_field)) {
    if (ctx.principal.account.empty()) {
      Error e = Error::Invalid(std::string(op->object_field) + ": required");
      e.field = op->object_field;
      WipeSecrets(*op, in);
      return e;
    }
    in[op->object_field] = ctx.principal.account;
  }

  Object object;
  object.kind = op->object;
  if (op->object != ObjectKind::kNone) {
    object.name = Str(in, op->object_field);
    if (object.name.empty() && op->alt_object_field != nullptr) object.name = Str(in, op->alt_object_field);
    object.domain = object.name.empty() || op->object == ObjectKind::kAdmin ? "" : DomainOfName(object.name);
  }
  object.outgoing = Flag(in, "outgoing");
  if (op->object == ObjectKind::kDomain) object.department = Str(in, "department");
  if (op->object == ObjectKind::kMailbox && !object.name.empty()) {
    auto m = AdminStore(*ctx.db).GetMailbox(object.name);
    if (m) {
      object.exists = true;
      object.department = m->department;
    } else if (!m.error().is_not_found()) {
      return m.error();
    }
  }
  Status allowed = Authorize(ctx.principal, *op, object);
  if (!allowed) {
    WipeSecrets(*op, in);
    return allowed.error();
  }
  if (op->object == ObjectKind::kMailbox && !object.name.empty() && !object.exists) {
    WipeSecrets(*op, in);
    return Error::NotFound("no such mailbox: " + object.name);
  }
  Result<Json> result = op->handler(ctx, *op, in, object);
  WipeSecrets(*op, in);
  return result;
}

}  // namespace roster::ops
