// cmd_outbound.cc: `rosterctl outbound`: a mailbox's outbound limits and
// counts, a domain's defaults, and the suspension of a mailbox's sending by
// the circuit breaker (roster-policyd) or by hand: why, and lifting it.
// Every change writes the change log in its transaction (common/outbound_admin.h).
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
#include "common/outbound_admin.h"
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

Result<OutboundLimitChange> ChangeFrom(const Args& args, bool domain) {
  OutboundLimitChange c;
  std::optional<std::optional<uint64_t>>* fields[] = {&c.per_hour, &c.per_day, &c.rcpt_per_message, &c.rcpt_per_day};
  for (size_t i = 0; i < 4; ++i) {
    auto v = LimitOption(args, kLimitOptions[i], domain);
    if (!v) return v.error();
    *fields[i] = *v;
  }
  return c;
}

std::string Own(const std::optional<uint64_t>& v) { return v ? Limit(*v, false) : "(domain default)"; }

void LimitsJson(JsonWriter& j, const char* key, const OutboundLimits& l) {
  j.Key(key).BeginObject();
  const std::pair<const char*, const std::optional<uint64_t>*> fields[] = {
      {"per_hour", &l.per_hour}, {"per_day", &l.per_day},
      {"rcpt_per_message", &l.rcpt_per_message}, {"rcpt_per_day", &l.rcpt_per_day}};
  for (const auto& [name, value] : fields) {
    j.Key(name);
    if (*value) j.Uint(**value);
    else j.Null();
  }
  j.EndObject();
}

}  // namespace

int Rosterctl::Outbound_() {
  if (args_.words.size() < 2) {
    usage_error_ = "missing outbound command";
    return EX_USAGE;
  }
  const std::string sub = args_.words[1];
  auto with = [&](const std::function<Status(OutboundAdmin&)>& body) {
    return WithStore([&](AdminStore& a) -> Status {
      OutboundAdmin o(a.db());
      return body(o);
    });
  };

  if (sub == "suspended") {
    AllowOnly({});
    if (!ExpectWords(2, 2) || !usage_error_.empty()) return EX_USAGE;
    return with([&](OutboundAdmin& o) -> Status {
      auto list = o.ListSuspended();
      if (!list) return list.error();
      JsonWriter j;
      j.BeginArray();
      char line[800];
      std::snprintf(line, sizeof line, "%-40s %-19s %s\n", "ADDRESS", "SUSPENDED (UTC)", "REASON");
      std::string text = line;
      for (const SuspendedMailbox& s : *list) {
        j.BeginObject().Field("address", s.address).Field("suspended_at", s.suspended_at);
        j.Field("reason", s.reason).EndObject();
        std::snprintf(line, sizeof line, "%-40s %-19s %s\n", s.address.c_str(), TextTime(s.suspended_at).c_str(),
                      s.reason.c_str());
        text += line;
      }
      j.EndArray();
      Emit(j, text);
      return Status::Ok();
    });
  }

  if (sub == "defaults") {
    AllowOnly({"per-hour", "per-day", "rcpt-per-message", "rcpt-per-day"});
    if (!ExpectWords(3, 3) || !usage_error_.empty()) return EX_USAGE;
    auto domain = ParseDomain(args_.words[2]);
    if (!domain) return Fail(domain.error());
    auto change = ChangeFrom(args_, true);
    if (!change) return Fail(change.error());
    return with([&](OutboundAdmin& o) -> Status {
      if (!change->empty()) ROSTER_TRY(o.SetDomainDefaults(*domain, *change, actor_));
      auto d = o.DomainDefaults(*domain);
      if (!d) return d.error();
      JsonWriter j;
      j.BeginObject().Field("domain", *domain);
      LimitsJson(j, "defaults", *d);
      j.EndObject();
      Emit(j, std::string(change->empty() ? "" : "changed ") + "outbound defaults of " + *domain +
                  "\nmessages per hour:      " + Limit(*d->per_hour, false) +
                  "\nmessages per day:       " + Limit(*d->per_day, false) +
                  "\nrecipients per message: " + Limit(*d->rcpt_per_message, false) +
                  "\nrecipients per day:     " + Limit(*d->rcpt_per_day, false) + "\n");
      return Status::Ok();
    });
  }

  if (sub != "show" && sub != "set" && sub != "suspend" && sub != "lift") {
    usage_error_ = "unknown outbound command '" + sub + "'";
    return EX_USAGE;
  }
  if (sub == "set") AllowOnly({"per-hour", "per-day", "rcpt-per-message", "rcpt-per-day"});
  else if (sub == "suspend") AllowOnly({"reason"});
  else AllowOnly({});
  if (!ExpectWords(3, 3) || !usage_error_.empty()) return EX_USAGE;
  auto address = MailboxAddress(args_.words[2]);
  if (!address) return Fail(address.error());
  const std::string mailbox = address->Mailbox();

  if (sub == "set") {
    auto change = ChangeFrom(args_, false);
    if (!change) return Fail(change.error());
    if (change->empty()) {
      usage_error_ = "give --per-hour, --per-day, --rcpt-per-message or --rcpt-per-day (N or default)";
      return EX_USAGE;
    }
    return with([&](OutboundAdmin& o) -> Status {
      ROSTER_TRY(o.SetMailboxLimits(mailbox, *change, actor_));
      JsonWriter j;
      j.BeginObject().Field("mailbox", mailbox).Field("changed", true).EndObject();
      Emit(j, "changed outbound limits of " + mailbox + "\n");
      return Status::Ok();
    });
  }
  if (sub == "suspend") {
    std::string reason;
    if (const std::string* r = args_.Option("reason")) {
      auto checked = CheckText(*r, "--reason", 255);
      if (!checked) return Fail(checked.error());
      reason = *checked;
    }
    return with([&](OutboundAdmin& o) -> Status {
      ROSTER_TRY(o.Suspend(mailbox, reason, actor_));
      JsonWriter j;
      j.BeginObject().Field("mailbox", mailbox).Field("suspended", true).EndObject();
      Emit(j, "suspended the sending of " + mailbox + "\n");
      return Status::Ok();
    });
  }
  if (sub == "lift") {
    return with([&](OutboundAdmin& o) -> Status {
      ROSTER_TRY(o.Lift(mailbox, actor_));
      JsonWriter j;
      j.BeginObject().Field("mailbox", mailbox).Field("suspended", false).EndObject();
      Emit(j, "lifted the suspension of " + mailbox + "'s sending\n");
      return Status::Ok();
    });
  }
  // show
  return with([&](OutboundAdmin& o) -> Status {
    auto s = o.Show(mailbox);
    if (!s) return s.error();
    JsonWriter j;
    j.BeginObject().Field("address", s->address);
    LimitsJson(j, "own", s->own);
    LimitsJson(j, "effective", s->effective);
    j.Key("this_hour").BeginObject().Field("messages", s->hour_messages).Field("attempts", s->hour_attempts);
    j.EndObject();
    j.Key("today").BeginObject().Field("messages", s->day_messages).Field("recipients", s->day_recipients);
    j.EndObject();
    j.Field("suspended", !s->suspended_at.empty());
    j.Key("suspended_at");
    if (s->suspended_at.empty()) j.Null();
    else j.String(s->suspended_at);
    j.Field("suspended_reason", s->suspended_reason).EndObject();
    std::string text =
        "mailbox:                " + s->address +
        "\nmessages per hour:      " + Limit(*s->effective.per_hour, false) + "   own: " + Own(s->own.per_hour) +
        "\nmessages per day:       " + Limit(*s->effective.per_day, false) + "   own: " + Own(s->own.per_day) +
        "\nrecipients per message: " + Limit(*s->effective.rcpt_per_message, false) +
        "   own: " + Own(s->own.rcpt_per_message) +
        "\nrecipients per day:     " + Limit(*s->effective.rcpt_per_day, false) + "   own: " + Own(s->own.rcpt_per_day) +
        "\nthis UTC hour:          " + std::to_string(s->hour_messages) + " sent, " +
        std::to_string(s->hour_attempts) + " tried" +
        "\ntoday (UTC):            " + std::to_string(s->day_messages) + " sent, " +
        std::to_string(s->day_recipients) + " recipients" +
        "\nsending:                " +
        (s->suspended_at.empty() ? std::string("allowed")
                                 : "SUSPENDED since " + TextTime(s->suspended_at) + " UTC: " + s->suspended_reason) +
        "\n";
    Emit(j, text);
    return Status::Ok();
  });
}

}  // namespace roster
