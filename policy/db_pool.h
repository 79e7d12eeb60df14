// db_pool.h: the database connections of roster-policyd's threads. A thread
// borrows a connection for one request and gives it back; connections are
// made on first need and kept, so there are never more than threads that
// asked at once.
//
// Trusts: the Db layer (common/db.h) for everything about the connection.
#ifndef ROSTER_POLICY_DB_POOL_H
#define ROSTER_POLICY_DB_POOL_H

#include <memory>
#include <mutex>
#include <vector>

#include "common/db.h"

namespace roster {

class DbPool : public std::enable_shared_from_this<DbPool> {
 public:
  explicit DbPool(DbSettings settings) : settings_(std::move(settings)) {}

  // A borrowed connection; returned to its pool when destroyed (the pool
  // outlives it even if the configuration was reloaded meanwhile).
  class Lease {
   public:
    Lease(std::shared_ptr<DbPool> pool, std::unique_ptr<Db> db) : pool_(std::move(pool)), db_(std::move(db)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = default;
    ~Lease() {
      if (pool_ && db_) pool_->Return(std::move(db_));
    }
    Db& db() { return *db_; }

   private:
    std::shared_ptr<DbPool> pool_;
    std::unique_ptr<Db> db_;
  };

  Lease Acquire() {
    std::unique_ptr<Db> db;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!idle_.empty()) {
        db = std::move(idle_.back());
        idle_.pop_back();
      }
    }
    if (!db) db = std::make_unique<Db>(settings_);
    return Lease(shared_from_this(), std::move(db));
  }

 private:
  void Return(std::unique_ptr<Db> db) {
    std::lock_guard<std::mutex> lock(mu_);
    idle_.push_back(std::move(db));
  }

  const DbSettings settings_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Db>> idle_;
};

}  // namespace roster

#endif
