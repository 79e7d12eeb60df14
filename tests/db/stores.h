// stores.h: the role stores joined for the tests. The database tests drive
// every role's data access, often on one connection, as they did when one
// class held it all; each piece links only its own role's store
// (Makefile.am), the tests link all of them. Test code only.
//
// Trusts: the Db it is given; test code only.
#ifndef ROSTER_TESTS_DB_STORES_H
#define ROSTER_TESTS_DB_STORES_H

#include "common/admin_store.h"
#include "common/app_password_admin.h"
#include "common/login_store.h"
#include "common/outbound_admin.h"
#include "common/outbound_counter.h"
#include "common/policy_store.h"
#include "common/send_as_admin.h"
#include "common/usage_store.h"

namespace roster::test {

// Every method of the four role stores (SetUsageCounter is the same statement in both).
class Stores : public AdminStore, public LoginStore, public UsageStore, public PolicyStore {
 public:
  explicit Stores(Db& db) : AdminStore(db), LoginStore(db), UsageStore(db), PolicyStore(db) {}
  using UsageStore::SetUsageCounter;
};

// App passwords: the admin's side and the passdb's (history, last use).
class AppPasswordStores : public AppPasswordAdmin, public LoginStore {
 public:
  explicit AppPasswordStores(Db& db) : AppPasswordAdmin(db), LoginStore(db) {}
};

// Send-as: the admin's grants and the policy role's lookups.
class SendAsStores : public SendAsAdmin, public PolicyStore {
 public:
  explicit SendAsStores(Db& db) : SendAsAdmin(db), PolicyStore(db) {}
};

// Outbound limits: the admin's side and the policy role's counting.
class OutboundStores : public OutboundAdmin, public OutboundCounter {
 public:
  explicit OutboundStores(Db& db) : OutboundAdmin(db), OutboundCounter(db) {}
};

}  // namespace roster::test

#endif
