// db.h: the one SQL access layer. Wraps MySQL Connector/C++ so that no caller
// sees a driver type, builds every statement as a prepared statement (prepared
// once per connection, then reused), and turns every driver error into an
// Error whose kind says what the caller may answer:
//   kTemporary  server unreachable, connection lost, timeout, deadlock, lock
//               wait, too many connections, read-only replica -> "try later"
//   kConflict   duplicate key
//   kPermanent  anything else (access denied, unknown table, bad SQL)
// A "no row" answer is not an error here; callers turn an empty result into
// kNotFound where that is what it means (QueryOne, for a lookup by a unique
// key).
//
// Connections: hosts from db_hosts are tried in order (failover); a lost
// connection is dropped and the next call reconnects; a read that fails because
// the connection was lost is retried once on a fresh connection. A server that
// answers but will not run statements (a read-only replica: 1290, 1836; a
// Galera node outside the Primary Component: 1047, 1180) is left: kTemporary,
// and the next connect starts at the following host, so a statement it
// refused is retried once there at once.
//
// Replicated servers (Galera). A deadlock, or Galera's certification conflict
// with a write committed on another node (both 1213), rolled the statement
// back: an autocommit write is run again after a short random wait, up to
// kWriteAttempts in all, a read once, and Transaction reruns its body. A
// COMMIT that failed while being replicated (1180) may have been applied by
// the rest of the cluster: outcome_unknown, like a lost answer. With
// DbSettings::sync_wait (db_sync_wait) each session sets wsrep_sync_wait, so
// that its reads see every write the cluster committed before them.
//
// Writes and a server that went away (a restart, a failover, a killed
// connection). A write must be neither lost nor applied twice, so Db tells
// three outcomes apart:
//  - Not sent. The connection is pinged before a write when it has been idle
//    longer than db_idle_check (default 1s: a round trip at most once a
//    second per connection, so a connection that sat idle across a restart
//    is replaced before the write instead of failing it). MySQL's C client
//    (libmariadb 3.3, under Connector/C++ 1.1, which passes its error numbers
//    through) reports 2006 "Server has gone away" only when it could not write
//    the command, or had no connection to write it on (mthd_my_send_cmd), and
//    the server runs nothing until it has read a whole packet. Such a write,
//    and one the server refused with its own error while dropping the
//    connection (1053 shutdown, 1927 killed, 4031 idle: an error from the
//    server means the autocommit statement did not commit), is retried once on
//    a fresh connection. Over a unix socket a restarted server shows up as 2006
//    (the write fails with EPIPE), so these writes are never lost.
//  - Fate unknown. 2013 "Lost connection during query", 2055 and any other
//    client-side error after the command was written mean it may or may not
//    have run: over TCP the write to a dead peer succeeds and only the read
//    fails (2013), and a read timeout on a hung server gives the same 2013
//    while the server may still run it. The client cannot tell these apart,
//    so the error is kTemporary with outcome_unknown set. Execute never
//    retries it; ExecuteIdempotent (for statements that give the same result
//    when run twice, e.g. the last-login upsert) retries it once; a caller
//    whose write does not repeat safely (a counter increment) must record
//    that the result is unknown (accounts: the counter is set NULL, so
//    Dovecot recounts), never report it as done or as not done. (A NULL
//    counter absorbs the doubtful increment should the server run it late;
//    only a statement still in flight on a half-dead TCP connection that
//    arrives after Dovecot's recount could count twice. The old connection is
//    not killed: after a restart its id may name another connection.)
//  - Inside a transaction nothing is retried; a lost connection before COMMIT
//    rolls the transaction back (the server drops an uncommitted transaction
//    with its connection), so only a COMMIT can end with outcome_unknown.
// ExecuteEventually is for idempotent repairs that must not be dropped (the
// NULL of an unknown counter): run now, or kept and run before the next
// statement once the server is back (kept in this Db, so lost only if the
// process ends first).
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
#include <utility>
#include <variant>
#include <vector>

#include "common/result.h"

namespace roster {

class Config;

// Which role a piece connects as (see sql/roles.sql).
enum class DbRole { kAuth, kDict, kPolicy, kAdmin, kApi, kSetup };
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
  std::chrono::milliseconds idle_check{1000};
  int sync_wait = 0;  // Galera's wsrep_sync_wait for the session; 0: the server's own

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
  // A lookup that names at most one row (by a unique key): that row, or
  // kNotFound with `not_found` as its message when there is none. A second
  // row is a fault of the statement, kPermanent. Retried as Query is.
  Result<DbRow> QueryOne(std::string_view sql, const DbParams& params, std::string not_found);
  // INSERT/UPDATE/DELETE/DDL: affected rows. Retried once when the error
  // proves it did not run (see above); never after it may have run, and then
  // the error has outcome_unknown set.
  Result<uint64_t> Execute(std::string_view sql, const DbParams& params = {});
  // The same for a statement whose second run changes nothing more than its
  // first: also retried once after an unknown outcome (outside transactions).
  Result<uint64_t> ExecuteIdempotent(std::string_view sql, const DbParams& params = {});
  // An idempotent write that must happen: run as ExecuteIdempotent; if the
  // server cannot take it now (a temporary error), it is kept (at most
  // kMaxQueued, the same statement with the same parameters once) and run
  // before this Db's next statement. Returns the outcome of the first try.
  static constexpr size_t kMaxQueued = 4096;
  Status ExecuteEventually(std::string_view sql, const DbParams& params = {});
  // Writes kept by ExecuteEventually and not yet run.
  size_t queued() const { return queued_.size(); }
  // Hands rows to `each` one by one; `each` returns false to stop early. The
  // driver buffers a prepared statement's whole result (Connector/C++ 1.1 has
  // no cursor for them), so large listings page with keyset pagination.
  Status QueryEach(std::string_view sql, const DbParams& params, const std::function<bool(const DbRow&)>& each);
  // AUTO_INCREMENT id of the last INSERT on this connection; an error if that
  // connection was lost (never another connection's 0).
  Result<uint64_t> LastInsertId();

  // Runs `body` inside one transaction: committed if it returns Ok, rolled back
  // otherwise. A deadlock or certification conflict rolls back and reruns
  // `body` after a short random wait, and a server that refused it (read-only,
  // not Primary) reruns it on the next host, up to kTransactionAttempts in
  // all, so `body` must do nothing outside the database that cannot be
  // repeated. A COMMIT whose fate is unknown returns an error with
  // outcome_unknown, never rerun.
  static constexpr int kTransactionAttempts = 5;
  // Attempts of an autocommit write after deadlocks or certification conflicts.
  static constexpr int kWriteAttempts = 4;
  // Called inside another Transaction's body, `body` simply runs as part of
  // that transaction: its error is the outer body's to return (which rolls
  // back everything), and nothing is committed before the outer body ends.
  Status Transaction(const std::function<Status()>& body);

  // Connects if needed and checks the connection with a round trip.
  Status Ping();
  // "user@host" of the current connection, or "not connected".
  std::string Describe() const;
  const DbSettings& settings() const { return settings_; }
  bool in_transaction() const { return in_transaction_; }
  // Drops the connection and its prepared statements (tests; after a fork).
  void Disconnect();

 private:
  class Connection;
  Status EnsureConnected(bool check_idle);
  // EnsureConnected, then the queued writes (outside a transaction).
  Status Ready(bool check_idle);
  void RunQueued();
  // One attempt of a write; `retry` says whether a second one is safe.
  enum class Retry { kNo, kIfIdempotent, kYes };
  Result<uint64_t> ExecuteOnce(std::string_view sql, const DbParams& params, bool is_commit, Retry* retry);
  Result<uint64_t> ExecuteWrite(std::string_view sql, const DbParams& params, bool idempotent);
  Error Classify(const std::exception& e, std::string_view sql);

  DbSettings settings_;
  std::unique_ptr<Connection> conn_;
  size_t first_endpoint_ = 0;
  bool in_transaction_ = false;
  uint64_t connects_ = 0;  // connections made so far
  std::vector<std::pair<std::string, DbParams>> queued_;
};

}  // namespace roster

#endif
