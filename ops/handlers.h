// handlers.h: the handlers of ops/operations.cc's table, and the small
// helpers they share to read a validated input. Internal to ops/.
//
// Trusts: Run (ops/operations.cc) to have validated the input against the
// operation's fields and authorized the principal before any handler runs.
#ifndef ROSTER_OPS_HANDLERS_H
#define ROSTER_OPS_HANDLERS_H

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "common/json.h"
#include "ops/operations.h"

namespace roster::ops {

// A validated input's fields (absent: the default).
std::string Str(const Json& in, const char* name);
bool Flag(const Json& in, const char* name, bool def = false);
std::optional<uint64_t> OptUint(const Json& in, const char* name);
uint64_t PageLimit(const Json& in, uint64_t def = kDefaultPage);
// A listing's answer: {"items": items, "next_cursor": cursor or null}.
Json Page(Json items, const std::string& next_cursor);
// An invalid input named by its field ("field: message").
Error FieldInvalid(const char* field, const std::string& message);
// A cursor a listing in id order gave: digits (the last id), or "" for the
// first page (0); anything else is FieldInvalid("cursor").
Result<uint64_t> IdCursor(const Json& in);
// The domain of an address, a catch-all "@domain" or a bare domain.
std::string DomainOfName(const std::string& name);
// The domains a principal's scoped listings cover: a domain administrator's
// (a group administrator's one), narrowed by an API key limited to domains;
// nullopt = every domain (the mail administrator, its key not limited).
std::optional<std::set<std::string>> ListedDomains(const Principal& p);

// A unit's name (seed 004; "" = none): letters, digits and _ . - % : only
// (FieldInvalid(field) otherwise). routing_ops.cc.
Status CheckUnitName(const std::string& name, const char* field);

// A mailbox user's own change: the input's "current_password" must be the
// mailbox's password (403 on field current_password). mailbox_ops.cc.
Status CheckCurrentPassword(Context& ctx, const std::string& address, const Json& in);

#define ROSTER_OPS_HANDLER(name)                                                                 \
  Result<Json> name([[maybe_unused]] Context& ctx, [[maybe_unused]] const Operation& op,         \
                    [[maybe_unused]] const Json& in, [[maybe_unused]] const Object& object)

// domain_ops.cc
ROSTER_OPS_HANDLER(DomainAdd);
ROSTER_OPS_HANDLER(DomainDel);
ROSTER_OPS_HANDLER(DomainSetActive);
ROSTER_OPS_HANDLER(DomainShow);
ROSTER_OPS_HANDLER(DomainList);
// mailbox_ops.cc
ROSTER_OPS_HANDLER(MailboxAdd);
ROSTER_OPS_HANDLER(MailboxDel);
ROSTER_OPS_HANDLER(MailboxSetActive);
ROSTER_OPS_HANDLER(MailboxSetQuota);
ROSTER_OPS_HANDLER(MailboxSetUnit);
ROSTER_OPS_HANDLER(MailboxSetPassword);
ROSTER_OPS_HANDLER(MailboxChangePassword);
ROSTER_OPS_HANDLER(MailboxShow);
ROSTER_OPS_HANDLER(MailboxList);
ROSTER_OPS_HANDLER(MailboxInactive);
ROSTER_OPS_HANDLER(MailboxLastLogins);
// access_ops.cc: app passwords, per-protocol access, login history
ROSTER_OPS_HANDLER(MailboxAccess);
ROSTER_OPS_HANDLER(MailboxSetAccess);
ROSTER_OPS_HANDLER(MailboxLogins);
ROSTER_OPS_HANDLER(AppPasswordAdd);
ROSTER_OPS_HANDLER(AppPasswordList);
ROSTER_OPS_HANDLER(AppPasswordRevoke);
// routing_ops.cc: subscriptions, send-as, outbound limits, units, change log
ROSTER_OPS_HANDLER(SubChange);
ROSTER_OPS_HANDLER(SubList);
ROSTER_OPS_HANDLER(SendAsChange);
ROSTER_OPS_HANDLER(SendAsList);
ROSTER_OPS_HANDLER(OutboundShow);
ROSTER_OPS_HANDLER(OutboundSet);
ROSTER_OPS_HANDLER(OutboundDefaults);
ROSTER_OPS_HANDLER(OutboundSetDefaults);
ROSTER_OPS_HANDLER(OutboundSuspend);
ROSTER_OPS_HANDLER(OutboundLift);
ROSTER_OPS_HANDLER(OutboundSuspended);
ROSTER_OPS_HANDLER(UnitSet);
ROSTER_OPS_HANDLER(UnitDel);
ROSTER_OPS_HANDLER(UnitList);
ROSTER_OPS_HANDLER(LogList);
// admin_ops.cc: administrator accounts and API keys
ROSTER_OPS_HANDLER(AdminAdd);
ROSTER_OPS_HANDLER(AdminList);
ROSTER_OPS_HANDLER(AdminShow);
ROSTER_OPS_HANDLER(AdminDel);
ROSTER_OPS_HANDLER(AdminSetPassword);
ROSTER_OPS_HANDLER(AdminSetTotp);
ROSTER_OPS_HANDLER(AdminSetActive);
ROSTER_OPS_HANDLER(AdminUnlock);
ROSTER_OPS_HANDLER(ApiKeyAdd);
ROSTER_OPS_HANDLER(ApiKeyList);
ROSTER_OPS_HANDLER(ApiKeyRevoke);
// recovery_ops.cc: self-service password recovery
ROSTER_OPS_HANDLER(RecoverySet);
ROSTER_OPS_HANDLER(RecoveryShow);
ROSTER_OPS_HANDLER(RecoveryUnlock);
ROSTER_OPS_HANDLER(RecoveryQuestion);
ROSTER_OPS_HANDLER(RecoveryReset);
ROSTER_OPS_HANDLER(RecoverySendLink);
ROSTER_OPS_HANDLER(RecoveryResetByLink);
// application_ops.cc: mailbox applications, a domain's self-service settings
ROSTER_OPS_HANDLER(DomainSelfService);
ROSTER_OPS_HANDLER(DomainSetSelfService);
ROSTER_OPS_HANDLER(ApplicationSubmit);
ROSTER_OPS_HANDLER(ApplicationList);
ROSTER_OPS_HANDLER(ApplicationApprove);
ROSTER_OPS_HANDLER(ApplicationReject);

}  // namespace roster::ops

#endif  // ROSTER_OPS_HANDLERS_H
