// outbound_counter.cc: see outbound_counter.h. The policy role's statements
// about the outbound counters and the breaker's suspension.
#include "common/outbound_counter.h"

#include <algorithm>

#include "common/change_log.h"
#include "common/outbound_sql.h"
#include "common/sql_batch.h"
#include "common/text.h"

namespace roster {

const char* OutboundVerdictName(OutboundVerdict v) {
  switch (v) {
    case OutboundVerdict::kAdmitted: return "admitted";
    case OutboundVerdict::kUnknownSender: return "unknown sender";
    case OutboundVerdict::kSuspended: return "suspended";
    case OutboundVerdict::kRecipientsPerMessage: return "recipients per message";
    case OutboundVerdict::kMessagesPerHour: return "messages per hour";
    case OutboundVerdict::kMessagesPerDay: return "messages per day";
    case OutboundVerdict::kRecipientsPerDay: return "recipients per day";
    case OutboundVerdict::kBreaker: return "circuit breaker";
  }
  return "?";
}

namespace {

constexpr uint64_t kNoThreshold = 1000000000000000ULL;
// The most recipients a message can have (Postfix's smtpd_recipient_limit is
// far lower); keeps the counters' sums in range whatever the client says.
constexpr uint64_t kMaxRecipients = 1000000;

// A mailbox's effective limits (0 = unlimited) and the breaker's threshold.
struct Limits {
  uint64_t per_message = 0, per_hour = 0, per_day = 0, rcpt_per_day = 0, threshold = kNoThreshold;
};
// A mailbox's counts in the current windows.
struct Counts {
  uint64_t hour_messages = 0, hour_attempts = 0, day_messages = 0, day_recipients = 0;
};

// The rules, for Count's explanation and CountBatch's decisions alike: the
// first limit that one more message of `n` recipients breaks, in this order,
// into d->verdict and d->limit; nothing changes when it breaks none. kAdmit
// below says the same in SQL, for the single statement of a lone check.
void ApplyLimits(const Limits& l, const Counts& c, uint64_t n, OutboundDecision* d) {
  auto refuse = [d](OutboundVerdict verdict, uint64_t limit) {
    d->verdict = verdict;
    d->limit = limit;
  };
  if (l.per_message > 0 && n > l.per_message)
    refuse(OutboundVerdict::kRecipientsPerMessage, l.per_message);
  else if (l.per_hour > 0 && c.hour_messages + 1 > l.per_hour)
    refuse(OutboundVerdict::kMessagesPerHour, l.per_hour);
  else if (l.per_day > 0 && c.day_messages + 1 > l.per_day)
    refuse(OutboundVerdict::kMessagesPerDay, l.per_day);
  else if (l.rcpt_per_day > 0 && c.day_recipients + n > l.rcpt_per_day)
    refuse(OutboundVerdict::kRecipientsPerDay, l.rcpt_per_day);
  else if (l.threshold < kNoThreshold && c.hour_attempts + 1 > l.threshold)
    refuse(OutboundVerdict::kBreaker, l.threshold);
}

// The admission: one statement, under the counter row's lock. Columns are
// assigned left to right and each expression reads only its own column and
// the window starts, which are assigned last, so it reads the row as it was
// (the same under SIMULTANEOUS_ASSIGNMENT). Parameters: recipients, key,
// recipients, recipients, attempts, attempts, factor, factor. It repeats
// ApplyLimits' rules in SQL on purpose: a lone check through CountBatch's
// transaction (five round trips instead of this one statement) took MariaDB
// twice the CPU per message and lowered one connection's rate by a quarter
// (policy-bench, section 9).
constexpr char kAdmit[] =
    "UPDATE outbound_counter c SET "
    "c.hour_messages = " ROSTER_HM " + 1, c.hour_attempts = " ROSTER_HA " + 1, "
    "c.day_messages = " ROSTER_DM " + 1, c.day_recipients = " ROSTER_DR " + ?, "
    "c.hour_start = " ROSTER_HOUR ", c.day_start = " ROSTER_DAY " "
    "WHERE c.mailbox_id = (SELECT id FROM mailbox WHERE lookup_key = LOWER(?)) AND ("
    "SELECT m.send_suspended_at IS NULL "
    "AND (" ROSTER_LM " = 0 OR ? <= " ROSTER_LM ") "
    "AND (" ROSTER_LH " = 0 OR " ROSTER_HM " + 1 <= " ROSTER_LH ") "
    "AND (" ROSTER_LD " = 0 OR " ROSTER_DM " + 1 <= " ROSTER_LD ") "
    "AND (" ROSTER_LRD " = 0 OR " ROSTER_DR " + ? <= " ROSTER_LRD ") "
    "AND " ROSTER_HA " + 1 <= " ROSTER_T " "
    "FROM mailbox m JOIN domain d ON d.id = m.domain_id WHERE m.id = c.mailbox_id)";

// Why a message was not admitted. Parameters: attempts, attempts, factor,
// factor, key.
constexpr char kExplain[] =
    "SELECT m.id, m.address, m.send_suspended_at IS NOT NULL, m.send_suspended_reason, "
    ROSTER_LM ", " ROSTER_LH ", " ROSTER_LD ", " ROSTER_LRD ", c.mailbox_id IS NOT NULL, "
    ROSTER_HM ", " ROSTER_HA ", " ROSTER_DM ", " ROSTER_DR ", " ROSTER_T " "
    "FROM mailbox m JOIN domain d ON d.id = m.domain_id LEFT JOIN outbound_counter c ON c.mailbox_id = m.id "
    "WHERE m.lookup_key = LOWER(?)";

// A refused message: an attempt, not a message sent.
constexpr char kAttempt[] =
    "UPDATE outbound_counter c SET c.hour_messages = " ROSTER_HM ", c.hour_attempts = " ROSTER_HA " + 1, "
    "c.day_messages = " ROSTER_DM ", c.day_recipients = " ROSTER_DR ", "
    "c.hour_start = " ROSTER_HOUR ", c.day_start = " ROSTER_DAY " WHERE c.mailbox_id = ?";

constexpr char kAttempts[] = "SELECT " ROSTER_HA " FROM outbound_counter c WHERE c.mailbox_id = ?";

constexpr char kNewCounter[] =
    "INSERT IGNORE INTO outbound_counter (mailbox_id, hour_start, day_start) VALUES (?, " ROSTER_HOUR ", " ROSTER_DAY
    ")";
}  // namespace

Result<OutboundDecision> OutboundCounter::Count(std::string_view key, uint64_t recipients, const BreakerRule& rule,
                                         const Actor& actor) {
  const std::string k(key);
  recipients = std::min(recipients, kMaxRecipients);
  const uint64_t e = rule.attempts, f = rule.factor;
  for (int round = 0; round < 3; ++round) {
    auto admitted = db_.Execute(kAdmit, {recipients, k, recipients, recipients, e, e, f, f});
    if (!admitted) return admitted.error();
    if (*admitted > 0) return OutboundDecision{};

    auto rows = db_.Query(kExplain, {e, e, f, f, k});
    if (!rows) return rows.error();
    OutboundDecision d;
    if (rows->empty()) {
      d.verdict = OutboundVerdict::kUnknownSender;
      return d;
    }
    const DbRow& r = rows->front();
    uint64_t id = r.Uint(0);
    d.address = r.String(1);
    if (r.Bool(2)) {
      d.verdict = OutboundVerdict::kSuspended;
      d.suspended_reason = r.String(3);
      return d;
    }
    if (!r.Bool(8)) {
      // The mailbox's first message: its counter row, then admit again.
      auto made = db_.Execute(kNewCounter, {id});
      if (!made) return made.error();
      continue;
    }
    const Limits limits{r.Uint(4), r.Uint(5), r.Uint(6), r.Uint(7), r.Uint(13)};
    const Counts counts{r.Uint(9), r.Uint(10), r.Uint(11), r.Uint(12)};
    ApplyLimits(limits, counts, recipients, &d);
    // None broken: the counts moved on meanwhile (a new window, a limit changed): ask again.
    if (d.verdict == OutboundVerdict::kAdmitted) continue;

    // Refused: an attempt, then the breaker.
    auto counted = db_.Execute(kAttempt, {id});
    if (!counted) return counted.error();
    auto now = db_.Query(kAttempts, {id});
    if (!now) return now.error();
    d.attempts = now->empty() ? counts.hour_attempts + 1 : now->front().Uint(0);
    ROSTER_TRY(MaybeTrip(id, limits.threshold, actor, &d));
    return d;
  }
  return Error::Temporary("the outbound counter of " + k + " kept changing under the request");
}

Status OutboundCounter::MaybeTrip(uint64_t id, uint64_t t, const Actor& actor, OutboundDecision* d) {
  if (t >= kNoThreshold || d->attempts <= t) return Status::Ok();
  std::string reason = "circuit breaker: " + std::to_string(d->attempts) +
                       " messages tried in this UTC hour, threshold " + std::to_string(t) + " (last refusal: " +
                       OutboundVerdictName(d->verdict) + ")";
  bool tripped = false;
  ROSTER_TRY(db_.Transaction([&]() -> Status {
    tripped = false;
    auto set = db_.Execute(
        "UPDATE mailbox SET send_suspended_at = UTC_TIMESTAMP(6), send_suspended_reason = ? "
        "WHERE id = ? AND send_suspended_at IS NULL",
        {reason, id});
    if (!set) return set.error();
    if (*set == 0) return Status::Ok();  // another request (or daemon) tripped it
    tripped = true;
    return WriteChangeLog(db_, actor, "send-suspend", d->address, reason);
  }));
  d->tripped = tripped;
  if (!tripped) {
    // Past the threshold but another request (or daemon) tripped it: suspended.
    d->verdict = OutboundVerdict::kSuspended;
    d->suspended_reason = "suspended at the same time by another request";
    return Status::Ok();
  }
  d->suspended_reason = reason;
  return Status::Ok();
}

namespace {

// A mailbox of a batch: its limits and state (read once, without locks),
// then its counter row (read and written under the row's lock).
struct BatchMailbox {
  uint64_t id = 0;
  std::string address;
  bool suspended = false;
  std::string suspended_reason;
  Limits limits;
  bool has_counter = false;
  Counts counts;
  bool changed = false;
};

}  // namespace

std::vector<Result<OutboundDecision>> OutboundCounter::CountBatch(const std::vector<OutboundCheck>& checks,
                                                           const BreakerRule& rule) {
  std::vector<Result<OutboundDecision>> out(checks.size(), Result<OutboundDecision>(OutboundDecision{}));
  if (checks.empty()) return out;
  if (checks.size() == 1 || checks.size() > kMaxBatch) {
    for (size_t i = 0; i < checks.size(); ++i)
      out[i] = Count(checks[i].key, checks[i].recipients, rule, checks[i].actor);
    return out;
  }
  const uint64_t e = rule.attempts, f = rule.factor;
  // The distinct keys, and the mailboxes they name (no lock: the limits and
  // the suspension as of now; the counts are read under lock below).
  std::vector<std::string> keys;
  for (const OutboundCheck& c : checks)
    if (std::find(keys.begin(), keys.end(), c.key) == keys.end()) keys.push_back(c.key);
  DbParams params{e, e, f, f};
  for (const std::string& k : keys) params.emplace_back(k);
  auto rows = db_.Query(
      "SELECT m.lookup_key, m.id, m.address, m.send_suspended_at IS NOT NULL, m.send_suspended_reason, "
      ROSTER_LM ", " ROSTER_LH ", " ROSTER_LD ", " ROSTER_LRD ", " ROSTER_T ", c.mailbox_id IS NOT NULL "
      "FROM mailbox m JOIN domain d ON d.id = m.domain_id LEFT JOIN outbound_counter c ON c.mailbox_id = m.id "
      "WHERE m.lookup_key IN (" + Placeholders(keys.size(), "LOWER(?)") + ")",
      params);
  if (!rows) {
    for (auto& o : out) o = rows.error();
    return out;
  }
  std::vector<BatchMailbox> mailboxes;
  for (const DbRow& r : *rows) {
    BatchMailbox b;
    b.id = r.Uint(1);
    b.address = r.String(2);
    b.suspended = r.Bool(3);
    b.suspended_reason = r.String(4);
    b.limits = Limits{r.Uint(5), r.Uint(6), r.Uint(7), r.Uint(8), r.Uint(9)};
    b.has_counter = r.Bool(10);
    mailboxes.push_back(std::move(b));
    // Matched below by lookup key; kept in the same order as `rows`.
  }
  // checks[i] -> its mailbox, or none (not matched: through Count).
  std::vector<int> of(checks.size(), -1);
  for (size_t i = 0; i < checks.size(); ++i) {
    std::string lower = AsciiLower(checks[i].key);
    for (size_t j = 0; j < rows->size(); ++j)
      if ((*rows)[j].String(0) == lower) of[i] = static_cast<int>(j);
  }

  std::vector<OutboundDecision> decided(checks.size());
  if (!mailboxes.empty()) {
    std::string ids = Placeholders(mailboxes.size(), "?");
    DbParams id_params;
    for (const BatchMailbox& b : mailboxes) id_params.emplace_back(b.id);
    Status st = db_.Transaction([&]() -> Status {
      // A rerun after a deadlock starts afresh.
      for (BatchMailbox& b : mailboxes) {
        b.counts = Counts{};
        b.changed = false;
      }
      std::string missing;
      DbParams missing_params;
      for (const BatchMailbox& b : mailboxes) {
        if (b.has_counter || b.suspended) continue;
        missing += std::string(missing.empty() ? "" : ", ") + "(?, " ROSTER_HOUR ", " ROSTER_DAY ")";
        missing_params.emplace_back(b.id);
      }
      if (!missing.empty()) {
        auto made = db_.Execute(
            "INSERT IGNORE INTO outbound_counter (mailbox_id, hour_start, day_start) VALUES " + missing,
            missing_params);
        if (!made) return made.error();
      }
      // The windows of now, as the database's clock says, and each row's
      // counts in them, under the rows' locks (in primary-key order).
      auto counters = db_.Query(
          "SELECT c.mailbox_id, " ROSTER_HM ", " ROSTER_HA ", " ROSTER_DM ", " ROSTER_DR ", "
          "CAST(" ROSTER_HOUR " AS CHAR), CAST(" ROSTER_DAY " AS CHAR) "
          "FROM outbound_counter c WHERE c.mailbox_id IN (" + ids + ") ORDER BY c.mailbox_id FOR UPDATE",
          id_params);
      if (!counters) return counters.error();
      std::string hour, day;
      for (const DbRow& r : *counters) {
        for (BatchMailbox& b : mailboxes) {
          if (b.id != r.Uint(0)) continue;
          b.has_counter = true;
          b.counts = Counts{r.Uint(1), r.Uint(2), r.Uint(3), r.Uint(4)};
        }
        hour = r.String(5);
        day = r.String(6);
      }
      // Decided in order, as Count would one after the other.
      for (size_t i = 0; i < checks.size(); ++i) {
        if (of[i] < 0) continue;
        BatchMailbox& b = mailboxes[of[i]];
        OutboundDecision& d = decided[i];
        d = OutboundDecision{};
        d.address = b.address;
        const uint64_t n = std::min(checks[i].recipients, kMaxRecipients);
        if (b.suspended) {
          d.verdict = OutboundVerdict::kSuspended;
          d.suspended_reason = b.suspended_reason;
          continue;
        }
        if (!b.has_counter) return Error::Temporary("the outbound counter of " + b.address + " vanished");
        ApplyLimits(b.limits, b.counts, n, &d);
        b.changed = true;
        b.counts.hour_attempts += 1;
        if (d.verdict == OutboundVerdict::kAdmitted) {
          b.counts.hour_messages += 1;
          b.counts.day_messages += 1;
          b.counts.day_recipients += n;
          d.address.clear();  // as Count: an admitted answer carries nothing
        } else {
          d.attempts = b.counts.hour_attempts;
        }
      }
      // One UPDATE of the rows that changed; each window restarts where it passed.
      std::string which;
      DbParams update{hour, day};
      std::string set[4];
      DbParams set_params[4];
      for (const BatchMailbox& b : mailboxes) {
        if (!b.changed) continue;
        which += std::string(which.empty() ? "" : ", ") + "?";
        const uint64_t v[4] = {b.counts.hour_messages, b.counts.hour_attempts, b.counts.day_messages,
                               b.counts.day_recipients};
        for (int c = 0; c < 4; ++c) {
          set[c] += " WHEN ? THEN ?";
          set_params[c].emplace_back(b.id);
          set_params[c].emplace_back(v[c]);
        }
      }
      if (which.empty()) return Status::Ok();
      for (int c = 0; c < 4; ++c) update.insert(update.end(), set_params[c].begin(), set_params[c].end());
      for (const BatchMailbox& b : mailboxes)
        if (b.changed) update.emplace_back(b.id);
      auto written = db_.Execute(
          "UPDATE outbound_counter SET hour_start = ?, day_start = ?, "
          "hour_messages = CASE mailbox_id" + set[0] + " END, hour_attempts = CASE mailbox_id" + set[1] +
          " END, day_messages = CASE mailbox_id" + set[2] + " END, day_recipients = CASE mailbox_id" + set[3] +
          " END WHERE mailbox_id IN (" + which + ")",
          update);
      if (!written) return written.error();
      return Status::Ok();
    });
    if (!st.ok()) {
      for (size_t i = 0; i < checks.size(); ++i)
        if (of[i] >= 0) out[i] = st.error();
      mailboxes.clear();
    }
  }
  for (size_t i = 0; i < checks.size(); ++i) {
    if (of[i] < 0) {
      // No mailbox matched (unknown, or a spelling LOWER() folds otherwise): one by one.
      out[i] = Count(checks[i].key, checks[i].recipients, rule, checks[i].actor);
      continue;
    }
    if (mailboxes.empty()) continue;  // the transaction failed: its error stands
    OutboundDecision& d = decided[i];
    const BatchMailbox& b = mailboxes[of[i]];
    if (d.verdict != OutboundVerdict::kAdmitted && d.verdict != OutboundVerdict::kSuspended) {
      Status tripped = MaybeTrip(b.id, b.limits.threshold, checks[i].actor, &d);
      if (!tripped.ok()) {
        out[i] = tripped.error();
        continue;
      }
    }
    out[i] = std::move(d);
  }
  return out;
}

}  // namespace roster
