// db.cc: see db.h.
#include "common/db.h"

#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/resultset_metadata.h>
#include <mysql_connection.h>
#include <mysql_driver.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "common/config.h"
#include "common/units.h"

namespace roster {
namespace {

sql::mysql::MySQL_Driver* Driver() {
  // The driver singleton's first use is not thread-safe; make it so.
  static std::once_flag once;
  static sql::mysql::MySQL_Driver* driver = nullptr;
  std::call_once(once, [] { driver = sql::mysql::get_mysql_driver_instance(); });
  return driver;
}

int Seconds(std::chrono::milliseconds ms) {
  auto s = (ms.count() + 999) / 1000;
  return static_cast<int>(s < 1 ? 1 : (s > 3600 ? 3600 : s));
}

// MySQL/MariaDB error numbers after which the connection cannot be used again.
bool ConnectionIsGone(int code) {
  switch (code) {
    case 2002: case 2003: case 2006: case 2013: case 2055:  // client: cannot connect / gone / lost
    case 1053:  // server shutdown in progress
    case 1927:  // connection was killed
    case 4031:  // disconnected for inactivity
    case 1152: case 1153: case 1154: case 1155: case 1156: case 1157:
    case 1158: case 1159: case 1160: case 1161:  // network read/write errors
      return true;
    default:
      return false;
  }
}

// A server that answers but will not run our statements now: a read-only
// replica (1290, 1836), or a Galera node outside the Primary Component (1047
// "WSREP has not yet prepared node for application use", for every statement
// but SHOW and SET; 1180, a commit it could not replicate). The next
// connection starts at the following host of db_hosts.
bool ServerUnusable(int code) { return code == 1290 || code == 1836 || code == 1047 || code == 1180; }

// A COMMIT (or an autocommit statement) that failed while being replicated:
// Galera cannot say whether the rest of the cluster applied it.
bool CommitFateUnknown(int code) { return code == 1180; }

// The server rolled the statement back, and with it the transaction: a
// deadlock, or Galera's certification conflict with a write committed on
// another node (also 1213). Safe to run again.
bool RolledBack(int code) { return code == 1213; }

bool IsTemporary(int code) {
  if (ConnectionIsGone(code) || ServerUnusable(code)) return true;
  switch (code) {
    case 1040:  // too many connections
    case 1203:  // max_user_connections
    case 1205:  // lock wait timeout
    case 1213:  // deadlock
    case 1226:  // resource limit
    case 1317:  // query interrupted
    case 1969:  // statement timeout (MariaDB max_statement_time)
    case 3024:  // statement timeout (MySQL)
    case 2005:  // unknown host (DNS hiccup)
    case 2026:  // TLS error
    case 2000:  // unknown client error: connector's catch-all for connect failures
      return true;
    default:
      return false;
  }
}

}  // namespace

const char* DbRoleName(DbRole role) {
  switch (role) {
    case DbRole::kAuth: return "auth";
    case DbRole::kDict: return "dict";
    case DbRole::kPolicy: return "policy";
    case DbRole::kAdmin: return "admin";
    case DbRole::kApi: return "api";
    case DbRole::kSetup: return "setup";
  }
  return "unknown";
}

std::string DbEndpoint::Display() const {
  if (!socket.empty()) return socket;
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Result<DbEndpoint> ParseDbEndpoint(std::string_view text) {
  DbEndpoint e;
  if (text.empty() || text.size() > 512) return Error::Invalid("empty or overlong database host");
  if (text[0] == '/') {
    e.socket = std::string(text);
    return e;
  }
  std::string_view host = text, port;
  if (text[0] == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return Error::Invalid("database host '" + std::string(text) + "': missing ']'");
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return Error::Invalid("database host '" + std::string(text) + "': expected ':port'");
      port = rest.substr(1);
    }
  } else {
    auto colon = text.rfind(':');
    if (colon != std::string_view::npos) {
      host = text.substr(0, colon);
      port = text.substr(colon + 1);
    }
  }
  for (char c : host)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '_'))
      return Error::Invalid("database host '" + std::string(text) + "': invalid character");
  if (host.empty()) return Error::Invalid("database host '" + std::string(text) + "': empty host");
  e.host = std::string(host);
  if (!port.empty()) {
    auto p = ParseCount(port);
    if (!p || *p == 0 || *p > 65535) return Error::Invalid("database host '" + std::string(text) + "': invalid port");
    e.port = static_cast<unsigned>(*p);
  }
  return e;
}

Result<DbSettings> DbSettings::FromConfig(const Config& config, DbRole role) {
  DbSettings s;
  for (const std::string& h : config.GetList("db_hosts")) {
    auto e = ParseDbEndpoint(h);
    if (!e) return Error::Invalid(config.Origin("db_hosts") + ": " + e.error().message);
    s.endpoints.push_back(std::move(*e));
  }
  if (s.endpoints.empty()) return Error::Invalid("db_hosts is empty");
  std::string prefix = DbRoleName(role);
  s.user = config.GetString(prefix + "_db_user");
  s.password = config.GetString(prefix + "_db_password");
  if (s.user.empty()) return Error::Invalid(prefix + "_db_user is empty");
  s.database = role == DbRole::kSetup ? "" : config.GetString("db_name");
  s.connect_timeout = config.GetDuration("db_connect_timeout");
  s.read_timeout = config.GetDuration("db_read_timeout");
  s.write_timeout = config.GetDuration("db_write_timeout");
  s.idle_check = config.GetDuration("db_idle_check");
  int64_t sync_wait = config.GetInt("db_sync_wait");
  if (sync_wait < 0 || sync_wait > 15)
    return Error::Invalid(config.Origin("db_sync_wait") + ": db_sync_wait must be 0 to 15 (Galera's wsrep_sync_wait)");
  s.sync_wait = static_cast<int>(sync_wait);
  return s;
}

const std::string& DbRow::String(size_t i) const {
  static const std::string kEmpty;
  return IsNull(i) ? kEmpty : *columns_[i];
}

uint64_t DbRow::Uint(size_t i) const {
  auto r = ParseCount(String(i));
  return r ? *r : 0;
}

int64_t DbRow::Int(size_t i) const {
  auto r = ParseInt(String(i));
  return r ? *r : 0;
}

// One live server connection and the statements prepared on it.
class Db::Connection {
 public:
  Connection(std::unique_ptr<sql::Connection> conn, std::string where)
      : conn_(std::move(conn)), where_(std::move(where)), last_used_(std::chrono::steady_clock::now()) {}
  ~Connection() {
    statements_.clear();
    try {
      conn_->close();
    } catch (...) {
    }
  }

  sql::PreparedStatement* Prepare(std::string_view sql) {
    auto it = statements_.find(sql);
    if (it != statements_.end()) return it->second.get();
    std::unique_ptr<sql::PreparedStatement> ps(conn_->prepareStatement(sql::SQLString(sql.data(), sql.size())));
    sql::PreparedStatement* raw = ps.get();
    statements_.emplace(std::string(sql), std::move(ps));
    return raw;
  }

  sql::Connection& raw() { return *conn_; }
  const std::string& where() const { return where_; }
  std::chrono::steady_clock::time_point last_used() const { return last_used_; }
  void Touch() { last_used_ = std::chrono::steady_clock::now(); }

 private:
  std::unique_ptr<sql::Connection> conn_;
  std::map<std::string, std::unique_ptr<sql::PreparedStatement>, std::less<>> statements_;
  std::string where_;
  std::chrono::steady_clock::time_point last_used_;
};

Db::Db(DbSettings settings) : settings_(std::move(settings)) {}
Db::~Db() = default;

void Db::Disconnect() { conn_.reset(); }

std::string Db::Describe() const {
  if (!conn_) return "not connected";
  return settings_.user + "@" + conn_->where();
}

Status Db::EnsureConnected(bool check_idle) {
  // Reconnecting inside a transaction would run the rest of it outside one.
  if (!conn_ && in_transaction_) return Error::Temporary("connection lost inside a transaction");
  if (conn_ && check_idle && std::chrono::steady_clock::now() - conn_->last_used() > settings_.idle_check) {
    bool valid = false;
    try {
      valid = conn_->raw().isValid();
    } catch (...) {
    }
    if (!valid) conn_.reset();
  }
  if (conn_) return Status::Ok();
  std::string failures;
  bool all_temporary = true;
  int last_code = 0;
  size_t n = settings_.endpoints.size();
  for (size_t k = 0; k < n; ++k) {
    size_t index = (first_endpoint_ + k) % n;
    const DbEndpoint& ep = settings_.endpoints[index];
    sql::ConnectOptionsMap opts;
    if (!ep.socket.empty()) {
      opts["hostName"] = sql::SQLString("unix://" + ep.socket);
    } else {
      opts["hostName"] = sql::SQLString("tcp://" + ep.host + ":" + std::to_string(ep.port));
    }
    opts["userName"] = sql::SQLString(settings_.user);
    opts["password"] = sql::SQLString(settings_.password);
    if (!settings_.database.empty()) opts["schema"] = sql::SQLString(settings_.database);
    opts["OPT_CONNECT_TIMEOUT"] = Seconds(settings_.connect_timeout);
    opts["OPT_READ_TIMEOUT"] = Seconds(settings_.read_timeout);
    opts["OPT_WRITE_TIMEOUT"] = Seconds(settings_.write_timeout);
    opts["OPT_RECONNECT"] = false;  // a silent reconnect would lose prepared statements and transactions
    opts["OPT_CHARSET_NAME"] = sql::SQLString("utf8mb4");
    try {
      std::unique_ptr<sql::Connection> c(Driver()->connect(opts));
      auto conn = std::make_unique<Connection>(std::move(c), ep.Display());
      // Strict mode: an out-of-range or overlong value is an error, never truncated.
      // UTC: every timestamp roster writes or compares is in UTC.
      std::unique_ptr<sql::PreparedStatement> mode(conn->raw().prepareStatement(
          "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,NO_ZERO_DATE', time_zone = '+00:00'"));
      mode->execute();
      if (settings_.sync_wait > 0) {
        // Galera: reads wait until this node has applied every write the
        // cluster committed before them (doc/scale-out.md).
        std::unique_ptr<sql::PreparedStatement> wait(conn->raw().prepareStatement("SET SESSION wsrep_sync_wait = ?"));
        wait->setInt(1, settings_.sync_wait);
        wait->execute();
      }
      conn_ = std::move(conn);
      ++connects_;
      first_endpoint_ = index;
      return Status::Ok();
    } catch (const sql::SQLException& e) {
      int code = e.getErrorCode();
      if (!IsTemporary(code)) all_temporary = false;
      last_code = code;
      if (!failures.empty()) failures += "; ";
      failures += ep.Display() + ": " + e.what() + " (" + std::to_string(code) + ")";
    } catch (const std::exception& e) {
      all_temporary = false;
      if (!failures.empty()) failures += "; ";
      failures += ep.Display() + ": " + e.what();
    }
  }
  std::string msg = "cannot connect to the database as " + settings_.user + ": " + failures;
  // Access denied or an unknown database on every server is a configuration
  // fault; an unreachable server is temporary.
  Error err = all_temporary ? Error::Temporary(msg) : Error::Permanent(msg);
  err.db_code = last_code;
  return err;
}

Error Db::Classify(const std::exception& e, std::string_view sql) {
  std::string what = e.what();
  std::string statement(sql.substr(0, 80));
  const auto* se = dynamic_cast<const sql::SQLException*>(&e);
  if (se == nullptr) {
    conn_.reset();
    return Error::Permanent("database driver error: " + what + " [" + statement + "]");
  }
  int code = se->getErrorCode();
  std::string msg = what + " (" + std::to_string(code) + ") [" + statement + "]";
  Error err = Error::Permanent(msg);
  if (ConnectionIsGone(code)) {
    conn_.reset();
    err = Error::Temporary(msg);
  } else if (ServerUnusable(code)) {
    conn_.reset();
    first_endpoint_ = (first_endpoint_ + 1) % settings_.endpoints.size();
    err = Error::Temporary((code == 1290 || code == 1836 ? "server is read-only: " : "server is not ready (Galera: "
                            "not in the Primary Component?): ") + msg);
  } else if (code == 1062) {
    err = Error::Conflict(msg);
  } else if (IsTemporary(code)) {
    err = Error::Temporary(msg);
  }
  err.db_code = code;
  return err;
}

namespace {

void Bind(sql::PreparedStatement* ps, const DbParams& params) {
  unsigned i = 1;
  for (const DbValue& v : params) {
    if (std::holds_alternative<std::nullptr_t>(v)) ps->setNull(i, 0);
    else if (const auto* s = std::get_if<int64_t>(&v)) ps->setInt64(i, *s);
    else if (const auto* u = std::get_if<uint64_t>(&v)) ps->setUInt64(i, *u);
    else ps->setString(i, sql::SQLString(std::get<std::string>(v)));
    ++i;
  }
}

DbRow ReadRow(sql::ResultSet& rs, unsigned columns) {
  std::vector<std::optional<std::string>> cols;
  cols.reserve(columns);
  for (unsigned c = 1; c <= columns; ++c) {
    if (rs.isNull(c)) cols.emplace_back(std::nullopt);
    else cols.emplace_back(std::string(rs.getString(c).asStdString()));
  }
  return DbRow(std::move(cols));
}

}  // namespace

Result<std::vector<DbRow>> Db::Query(std::string_view sql, const DbParams& params) {
  std::vector<DbRow> rows;
  Status s = QueryEach(sql, params, [&rows](const DbRow& row) {
    rows.push_back(row);
    return true;
  });
  if (!s) return s.error();
  return rows;
}

Result<DbRow> Db::QueryOne(std::string_view sql, const DbParams& params, std::string not_found) {
  std::optional<DbRow> row;
  bool more = false;
  Status s = QueryEach(sql, params, [&](const DbRow& r) {
    more = row.has_value();
    if (!more) row.emplace(r);
    return !more;
  });
  if (!s) return s.error();
  if (more) return Error::Permanent("a second row where one is expected [" + std::string(sql.substr(0, 80)) + "]");
  if (!row) return Error::NotFound(std::move(not_found));
  return std::move(*row);
}

Status Db::QueryEach(std::string_view sql, const DbParams& params, const std::function<bool(const DbRow&)>& each) {
  // A read is safe to retry once: it changes nothing.
  for (int attempt = 0;; ++attempt) {
    ROSTER_TRY(Ready(false));
    bool delivered_rows = false;
    try {
      sql::PreparedStatement* ps = conn_->Prepare(sql);
      Bind(ps, params);
      std::unique_ptr<sql::ResultSet> rs(ps->executeQuery());
      unsigned columns = rs->getMetaData()->getColumnCount();
      while (rs->next()) {
        delivered_rows = true;
        if (!each(ReadRow(*rs, columns))) break;
      }
      conn_->Touch();
      return Status::Ok();
    } catch (const std::exception& e) {
      Error err = Classify(e, sql);
      // Never repeat rows already handed out, nor retry inside a transaction.
      bool again = !conn_ || RolledBack(err.db_code);
      if (err.is_temporary() && again && attempt == 0 && !in_transaction_ && !delivered_rows) continue;
      return err;
    }
  }
}

namespace {

// Client-side errors that prove the command was not written (see db.h).
bool NotSent(int code) { return code == 2006; }

// Errors the server sent while dropping the connection: it answered, so the
// statement did not commit.
bool RefusedByServer(int code) { return code > 0 && code < 2000 && !CommitFateUnknown(code); }

// Before the next attempt after a deadlock or a certification conflict: a
// random wait that doubles with each attempt (about 10, 20, 40, 80 ms), so
// that two writers that collided do not collide again at once.
void BackOff(int attempt) {
  thread_local std::minstd_rand random(std::random_device{}());
  int base_ms = 10 << std::min(attempt - 1, 4);
  std::uniform_int_distribution<int> spread(base_ms / 2, base_ms + base_ms / 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(spread(random)));
}

}  // namespace

Status Db::Ready(bool check_idle) {
  ROSTER_TRY(EnsureConnected(check_idle));
  if (queued_.empty() || in_transaction_) return Status::Ok();
  RunQueued();
  return EnsureConnected(false);
}

void Db::RunQueued() {
  while (!queued_.empty() && conn_) {
    const auto& [sql, params] = queued_.front();
    try {
      sql::PreparedStatement* ps = conn_->Prepare(sql);
      Bind(ps, params);
      ps->executeUpdate();
      conn_->Touch();
    } catch (const std::exception& e) {
      Error err = Classify(e, sql);
      // Kept for the next time unless it can never succeed.
      if (err.is_temporary()) return;
    }
    queued_.erase(queued_.begin());
  }
}

Result<uint64_t> Db::ExecuteOnce(std::string_view sql, const DbParams& params, bool is_commit, Retry* retry) {
  *retry = Retry::kNo;
  ROSTER_TRY(Ready(!in_transaction_));
  sql::PreparedStatement* ps = nullptr;
  try {
    // Preparing changes nothing: a failure here is never a partial write.
    ps = conn_->Prepare(sql);
  } catch (const std::exception& e) {
    Error err = Classify(e, sql);
    if (err.is_temporary() && !conn_) *retry = Retry::kYes;
    return err;
  }
  try {
    Bind(ps, params);
    int affected = ps->executeUpdate();
    conn_->Touch();
    return static_cast<uint64_t>(affected < 0 ? 0 : affected);
  } catch (const std::exception& e) {
    Error err = Classify(e, sql);
    // A deadlock or a certification conflict rolled an autocommit statement
    // back (inside a transaction, Transaction reruns the whole body).
    if (RolledBack(err.db_code) && !in_transaction_) *retry = Retry::kYes;
    if (!err.is_temporary() || conn_) return err;  // the server answered: it did not run
    if (NotSent(err.db_code) || RefusedByServer(err.db_code)) {
      *retry = Retry::kYes;
    } else if (!in_transaction_ || is_commit) {
      // The command went out and no answer came back.
      err.outcome_unknown = true;
      err.message = "outcome unknown: " + err.message;
      *retry = Retry::kIfIdempotent;
    }
    return err;
  }
}

Result<uint64_t> Db::ExecuteWrite(std::string_view sql, const DbParams& params, bool idempotent) {
  bool unknown = false;  // an earlier attempt may have run
  for (int attempt = 1;; ++attempt) {
    Retry retry;
    auto r = ExecuteOnce(sql, params, false, &retry);
    if (r || in_transaction_) return r;
    Error err = r.error();
    unknown = unknown || err.outcome_unknown;
    // A connection lost or refused: once more at once (on a fresh connection,
    // the next host for a server that is not usable); a deadlock or a
    // certification conflict: up to kWriteAttempts in all, after a wait.
    bool rolled_back = RolledBack(err.db_code);
    bool allowed = retry == Retry::kYes || (retry == Retry::kIfIdempotent && idempotent);
    if (!allowed || attempt >= (rolled_back ? kWriteAttempts : 2)) {
      // A first attempt whose fate is unknown stays unknown if a later one fails.
      if (unknown && !err.outcome_unknown) {
        err.outcome_unknown = true;
        err.message = "outcome unknown: " + err.message;
      }
      return err;
    }
    if (rolled_back) BackOff(attempt);
  }
}

Result<uint64_t> Db::Execute(std::string_view sql, const DbParams& params) {
  return ExecuteWrite(sql, params, false);
}

Result<uint64_t> Db::ExecuteIdempotent(std::string_view sql, const DbParams& params) {
  return ExecuteWrite(sql, params, true);
}

Status Db::ExecuteEventually(std::string_view sql, const DbParams& params) {
  auto r = ExecuteIdempotent(sql, params);
  if (r || !r.error().is_temporary()) return r.status();
  bool already = std::any_of(queued_.begin(), queued_.end(),
                             [&](const auto& q) { return q.first == sql && q.second == params; });
  if (!already && queued_.size() < kMaxQueued) queued_.emplace_back(std::string(sql), params);
  return r.status();
}

Result<uint64_t> Db::LastInsertId() {
  // The id belongs to the connection: one that was lost took it along, and a
  // new one would answer 0.
  if (!conn_) return Error::Temporary("connection lost: the last insert's id with it");
  uint64_t before = connects_;
  auto rows = Query("SELECT LAST_INSERT_ID()");
  if (rows && connects_ != before) return Error::Temporary("connection lost: the last insert's id with it");
  if (!rows) return rows.error();
  if (rows->empty()) return Error::Permanent("LAST_INSERT_ID() returned nothing");
  return (*rows)[0].Uint(0);
}

Status Db::Ping() {
  ROSTER_TRY(EnsureConnected(false));
  auto rows = Query("SELECT 1");
  if (!rows) return rows.error();
  return Status::Ok();
}

Status Db::Transaction(const std::function<Status()>& body) {
  // Inside another transaction: part of it (a START TRANSACTION here would
  // commit the outer one's work so far).
  if (in_transaction_) return body();
  for (int attempt = 1;; ++attempt) {
    auto begun = Execute("START TRANSACTION");
    if (!begun) return begun.error();
    in_transaction_ = true;
    Status result = body();
    if (result.ok()) {
      Retry retry;
      auto committed = ExecuteOnce("COMMIT", {}, true, &retry);
      if (!committed) result = committed.error();
    }
    in_transaction_ = false;
    if (result.ok()) return result;
    if (conn_) {
      auto rolled_back = Execute("ROLLBACK");
      if (!rolled_back) conn_.reset();
    }
    // Rerun only what surely did not commit: a deadlock or certification
    // conflict (after a wait), or a server that refused to run it (a read-only
    // or non-Primary node: at once, on the next host).
    const Error& err = result.error();
    bool rolled_back = RolledBack(err.db_code);
    bool refused = ServerUnusable(err.db_code) && !CommitFateUnknown(err.db_code) && !err.outcome_unknown;
    if (!(rolled_back || refused) || attempt == kTransactionAttempts) return result;
    if (rolled_back) BackOff(attempt);
  }
}

}  // namespace roster
