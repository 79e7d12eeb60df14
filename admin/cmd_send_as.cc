// cmd_send_as.cc: `rosterctl send-as`: which mailboxes may use an envelope
// sender besides its own mailbox (common/send_as_admin.h; roster-policyd answers
// them to Postfix's smtpd_sender_login_maps, doc/postfix.md). A grant changes
// no login's answer, so Dovecot's auth cache is left alone; roster-policyd
// caches none of it, so a revoke holds from the next message on.
//
// Trusts: nothing on the command line (every address goes through
// common/address.h); the admin role for the change and its change-log row.
#include <sysexits.h>

#include "admin/rosterctl.h"
#include "common/send_as_admin.h"
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
    std::string who;
    if (args_.words.size() == 3) {
      auto a = SubscriptionAddress(args_.words[2]);
      if (!a) return Fail(a.error());
      who = *a;
    }
    auto limit = OptionalCount("limit");
    if (!limit) return Fail(limit.error());
    return WithStore([&](AdminStore& accounts) -> Status {
      SendAsAdmin send_as(accounts.db());
      auto list = send_as.List(who, limit->value_or(1000));
      if (!list) return list.error();
      JsonWriter j;
      j.BeginArray();
      std::string text;
      for (const SendAsGrant& g : *list) {
        j.BeginObject().Field("address", g.address).Field("login", g.login).Field("active", g.login_active);
        j.Field("created", g.created_at).EndObject();
        text += g.address + "  " + g.login + (g.login_active ? "" : "  (disabled: not an owner)") + "\n";
      }
      j.EndArray();
      Emit(j, text);
      return Status::Ok();
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
  return WithStore([&](AdminStore& accounts) -> Status {
    SendAsAdmin send_as(accounts.db());
    ROSTER_TRY(sub == "grant" ? send_as.Grant(*address, login->Mailbox(), actor_)
                              : send_as.Revoke(*address, login->Mailbox(), actor_));
    JsonWriter j;
    j.BeginObject().Field(sub == "grant" ? "granted" : "revoked", *address).Field("login", login->Mailbox());
    j.EndObject();
    Emit(j, std::string(sub == "grant" ? "granted: " : "revoked: ") + login->Mailbox() +
                (sub == "grant" ? " may send as " : " may no longer send as ") + *address + "\n");
    return Status::Ok();
  });
}

}  // namespace roster
