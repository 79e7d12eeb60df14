// cmd_unit.cc: `rosterctl unit` and `rosterctl mailbox unit`: the hosts of a
// distributed installation (seed 004) and which one holds each mailbox. The
// MX relays a mailbox's mail to its unit (roster-policyd's transport table,
// never cached) and the front end proxies its logins there (roster's passdb:
// proxy=y host=...), so a move takes effect at the next message and the next
// login; this run flushes the auth cache of the Dovecot on its own host (a
// front end elsewhere: doveadm auth cache flush, doc/scale-out.md). Stored
// mail is moved with Dovecot's dsync, not here. The operations are
// unit.set|del|list and mailbox.set_unit (ops/routing_ops.cc,
// ops/mailbox_ops.cc).
//
// Trusts: nothing on the command line (ops/ checks every name and host); the
// admin role for the change and its change-log row.
#include <sysexits.h>

#include <cstdio>
#include <cstring>

#include "admin/rosterctl.h"

namespace roster {

namespace {

std::string Port(uint64_t port) { return port == 0 ? "standard" : std::to_string(port); }

}  // namespace

// unit set NAME --host HOST [--transport T] [--imap-port N] [--pop3-port N]
int Rosterctl::UnitSet_(const Command&) {
  const std::string* host = args_.Option("host");
  if (host == nullptr) {
    usage_error_ = "unit set needs --host HOST (where the unit's logins are proxied)";
    return EX_USAGE;
  }
  Json in = {{"name", args_.words[2]}, {"host", *host}};
  if (const std::string* t = args_.Option("transport")) in["transport"] = *t;
  for (const char* option : {"imap-port", "pop3-port"}) {
    auto port = OptionalCount(option);
    if (!port) return Fail(port.error());
    if (*port) in[std::strcmp(option, "imap-port") == 0 ? "imap_port" : "pop3_port"] = **port;
  }
  return RunOp("unit.set", in, [&](const Json& u) {
    return std::string(B(u, "created") ? "added" : "changed") + " unit " + S(u, "name") + ": host " + S(u, "host") +
           ", transport " + (S(u, "transport").empty() ? "smtp:[" + S(u, "host") + "]" : S(u, "transport")) +
           ", IMAP port " + Port(U(u, "imap_port")) + ", POP3 port " + Port(U(u, "pop3_port")) + "\n";
  });
}

int Rosterctl::UnitDel_(const Command&) {
  return RunOp("unit.del", Json{{"name", args_.words[2]}},
               [&](const Json& r) { return "deleted unit " + S(r, "deleted") + "\n"; });
}

int Rosterctl::UnitList_(const Command&) {
  // Names are at most 64 bytes, hosts and transports 255: the columns fit the
  // usual ones and grow for the rest.
  char line[1024];
  const char* format = "%-16s %-30s %-40s %-9s %-9s %s\n";
  std::snprintf(line, sizeof line, format, "UNIT", "HOST", "TRANSPORT", "IMAP", "POP3", "MAILBOXES");
  return RunList("unit.list", Json::object(), line, [&](const Json& u) {
    std::string transport = S(u, "transport").empty() ? "smtp:[" + S(u, "host") + "]" : S(u, "transport");
    std::snprintf(line, sizeof line, format, S(u, "name").c_str(), S(u, "host").c_str(), transport.c_str(),
                  Port(U(u, "imap_port")).c_str(), Port(U(u, "pop3_port")).c_str(),
                  std::to_string(U(u, "mailboxes")).c_str());
    return std::string(line);
  });
}

// mailbox unit ADDRESS [UNIT]: no UNIT = none (every host serves it).
int Rosterctl::MailboxUnit_(const Command&) {
  auto mailbox = MailboxArgument();
  if (!mailbox) return Fail(mailbox.error());
  std::string unit = args_.words.size() > 3 ? args_.words[3] : "";
  return RunOp("mailbox.set_unit", Json{{"address", *mailbox}, {"unit", unit}}, [&](const Json&) {
    return *mailbox + " is now on " + (unit.empty() ? std::string("no unit (every host)") : "unit " + unit) +
           ": new mail and new logins go there once the front end's auth cache is flushed (doveadm auth cache "
           "flush " + *mailbox + ") and the MX's Postfix reloaded (postfix reload); move its stored mail with "
           "doveadm sync (doc/scale-out.md, section 7)\n";
  });
}

}  // namespace roster
