// cmd_application.cc: rosterctl's mailbox applications (issue 15, migration
// 014): `application list [DOMAIN] [--state S]` and `application
// approve|reject ID`, on the operations of ops/application_ops.cc, as the
// mail administrator (each step in the change log with this run's actor).
// Approving creates the mailbox with the password the applicant chose.
//
// Trusts: nothing on the command line (the domain, the state and the id are
// checked here or by the operations before any statement); the command table
// has checked the options and the number of words.
#include <sysexits.h>

#include <cstdio>
#include <cstring>

#include "admin/rosterctl.h"

namespace roster {

int Rosterctl::ApplicationList_(const Command&) {
  Json in = Json::object();
  if (args_.words.size() == 3) {
    auto d = ParseDomain(args_.words[2]);
    if (!d) return Fail(d.error());
    in["domain"] = *d;
  }
  if (const std::string* state = args_.Option("state")) in["state"] = *state;
  char line[640];
  std::snprintf(line, sizeof line, "%-8s %-10s %-40s %-20s %-20s %s\n", "ID", "STATE", "ADDRESS", "SUBMITTED",
                "CLIENT", "NAME");
  return RunPages("application.list", in, line, [&](const Json& a) {
    std::snprintf(line, sizeof line, "%-8s %-10s %-40s %-20s %-20s %s\n", std::to_string(U(a, "id")).c_str(),
                  S(a, "state").c_str(), S(a, "address").c_str(), TextTime(S(a, "created_at")).c_str(),
                  S(a, "client").c_str(), S(a, "name").c_str());
    return std::string(line);
  });
}

int Rosterctl::ApplicationDecide_(const Command& c) {
  const bool approve = std::strcmp(c.verb, "approve") == 0;
  const std::string& id = args_.words[2];
  if (id.empty() || id.size() > 19 || id.find_first_not_of("0123456789") != std::string::npos) {
    usage_error_ = "ID must be an application's number (application list)";
    return EX_USAGE;
  }
  Json in = {{"id", std::stoull(id)}};
  return RunOp(approve ? "application.approve" : "application.reject", in, [&](const Json& r) {
    return (approve ? "approved application " + id + ": created mailbox " + S(r, "address")
                    : "rejected application " + id + " for " + S(r, "address")) +
           "\n";
  });
}

}  // namespace roster
