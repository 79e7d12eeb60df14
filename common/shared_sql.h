// shared_sql.h: statements both the dict role's store (common/usage_store)
// and the admin role's (common/admin_store) run, each written once: a
// mailbox's id, and a usage counter's set (Dovecot's quota dict; an import).
// Compiled into those two store libraries only (Makefile.am), never into the
// base. (The change-log write, which the policy and admin roles share, is
// common/change_log.)
//
// Trusts: the Db it is given; addresses normalised by the caller.
#ifndef ROSTER_COMMON_SHARED_SQL_H
#define ROSTER_COMMON_SHARED_SQL_H

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/db.h"
#include "common/result.h"
#include "common/store_types.h"

namespace roster {

// The id of the mailbox `address` names (compared with its lookup key);
// NotFound when there is none.
Result<uint64_t> MailboxIdOf(Db& db, std::string_view address);

// Sets the counter, creating the usage row if needed; nullopt makes it
// unknown (Dovecot's unset) and keeps the row and the account. NotFound when
// there is no such mailbox. Retried after a lost connection (idempotent).
Status SetUsageCounter(Db& db, std::string_view address, UsageCounter counter, std::optional<int64_t> value);

// The counter's column: one of two fixed names, never text from a caller.
const char* CounterColumn(UsageCounter counter);

}  // namespace roster

#endif
