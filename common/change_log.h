// change_log.h: the change-log write, the one statement both the policy
// role (the outbound breaker's suspension, common/outbound_counter) and the
// admin role (every administration change, common/admin_store and its
// companions) run. Compiled into those two store libraries only
// (Makefile.am): the auth and dict pieces hold no change-log write.
//
// Trusts: the Db it is given; the texts are cut to their columns' sizes here.
#ifndef ROSTER_COMMON_CHANGE_LOG_H
#define ROSTER_COMMON_CHANGE_LOG_H

#include <string_view>

#include "common/db.h"
#include "common/result.h"
#include "common/store_types.h"

namespace roster {

// One change-log row (fields cut to their columns' sizes). In the caller's
// transaction when there is one.
Status WriteChangeLog(Db& db, const Actor& actor, std::string_view action, std::string_view object,
                      std::string_view detail);

}  // namespace roster

#endif
