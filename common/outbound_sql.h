// outbound_sql.h: the SQL fragments of the outbound limits (migration 007)
// that both the policy role's counting (common/outbound_counter.cc) and the
// admin role's display (common/outbound_admin.cc) put in their statements,
// each written once. Macros, so the statements stay string literals.
// Include it only from a .cc file.
//
// Trusts: nothing; text only.
#ifndef ROSTER_COMMON_OUTBOUND_SQL_H
#define ROSTER_COMMON_OUTBOUND_SQL_H

// The windows, on the database server's clock (UTC: common/db sets the
// session's time zone), so every daemon sharing it agrees.
#define ROSTER_HOUR "CAST(DATE_FORMAT(UTC_TIMESTAMP(), '%Y-%m-%d %H:00:00') AS DATETIME)"
#define ROSTER_DAY "UTC_DATE()"
// The counts of the current windows: a row of an earlier hour or day counts 0.
#define ROSTER_HM "IF(c.hour_start = " ROSTER_HOUR ", c.hour_messages, 0)"
#define ROSTER_HA "IF(c.hour_start = " ROSTER_HOUR ", c.hour_attempts, 0)"
#define ROSTER_DM "IF(c.day_start = " ROSTER_DAY ", c.day_messages, 0)"
#define ROSTER_DR "IF(c.day_start = " ROSTER_DAY ", c.day_recipients, 0)"
// Effective limits: the mailbox's own, else its domain's default.
#define ROSTER_LH "COALESCE(m.send_per_hour, d.default_send_per_hour)"
#define ROSTER_LD "COALESCE(m.send_per_day, d.default_send_per_day)"
#define ROSTER_LM "COALESCE(m.rcpt_per_message, d.default_rcpt_per_message)"
#define ROSTER_LRD "COALESCE(m.rcpt_per_day, d.default_rcpt_per_day)"
// The breaker's threshold (parameters: attempts, attempts, factor, factor):
// the lowest that applies, kNoThreshold when none does.
#define ROSTER_NONE "1000000000000000"
#define ROSTER_T \
  "LEAST(IF(? = 0, " ROSTER_NONE ", ?), IF(? = 0 OR " ROSTER_LH " = 0, " ROSTER_NONE ", ? * " ROSTER_LH "))"

#endif
