// cmd_outbound.cc: `rosterctl outbound`: a mailbox's outbound limits and
// counts, a domain's defaults, and the suspension of a mailbox's sending by
// the circuit breaker (roster-policyd) or by hand: why, and lifting it; on
// the outbound.* operations (ops/routing_ops.cc). Every change writes the
// change log in its transaction (common/outbound_admin.h).
// No change here alters a login's answer (the passdb never reads these
// columns), so Dovecot's auth cache is left alone.
//
// Trusts: nothing on the command line: addresses and domains go through
// common/address.h, numbers through common/units.h and the bounds of
// common/outbound_admin.h, the reason through CheckText.
#include <sysexits.h>

#include <cstdio>
#include <iostream>

#include "admin/rosterctl.h"
#include "common/store_types.h"
#include "common/units.h"

namespace roster {

namespace {

constexpr const char* kLimitOptions[] = {"per-hour", "per-day", "rcpt-per-message", "rcpt-per-day"};

// "default" (a mailbox only: its domain's), or a number 0..kMaxOutboundLimit.
Result<std::optional<std::optional<uint64_t>>> LimitOption(const Args& args, const char* name, bool domain) {
  const std::string* v = args.Option(name);
  if (!v) return std::optional<std::optional<uint64_t>>();
  if (*v == "default") {
    if (domain) return Error::Invalid("--" + std::string(name) + ": a domain's default is a number (0 = unlimited)");
    return std::optional<std::optional<uint64_t>>(std::optional<uint64_t>());
  }
  auto n = ParseCount(*v);
  if (!n) return Error::Invalid("--" + std::string(name) + ": " + n.error().message);
  if (*n > kMaxOutboundLimit)
    return Error::Invalid("--" + std::string(name) + ": at most " + std::to_string(kMaxOutboundLimit) +
                          " (0 = unlimited)");
  return std::optional<std::optional<uint64_t>>(std::optional<uint64_t>(*n));
}

// The options given, as the operation's input fields (null = "default").
Result<Json> ChangeFrom(const Args& args, bool domain, Json in) {
  const char* fields[] = {"per_hour", "per_day", "rcpt_per_message", "rcpt_per_day"};
  for (size_t i = 0; i < 4; ++i) {
    auto v = LimitOption(args, kLimitOptions[i], domain);
    if (!v) return v.error();
    if (*v) in[fields[i]] = **v ? Json(***v) : Json(nullptr);
  }
  return in;
}

std::string Own(const Json& v) { return v.is_null() ? "(domain default)" : Limit(v.get<uint64_t>(), false); }
std::string Effective(const Json& v) { return Limit(v.is_null() ? 0 : v.get<uint64_t>(), false); }

}  // namespace

int Rosterctl::OutboundSuspended_(const Command&) {
  char line[800];
  std::snprintf(line, sizeof line, "%-40s %-19s %s\n", "ADDRESS", "SUSPENDED (UTC)", "REASON");
  return RunList("outbound.suspended", Json::object(), line, [&](const Json& s) {
    std::snprintf(line, sizeof line, "%-40s %-19s %s\n", S(s, "address").c_str(),
                  TextTime(S(s, "suspended_at")).c_str(), S(s, "reason").c_str());
    return std::string(line);
  });
}

int Rosterctl::OutboundDefaults_(const Command&) {
  auto domain = ParseDomain(args_.words[2]);
  if (!domain) return Fail(domain.error());
  auto in = ChangeFrom(args_, true, Json{{"domain", *domain}});
  if (!in) return Fail(in.error());
  const bool change = in->size() > 1;
  return RunOp(change ? "outbound.set_defaults" : "outbound.defaults", *in, [&](const Json& j) {
    const Json& d = j["defaults"];
    return std::string(change ? "changed " : "") + "outbound defaults of " + *domain +
           "\nmessages per hour:      " + Effective(d["per_hour"]) +
           "\nmessages per day:       " + Effective(d["per_day"]) +
           "\nrecipients per message: " + Effective(d["rcpt_per_message"]) +
           "\nrecipients per day:     " + Effective(d["rcpt_per_day"]) + "\n";
  });
}

int Rosterctl::OutboundSet_(const Command&) {
  auto mailbox = MailboxArgument();
  if (!mailbox) return Fail(mailbox.error());
  auto change = ChangeFrom(args_, false, Json{{"address", *mailbox}});
  if (!change) return Fail(change.error());
  if (change->size() == 1) {
    usage_error_ = "give --per-hour, --per-day, --rcpt-per-message or --rcpt-per-day (N or default)";
    return EX_USAGE;
  }
  return RunOp("outbound.set", *change, [&](const Json&) { return "changed outbound limits of " + *mailbox + "\n"; });
}

int Rosterctl::OutboundSuspend_(const Command&) {
  auto mailbox = MailboxArgument();
  if (!mailbox) return Fail(mailbox.error());
  Json in = {{"address", *mailbox}};
  if (const std::string* r = args_.Option("reason")) {
    auto checked = CheckText(*r, "--reason", 255);
    if (!checked) return Fail(checked.error());
    in["reason"] = *checked;
  }
  return RunOp("outbound.suspend", in, [&](const Json&) { return "suspended the sending of " + *mailbox + "\n"; });
}

int Rosterctl::OutboundLift_(const Command&) {
  auto mailbox = MailboxArgument();
  if (!mailbox) return Fail(mailbox.error());
  return RunOp("outbound.lift", Json{{"address", *mailbox}},
               [&](const Json&) { return "lifted the suspension of " + *mailbox + "'s sending\n"; });
}

int Rosterctl::OutboundShow_(const Command&) {
  auto mailbox = MailboxArgument();
  if (!mailbox) return Fail(mailbox.error());
  return RunOp("outbound.show", Json{{"address", *mailbox}}, [&](const Json& s) {
    const Json &own = s["own"], &eff = s["effective"];
    std::string suspended_at = S(s, "suspended_at");
    return "mailbox:                " + S(s, "address") +
           "\nmessages per hour:      " + Effective(eff["per_hour"]) + "   own: " + Own(own["per_hour"]) +
           "\nmessages per day:       " + Effective(eff["per_day"]) + "   own: " + Own(own["per_day"]) +
           "\nrecipients per message: " + Effective(eff["rcpt_per_message"]) +
           "   own: " + Own(own["rcpt_per_message"]) +
           "\nrecipients per day:     " + Effective(eff["rcpt_per_day"]) + "   own: " + Own(own["rcpt_per_day"]) +
           "\nthis UTC hour:          " + std::to_string(U(s["this_hour"], "messages")) + " sent, " +
           std::to_string(U(s["this_hour"], "attempts")) + " tried" +
           "\ntoday (UTC):            " + std::to_string(U(s["today"], "messages")) + " sent, " +
           std::to_string(U(s["today"], "recipients")) + " recipients" +
           "\nsending:                " +
           (suspended_at.empty() ? std::string("allowed")
                                 : "SUSPENDED since " + TextTime(suspended_at) + " UTC: " + S(s, "suspended_reason")) +
           "\n";
  });
}

}  // namespace roster
