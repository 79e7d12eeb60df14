// import.h: `rosterctl import seed003`: moves the accounts of the system roster
// replaces (seed 003: MySQL tables `domain`, `user` and `subscription` read by
// Postfix's mysql: maps and Dovecot's sql driver) into roster's schema.
//
// Every row goes through AdminStore, as `rosterctl domain|mailbox|sub add` would
// (the same checks, the change log), keeping password hashes, limits, usage
// counters, active flags, names, departments and subscriptions. A row that
// roster cannot take is skipped and reported with its reason, never changed
// into something else; a row that exists already is left as it is, so an
// import that was cut off can simply be run again.
//
// Trusts: nothing in the source tables (they are parsed like any input); the
// caller to have checked the source database's name (CheckSqlName).
#ifndef ROSTER_ADMIN_IMPORT_H
#define ROSTER_ADMIN_IMPORT_H

#include <cstdint>
#include <string>
#include <vector>

#include "common/admin_store.h"
#include "common/db.h"
#include "common/result.h"

namespace roster {

struct ImportReport {
  struct Item {
    std::string kind;    // "domain", "mailbox", "subscription"
    std::string object;  // the row as the source names it
    std::string reason;
  };
  uint64_t domains = 0, mailboxes = 0, subscriptions = 0;
  std::vector<Item> skipped;   // not imported
  std::vector<Item> warnings;  // imported, with something the administrator must do
};

// Reads `source_db`'s seed-003 tables through `source` (a connection that may
// read them; the rows are read a page at a time) and writes through `target`.
Result<ImportReport> ImportSeed003(Db& source, const std::string& source_db, AdminStore& target, const Actor& actor);

}  // namespace roster

#endif
