// cmd_send_as.cc: `rosterctl send-as`: which mailboxes may use an envelope
// sender besides its own mailbox (common/send_as_admin.h; roster-policyd answers
// them to Postfix's smtpd_sender_login_maps, doc/postfix.md). A grant changes
// no login's answer, so Dovecot's auth cache is left alone; roster-policyd
// caches none of it, so a revoke holds from the next message on. The
// operations are send_as.grant|revoke|list (ops/routing_ops.cc).
//
// Trusts: nothing on the command line (every address goes through
// common/address.h); the admin role for the change and its change-log row.
#include <sysexits.h>

#include <algorithm>
#include <cstring>

#include "admin/rosterctl.h"
#include "common/units.h"

namespace roster {

int Rosterctl::SendAsList_(const Command&) {
  Json in = Json::object();
  if (args_.words.size() == 3) {
    auto a = SubscriptionAddress(args_.words[2]);
    if (!a) return Fail(a.error());
    in["who"] = *a;
  }
  auto limit = OptionalCount("limit");
  if (!limit) return Fail(limit.error());
  in["limit"] = std::min<uint64_t>(limit->value_or(1000), 100000);
  return RunList("send_as.list", in, "", [&](const Json& g) {
    return S(g, "address") + "  " + S(g, "login") + (B(g, "active") ? "" : "  (disabled: not an owner)") + "\n";
  });
}

// send-as grant|revoke ADDRESS LOGIN
int Rosterctl::SendAsChange_(const Command& c) {
  const bool grant = std::strcmp(c.verb, "grant") == 0;
  // ADDRESS: an address (its +ext form is a form of its own) or "@domain".
  auto address = SubscriptionAddress(args_.words[2]);
  if (!address) return Fail(address.error());
  auto login = MailboxAddress(args_.words[3]);
  if (!login) return Fail(login.error());
  Json in = {{"address", *address}, {"login", login->Mailbox()}};
  return RunOp(grant ? "send_as.grant" : "send_as.revoke", in, [&](const Json&) {
    return std::string(grant ? "granted: " : "revoked: ") + login->Mailbox() +
           (grant ? " may send as " : " may no longer send as ") + *address + "\n";
  });
}

}  // namespace roster
