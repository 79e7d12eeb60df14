// db.h: the one SQL access layer. Wraps MySQL Connector/C++ so that no caller
// sees a driver type, builds every statement as a prepared statement (prepared
// once per connection, then reused), and turns every driver error into an
// Error whose kind says what the caller may answer:
//   kTemporary  server unreachable, connection lost, timeout, deadlock, lock
//               wait, too many connections, read-only replica -> "try later"
//   kConflict   duplicate key
//   kPermanent  anything else (access denied, unknown table, bad SQL)
// A "no row" answer is not an error here; callers turn an empty result into
// kNotFound where that is what it means.
//
// Connections: hosts from db_hosts are tried in order (failover); a lost
// connection is dropped and the next call reconnects; a read that fails because
// the connection was lost is retried once on a fresh connection; a write is
// never retried blindly (it may have been applied), but a connection idle for
// db_idle_check is pinged first. A read-only server makes the next connect start
// at the following host.
//
// One Db object serves one thread at a time; pieces that run threads hold one
// Db per thread.
//
// Trusts: the configured servers to speak the MySQL protocol; parameters are
// always bound, never spliced into SQL text.
#ifndef ROSTER_COMMON_DB_H
#define ROSTER_COMMON_DB_H

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.h"

namespace roster {

class Config;

// Which role a piece connects as (see sql/roles.sql).
enum class DbRole { kAuth, kDict, kPolicy, kAdmin, kSetup };
const char* DbRoleName(DbRole role);

struct DbEndpoint {
  std::string socket;  // unix socket path, or empty for TCP
  std::string host;
  unsigned port = 3306;
  std::string Display() const;
};
Result<DbEndpoint> ParseDbEndpoint(std::string_view text);

struct DbSettings {
  std::vector<DbEndpoint> endpoints;
  std::string user;
  std::string password;
  std::string database;  // empty: connect without a default database
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds read_timeout{10000};
  std::chrono::milliseconds write_timeout{10000};
  std::chrono::milliseconds idle_check{30000};

  static Result<DbSettings> FromConfig(const Config& config, DbRole role);
};

using DbValue = std::variant<std::nullptr_t, int64_t, uint64_t, std::string>;
using DbParams = std::vector<DbValue>;

class DbRow {
 public:
  explicit DbRow(std::vector<std::optional<std::string>> columns) : columns_(std::move(columns)) {}
  size_t size() const { return columns_.size(); }
  bool IsNull(size_t i) const { return i >= columns_.size() || !columns_[i].has_value(); }
  // NULL reads as "" / 0.
  const std::string& String(size_t i) const;
  uint64_t Uint(size_t i) const;
  int64_t Int(size_t i) const;
  bool Bool(size_t i) const { return Int(i) != 0; }

 private:
  std::vector<std::optional<std::string>> columns_;
};

class Db {
 public:
  explicit Db(DbSettings settings);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // A SELECT (or anything returning rows). Retried once after a lost connection.
  Result<std::vector<DbRow>> Query(std::string_view sql, const DbParams& params = {});
  // INSERT/UPDATE/DELETE/DDL: affected rows. Never retried after it was sent.
  Result<uint64_t> Execute(std::string_view sql, const DbParams& params = {});
  // Hands rows to `each` one by one; `each` returns false to stop early. The
  // driver buffers a prepared statement's whole result (Connector/C++ 1.1 has
  // no cursor for them), so large listings page with keyset pagination.
  Status QueryEach(std::string_view sql, const DbParams& params, const std::function<bool(const DbRow&)>& each);
  // AUTO_INCREMENT id of the last INSERT on this connection.
  Result<uint64_t> LastInsertId();

  // Runs `body` inside one transaction: committed if it returns Ok, rolled back
  // otherwise. A deadlock rolls back and reruns `body` (up to 3 times), so
  // `body` must do nothing outside the database that cannot be repeated.
  Status Transaction(const std::function<Status()>& body);

  // Connects if needed and checks the connection with a round trip.
  Status Ping();
  // "user@host" of the current connection, or "not connected".
  std::string Describe() const;
  const DbSettings& settings() const { return settings_; }
  // Drops the connection and its prepared statements (tests; after a fork).
  void Disconnect();

 private:
  class Connection;
  Status EnsureConnected(bool check_idle);
  Error Classify(const std::exception& e, std::string_view sql);

  DbSettings settings_;
  std::unique_ptr<Connection> conn_;
  size_t first_endpoint_ = 0;
  bool in_transaction_ = false;
};

}  // namespace roster

#endif
