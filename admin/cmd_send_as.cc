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

#include "admin/rosterctl.h"
#include "common/units.h"

namespace roster {

int Rosterctl::SendAs_() {
  if (args_.words.size() < 2) {
    usage_error_ = "missing send-as command";
    return EX_USAGE;
  }
  const std::string sub = args_.words[1];
  if (sub == "list") {
    AllowOnly({"limit"});
    if (!ExpectWords(2, 3) || !usage_error_.empty()) return EX_USAGE;
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
  if (sub != "grant" && sub != "revoke") {
    usage_error_ = "unknown send-as command '" + sub + "'";
    return EX_USAGE;
  }
  AllowOnly({});
  if (!ExpectWords(4, 4) || !usage_error_.empty()) return EX_USAGE;
  // ADDRESS: an address (its +ext form is a form of its own) or "@domain".
  auto address = SubscriptionAddress(args_.words[2]);
  if (!address) return Fail(address.error());
  auto login = MailboxAddress(args_.words[3]);
  if (!login) return Fail(login.error());
  Json in = {{"address", *address}, {"login", login->Mailbox()}};
  return RunOp(sub == "grant" ? "send_as.grant" : "send_as.revoke", in, [&](const Json&) {
    return std::string(sub == "grant" ? "granted: " : "revoked: ") + login->Mailbox() +
           (sub == "grant" ? " may send as " : " may no longer send as ") + *address + "\n";
  });
}

}  // namespace roster
