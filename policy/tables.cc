// tables.cc: Postfix's lookup tables over socketmap (see service.h and
// doc/postfix.md), sender_logins (smtpd_sender_login_maps) among them. Postfix does not split socketmap keys as it does for
// hash: or mysql: tables, so each table handles "user+ext@domain" and
// "@domain" itself, with the meaning of doc/postfix-mysql-maps/README.md.
// A key is read as Postfix reads the address: one dot at the end of its
// domain does not count (recipients.h, WithoutRootDot).
#include <algorithm>
#include <set>
#include <string>

#include "common/address.h"
#include "common/text.h"
#include "policy/service.h"

namespace roster {
namespace {

const char kNotFound[] = "NOTFOUND ";

std::string Joined(const std::vector<std::string>& list) {
  std::string out;
  for (const std::string& s : list) out += (out.empty() ? "" : ",") + s;
  return out;
}

// Postfix refuses socketmap answers over 100000 bytes; a list that long is
// a configuration problem to log, not mail to lose.
constexpr size_t kMaxAnswer = 99000;

std::string Ok(const std::string& value) {
  if (value.empty()) return kNotFound;
  if (value.size() > kMaxAnswer) return "TEMP answer longer than Postfix accepts";
  return "OK " + value;
}

// What a failure tells Postfix: it defers and retries; the reason is logged.
std::string Temp(const Error& e, std::string_view table, std::string_view key, std::string* log) {
  *log = "table " + std::string(table) + " key " + Shown(key) + ": " + e.message;
  return e.kind == ErrorKind::kTemporary ? "TEMP database unavailable" : "TEMP lookup failed (see the log)";
}

}  // namespace

std::string Service::AnswerSocketmap(std::string_view query, std::string* log) {
  try {
    size_t space = query.find(' ');
    if (space == std::string_view::npos || space == 0) return "PERM request is not \"name key\"";
    std::unique_ptr<DbPool::Lease> lease;
    std::string_view name = query.substr(0, space), key = query.substr(space + 1);
    static const char* const kTables[] = {"domains", "mailboxes", "aliases", "recipient_bcc", "sender_bcc",
                                          "transport", "sender_logins"};
    bool known = false;
    for (const char* t : kTables) known = known || name == t;
    if (!known) return "PERM unknown table " + Shown(name);
    if (key.empty()) return kNotFound;
    PolicyStore store = StoreOf(&lease);
    if (name == "sender_logins") return SenderLogins(key, store, log);
    return Table(name, key, store, log);
  } catch (const std::exception& e) {
    *log = std::string("internal error: ") + e.what();
    return "TEMP internal error";
  } catch (...) {
    *log = "internal error";
    return "TEMP internal error";
  }
}

std::string Service::Table(std::string_view name, std::string_view key, PolicyStore& store, std::string* log) {
  // Keys without '@': domain names (domains, transport).
  if (key.find('@') == std::string_view::npos) {
    if (name != "domains" && name != "transport") return kNotFound;
    auto domain = ParseDomain(WithoutRootDot(key));
    if (!domain) return kNotFound;
    auto found = store.FindRecipient(*domain, {});
    if (!found) return Temp(found.error(), name, key, log);
    if (!found->domain_exists) return kNotFound;
    if (name == "domains") return found->domain_active ? Ok(*domain) : kNotFound;
    return Ok(found->domain_transport);
  }

  if (name == "aliases") {
    // "@domain": the catch-all.
    if (key.front() == '@') {
      auto domain = ParseDomain(WithoutRootDot(key.substr(1)));
      if (!domain) return kNotFound;
      auto found = store.FindRecipient(*domain, {});
      if (!found) return Temp(found.error(), name, key, log);
      if (!found->domain_exists || !found->domain_active) return kNotFound;
      auto subs = store.FindSubscribers({"@" + *domain}, 'I');
      if (!subs) return Temp(subs.error(), name, key, log);
      return Ok(Joined(subs->front()));
    }
    // The list address of a BCC answer: all the subscribers.
    if (auto list = ParseBccListAddress(key)) {
      auto subs = store.FindSubscribers({list->first}, list->second);
      if (!subs) return Temp(subs.error(), name, key, log);
      return Ok(Joined(subs->front()));
    }
  }

  auto keys = KeysOf(key, settings_.address_options);
  if (!keys) return kNotFound;
  const std::string& domain = keys->address.domain;
  auto found = store.FindRecipient(domain, keys->keys);
  if (!found) return Temp(found.error(), name, key, log);
  if (!found->domain_exists) return kNotFound;
  const std::optional<MailboxState>& mailbox = found->mailbox;
  bool active_mailbox = found->domain_active && mailbox && mailbox->active && mailbox->domain_active;

  if (name == "transport") {
    // Seed 004's units: on the MX, a mailbox of a unit goes to that unit; on
    // a unit, its own mailboxes are delivered here (":" = the default
    // transport of their address class) and all others go to the MX. Any
    // other address takes its domain's transport.
    if (mailbox && settings_.unit.empty() && !mailbox->unit.empty()) {
      if (!mailbox->unit_transport.empty()) return Ok(mailbox->unit_transport);
      if (!mailbox->unit_host.empty()) return Ok("smtp:[" + mailbox->unit_host + "]");
      // Delivering here mail that belongs on a unit would hide it: defer.
      *log = "transport: mailbox " + Shown(mailbox->key) + " is on unit " + Shown(mailbox->unit) +
             ", which has neither transport nor host in the unit table";
      return "TEMP unit without a route";
    }
    if (mailbox && !settings_.unit.empty()) {
      if (mailbox->unit == settings_.unit) return Ok(":");
      if (settings_.unit_mx_transport.empty()) {
        *log = "transport: mailbox " + Shown(mailbox->key) + " is not on this unit and unit_mx_transport is empty";
        return "TEMP no route to the MX";
      }
      return Ok(settings_.unit_mx_transport);
    }
    return Ok(found->domain_transport);
  }
  if (!found->domain_active) return kNotFound;
  if (name == "domains") return kNotFound;
  if (name == "mailboxes") {
    if (!active_mailbox) return kNotFound;
    // The answer is a path: a name written around roster's checks is not
    // followed; Postfix defers the mail until an administrator mends it.
    if (Status safe = CheckMailboxPathName(mailbox->key); !safe) {
      *log = "table mailboxes key " + Shown(key) + ": " + safe.error().message;
      return "TEMP mailbox name unusable as a path";
    }
    return Ok(MaildirPathOf(mailbox->key));
  }
  if (name == "recipient_bcc" || name == "sender_bcc") {
    if (!active_mailbox) return kNotFound;
    char direction = name == "recipient_bcc" ? 'I' : 'O';
    auto subs = store.FindSubscribers({mailbox->key}, direction);
    if (!subs) return Temp(subs.error(), name, key, log);
    return subs->front().empty() ? kNotFound : Ok(BccListAddress(mailbox->key, direction));
  }
  // aliases: an active mailbox is itself (with its extension), so no
  // catch-all takes its mail; otherwise its subscribers, else the catch-all.
  if (active_mailbox) {
    if (mailbox->key == AsciiLower(keys->full) || keys->address.delimiter == 0) return Ok(mailbox->key);
    size_t at = mailbox->key.rfind('@');
    return Ok(mailbox->key.substr(0, at) + keys->address.delimiter + keys->address.extension +
              mailbox->key.substr(at));
  }
  auto own = store.FindSubscribers(keys->keys, 'I');
  if (!own) return Temp(own.error(), name, key, log);
  for (const auto& list : *own)
    if (!list.empty()) return Ok(Joined(list));
  auto catch_all = store.FindSubscribers({"@" + domain}, 'I');
  if (!catch_all) return Temp(catch_all.error(), name, key, log);
  return Ok(Joined(catch_all->front()));
}

// ---------------------------------------------------------------- sender_logins

// Postfix's smtpd_sender_login_maps asks with the envelope sender as its
// trivial-rewrite resolved it ("user+ext@domain", never "<>": Postfix skips
// the check for the null sender) and reads the answer as logins separated by
// commas or spaces, compared with the SASL login case-insensitively. A
// socketmap table gets only that whole address (Postfix tries "user@domain"
// and "@domain" only on tables with fixed keys), so the owners of all three
// forms are answered at once: the mailbox the address names (with or without
// its +ext, as delivery finds it), the mailboxes granted any of the three
// forms (rosterctl send-as), and, with policy_sender_login_alias_members, the
// mailboxes an alias delivers to. An address nobody owns is NOTFOUND, and so
// is one that does not parse (quoted local parts, 8-bit that is not UTF-8,
// over-long): Postfix then refuses it to a logged-in client.
std::string Service::SenderLogins(std::string_view key, PolicyStore& store, std::string* log) {
  const std::string_view name = "sender_logins";
  if (key.front() == '@' || key.find('@') == std::string_view::npos) return kNotFound;
  auto keys = KeysOf(key, settings_.address_options);
  if (!keys) return kNotFound;
  std::vector<std::string> grant_keys = keys->keys;
  grant_keys.push_back("@" + keys->address.domain);
  auto owners = store.FindOwners(keys->keys, grant_keys);
  if (!owners) return Temp(owners.error(), name, key, log);
  std::vector<std::string> logins;
  if (owners->mailbox) logins.push_back(*owners->mailbox);
  logins.insert(logins.end(), owners->granted.begin(), owners->granted.end());
  // A mailbox's own address is never an alias: who gets copies of its mail
  // (a forward) does not become its sender.
  if (settings_.sender_login_alias_members && !owners->mailbox) {
    auto members = AliasMembers(store, *keys, log);
    if (!members) return Temp(members.error(), name, key, log);
    auto stored = store.StoredAddresses(*members);
    if (!stored) return Temp(stored.error(), name, key, log);
    logins.insert(logins.end(), stored->begin(), stored->end());
  }
  std::vector<std::string> unique;
  std::set<std::string> seen;
  for (const std::string& login : logins)
    if (seen.insert(AsciiLower(login)).second) unique.push_back(login);
  std::string answer = Ok(Joined(unique));
  if (StartsWith(answer, "TEMP")) *log = "table sender_logins key " + Shown(key) + ": answer too long";
  return answer;
}

Result<std::vector<std::string>> Service::AliasMembers(PolicyStore& store, const RecipientKeys& keys,
                                                       std::string* log) {
  std::vector<std::string> members;
  auto found = store.FindRecipient(keys.address.domain, {});
  if (!found) return found.error();
  if (!found->domain_exists || !found->domain_active) return members;
  // As the quota check follows aliases (decide.cc), but never into a
  // catch-all: that an address reaches someone does not make it theirs.
  auto walk = WalkAlias(store, keys, /*catch_alls=*/false);
  if (!walk) return walk.error();
  if (walk->cut)
    *log = "table sender_logins key " + Shown(keys.full) + ": alias members past " +
           std::to_string(kMaxAliasDepth) + " levels or " + std::to_string(kMaxAliasTargets) +
           " addresses are not owners";
  for (const MailboxState& m : walk->mailboxes) members.push_back(m.key);
  return members;
}

}  // namespace roster
