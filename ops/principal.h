// principal.h: who asks the administration layer (ops/operations.h) to do
// something, and who is written to the change log for it.
//
// A Principal is what an authorization decision is made about: the mail
// administrator (everything), a domain administrator (a set of domains), a
// group administrator (one department of one domain: the mailbox's
// `department` column), a mailbox user (their own account), each optionally
// narrowed further by an API key (read-only, and/or limited to domains); or
// nobody signed in at all (kPublic: someone on the network, who may run only
// the few operations open to everyone, Audience kPublic: the password
// recovery's and the mailbox application's, each throttled).
// The Actor (common/store_types.h: name and origin, the client's address) is
// what the change log records; the caller sets both, having authenticated
// the principal (rosterctl: the local administrator; roster-apid: an admin
// account, an API key or a mailbox's password).
//
// Trusts: nothing; plain data. Domain names and addresses are expected in
// the form common/address.h gives (domains lower-case; a mailbox user's
// address is compared ASCII-case-insensitively, as lookup keys are).
#ifndef ROSTER_OPS_PRINCIPAL_H
#define ROSTER_OPS_PRINCIPAL_H

#include <optional>
#include <set>
#include <string>
#include <utility>

#include "common/store_types.h"

namespace roster::ops {

enum class PrincipalKind {
  kMailAdmin,    // everything
  kDomainAdmin,  // the mailboxes, subscriptions, app passwords, send-as grants of its domains
  kGroupAdmin,   // one department of one domain: passwords, enable/disable, usage, logins
  kMailboxUser,  // its own account
  kPublic,       // nobody signed in: only the operations of Audience kPublic
};

const char* PrincipalKindName(PrincipalKind kind);

// What an API key adds on top of its principal: it can only narrow.
struct ApiKeyScope {
  bool read_only = false;         // refuses every operation that changes something
  std::set<std::string> domains;  // non-empty: only objects in these domains
};

struct Principal {
  PrincipalKind kind = PrincipalKind::kMailboxUser;
  std::string name;               // for messages: the account, or the mailbox
  std::set<std::string> domains;  // kDomainAdmin: its domains (lower-case)
  std::string domain;             // kGroupAdmin: its domain
  std::string department;         // kGroupAdmin: its department (compared exactly)
  std::string mailbox;            // kMailboxUser: its address
  // The administrator account signed in (ops/authn.h: an account's password
  // or one of its API keys); "" for rosterctl's local administrator and for
  // mailbox users. What an administrator may do to its own account
  // (Audience kSelf: its password, TOTP, API keys) is decided by it.
  std::string account;
  std::optional<ApiKeyScope> api_key;

  static Principal MailAdmin(std::string name) {
    Principal p;
    p.kind = PrincipalKind::kMailAdmin;
    p.name = std::move(name);
    return p;
  }
  static Principal DomainAdmin(std::string name, std::set<std::string> domains) {
    Principal p;
    p.kind = PrincipalKind::kDomainAdmin;
    p.name = std::move(name);
    p.domains = std::move(domains);
    return p;
  }
  static Principal GroupAdmin(std::string name, std::string domain, std::string department) {
    Principal p;
    p.kind = PrincipalKind::kGroupAdmin;
    p.name = std::move(name);
    p.domain = std::move(domain);
    p.department = std::move(department);
    return p;
  }
  static Principal MailboxUser(std::string address) {
    Principal p;
    p.kind = PrincipalKind::kMailboxUser;
    p.name = address;
    p.mailbox = std::move(address);
    return p;
  }
  // Nobody signed in (roster-apid's open routes); `name` is what the change
  // log's actor says.
  static Principal Public() {
    Principal p;
    p.kind = PrincipalKind::kPublic;
    p.name = "public";
    return p;
  }
  // The same principal acting through an API key with `scope`.
  Principal WithApiKey(ApiKeyScope scope) const {
    Principal p = *this;
    p.api_key = std::move(scope);
    return p;
  }
};

}  // namespace roster::ops

#endif  // ROSTER_OPS_PRINCIPAL_H
