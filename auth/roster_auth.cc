// roster_auth.cc: the C++ core of the Dovecot passdb/userdb driver. It turns a
// login or user lookup into one query through common/accounts and the answer
// into Dovecot's fields. Every exception is caught here: none reaches Dovecot.
//
// Two ways to run (auth_threads; see doc/dovecot.md): blocking, in Dovecot's
// auth-worker processes, one request at a time per process and one Db per
// process; or threaded, in Dovecot's auth process, where a JobPool of
// auth_threads threads (one Db each) runs the jobs and hands results back
// through an eventfd that the glue watches on Dovecot's ioloop.
//
// An unknown or disabled user's password is checked too, against a dummy
// argon2id hash made with the configured parameters (DummyVerify), so that the
// time and memory of an answer do not tell which addresses exist.
//
// Trusts: the configuration file (root's); nothing in user names or passwords,
// which are normalised and bounded before any query; the database's answers.
#include "auth/roster_auth.h"

#include <grp.h>
#include <pwd.h>
#include <sodium.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "common/accounts.h"
#include "common/address.h"
#include "common/config.h"
#include "common/db.h"
#include "common/password.h"
#include "common/text.h"
#include "common/units.h"

namespace roster {
namespace {

// "%u", "%n", "%d", "%%" in home, mail and extra fields.
std::string Expand(const std::string& tmpl, const std::string& address) {
  auto at = address.rfind('@');
  std::string local = address.substr(0, at), domain = at == std::string::npos ? "" : address.substr(at + 1);
  std::string out;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] != '%' || i + 1 == tmpl.size()) {
      out += tmpl[i];
      continue;
    }
    switch (tmpl[++i]) {
      case 'u': out += address; break;
      case 'n': out += local; break;
      case 'd': out += domain; break;
      case '%': out += '%'; break;
      default: out += '%'; out += tmpl[i];
    }
  }
  return out;
}

// A uid/gid setting: a number, or a name resolved once at start.
Result<std::string> ResolveId(const std::string& value, bool group) {
  if (!value.empty() && value.find_first_not_of("0123456789") == std::string::npos) return value;
  char buf[4096];
  if (group) {
    struct group g, *found = nullptr;
    if (getgrnam_r(value.c_str(), &g, buf, sizeof buf, &found) == 0 && found)
      return std::to_string(found->gr_gid);
    return Error::Invalid("auth_gid: no group named '" + value + "'");
  }
  struct passwd p, *found = nullptr;
  if (getpwnam_r(value.c_str(), &p, buf, sizeof buf, &found) == 0 && found) return std::to_string(found->pw_uid);
  return Error::Invalid("auth_uid: no user named '" + value + "'");
}

struct Reply {
  roster_field_fn* field;
  roster_log_fn* log;
  void* context;
  void Set(const std::string& name, const std::string& value) const { field(context, name.c_str(), value.c_str()); }
  void Log(roster_log_level level, const std::string& message) const {
    if (log) log(context, level, message.c_str());
  }
};

std::string QuotaRule(uint64_t bytes, uint64_t messages) {
  // 0 = unlimited, as Dovecot's quota_rule reads it.
  return "*:bytes=" + std::to_string(bytes) + ":messages=" + std::to_string(messages);
}

// The limits as Dovecot 2.4 reads them (setting overrides; 0 = unlimited).
// quota_message_count is 32 bits there: more than it holds is no limit.
std::vector<std::pair<std::string, std::string>> QuotaLimits24(uint64_t bytes, uint64_t messages) {
  constexpr uint64_t kMaxCount = 4294967294u;  // UINT_MAX is Dovecot's "unlimited"
  return {{"quota_storage_size", std::to_string(bytes)},
          {"quota_message_count", messages > kMaxCount ? std::string("0") : std::to_string(messages)}};
}

// A 2.3 mail location template ("maildir:~/Maildir:INDEX=/x/%d/%n") as the
// settings Dovecot 2.4 reads instead (mail_driver, mail_path, mail_index_path
// ...), still templates. A parameter 2.4 has no single setting for is refused
// at start, never passed on to be ignored.
Result<std::vector<std::pair<std::string, std::string>>> MailLocation24(const std::string& location) {
  static const std::pair<const char*, const char*> kParams[] = {
      {"INBOX", "mail_inbox_path"},         {"INDEX", "mail_index_path"},
      {"INDEXPVT", "mail_index_private_path"}, {"CONTROL", "mail_control_path"},
      {"VOLATILEDIR", "mail_volatile_path"}, {"ALT", "mail_alt_path"},
      {"LAYOUT", "mailbox_list_layout"},    {"DIRNAME", "mailbox_directory_name"},
      {"SUBSCRIPTIONS", "mailbox_subscriptions_filename"}};
  std::vector<std::pair<std::string, std::string>> fields;
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t colon = location.find(':', start);
    parts.push_back(location.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  if (parts.size() < 2 || parts[0].empty() || parts[0].find_first_of("=/~%") != std::string::npos)
    return Error::Invalid("auth_mail: expected DRIVER:PATH[:KEY=VALUE...], got '" + location + "'");
  fields.emplace_back("mail_driver", parts[0]);
  fields.emplace_back("mail_path", parts[1]);
  for (size_t i = 2; i < parts.size(); ++i) {
    auto eq = parts[i].find('=');
    std::string key = parts[i].substr(0, eq);
    if (key == "UTF8" && eq == std::string::npos) {
      fields.emplace_back("mailbox_list_utf8", "yes");
      continue;
    }
    const char* setting = nullptr;
    for (const auto& [param, name] : kParams)
      if (key == param) setting = name;
    if (setting == nullptr || eq == std::string::npos)
      return Error::Invalid("auth_mail: '" + parts[i] + "' has no Dovecot 2.4 userdb setting roster knows; "
                            "set it in dovecot.conf instead");
    fields.emplace_back(setting, parts[i].substr(eq + 1));
  }
  return fields;
}

}  // namespace

struct PendingRehash {
  std::string address, old_hash;
};

// Everything a lookup needs except a connection: each caller brings its Db.
class AuthCore {
 public:
  AuthCore(Config config, DbSettings settings, PasswordPolicy policy)
      : config_(std::move(config)), settings_(std::move(settings)), hasher_(policy),
        rehash_(config_.GetBool("auth_rehash")), unit_(config_.GetString("unit")),
        home_template_(config_.GetString("auth_home")), mail_template_(config_.GetString("auth_mail")),
        threads_(static_cast<unsigned>(config_.GetInt("auth_threads"))),
        lookup_threads_(static_cast<unsigned>(config_.GetInt("auth_lookup_threads"))) {}

  static Result<std::unique_ptr<AuthCore>> Create(const std::string& path,
                                                  roster_field_dialect dialect = ROSTER_FIELDS_DOVECOT23) {
    auto config = Config::LoadFile(path);
    if (!config) return config.error();
    auto settings = DbSettings::FromConfig(*config, DbRole::kAuth);
    if (!settings) return settings.error();
    auto policy = PasswordPolicy::FromConfig(*config);
    if (!policy) return policy.error();
    auto uid = ResolveId(config->GetString("auth_uid"), false);
    if (!uid) return uid.error();
    auto gid = ResolveId(config->GetString("auth_gid"), true);
    if (!gid) return gid.error();
    int64_t threads = config->GetInt("auth_threads");
    if (threads < 0 || threads > 256) return Error::Invalid(config->Origin("auth_threads") + ": 0 to 256");
    int64_t lookup_threads = config->GetInt("auth_lookup_threads");
    if (lookup_threads < 1 || lookup_threads > 256)
      return Error::Invalid(config->Origin("auth_lookup_threads") + ": 1 to 256");
    auto core = std::make_unique<AuthCore>(std::move(*config), std::move(*settings), *policy);
    core->uid_ = *uid;
    core->gid_ = *gid;
    core->dialect_ = dialect;
    if (!core->mail_template_.empty()) {
      if (dialect == ROSTER_FIELDS_DOVECOT24) {
        auto fields = MailLocation24(core->mail_template_);
        if (!fields) return Error::Invalid(core->config_.Origin("auth_mail") + ": " + fields.error().message);
        core->mail_fields_ = std::move(*fields);
      } else {
        core->mail_fields_.emplace_back("mail", core->mail_template_);
      }
    }
    for (const std::string& kv : SplitConfigList(core->config_.GetString("auth_userdb_fields"))) {
      auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0)
        return Error::Invalid(core->config_.Origin("auth_userdb_fields") + ": expected name=value, got '" + kv + "'");
      core->extra_fields_.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    }
    return core;
  }

  const DbSettings& settings() const { return settings_; }
  unsigned threads() const { return threads_; }
  unsigned lookup_threads() const { return lookup_threads_; }

  // --- The steps of a request, so that the threaded mode can look up many
  // logins in one query and hash on other threads. Each single-request call
  // below (Verify, Lookup, UserdbLookup) is these steps in a row.

  // The mailbox key of a user name, or nothing (logged) if the name cannot be
  // a mailbox: such a name is an unknown user, never a query.
  std::optional<std::string> MailboxKey(const char* user, const Reply& reply) const {
    auto address = ParseMailboxName(user);
    if (!address) {
      reply.Log(ROSTER_LOG_INFO, "refused user name: " + address.error().message);
      return std::nullopt;
    }
    return address->Mailbox();
  }

  // Turns the database's answer into OK (mailbox usable), UNKNOWN, DISABLED or TEMPFAIL.
  roster_auth_result Judge(const Result<MailboxLogin>& found, const Reply& reply) const {
    if (!found) {
      if (found.error().is_not_found()) return ROSTER_AUTH_UNKNOWN;
      reply.Log(ROSTER_LOG_ERROR, "database: " + found.error().message);
      return ROSTER_AUTH_TEMPFAIL;
    }
    if (!found->mailbox_active || !found->domain_active) return ROSTER_AUTH_DISABLED;
    // The name becomes a path (home, mail): a row written around roster's
    // checks must not lead into another mailbox's directory.
    if (Status safe = CheckMailboxPathName(found->address); !safe) {
      reply.Log(ROSTER_LOG_ERROR, "refused: " + safe.error().message);
      return ROSTER_AUTH_DISABLED;
    }
    return ROSTER_AUTH_OK;
  }

  // A verify that found no usable mailbox (unknown, refused name, disabled
  // mailbox or domain) still checks the password, against the dummy hash.
  static bool NeedsDummyVerify(roster_auth_result r) {
    return r == ROSTER_AUTH_UNKNOWN || r == ROSTER_AUTH_DISABLED;
  }

  // Spends on `password` the work of a real argon2id verify with the
  // configured parameters; the answer stays what it was. The dummy hash is
  // made at the first need, once per process: Dovecot creates a core for the
  // userdb and in processes that never verify a password, and each would pay
  // for a hash at start for nothing. (That first verify costs a hash more.)
  void DummyVerify(const char* password, const Reply& reply) const {
    const std::string* dummy = DummyHash(reply);
    if (dummy == nullptr) return;
    Verification v = hasher_.Verify(password ? password : "", *dummy);
    (void)v;  // whatever it says, the user stays unknown or disabled
    dummy_verifications_.fetch_add(1, std::memory_order_relaxed);
  }
  uint64_t dummy_verifications() const { return dummy_verifications_.load(std::memory_order_relaxed); }

  // The stored hash costs next to nothing to check ({PLAIN}, or unusable):
  // the thread that looked it up checks it at once instead of handing it on.
  static bool CheapToVerify(const MailboxLogin& m) {
    Scheme scheme = ParseStoredHash(m.password_hash).scheme;
    return scheme == Scheme::kPlain || scheme == Scheme::kUnknown;
  }

  // passdb verify of a usable mailbox. On OK, *rehash says whether a fresh
  // hash should replace the verified one.
  roster_auth_result CheckPassword(const MailboxLogin& m, const char* password, const char* service,
                                   const Reply& reply, std::optional<PendingRehash>* rehash) const {
    rehash->reset();
    Verification v = hasher_.Verify(password, m.password_hash);
    switch (v.outcome) {
      case VerifyOutcome::kMatch: break;
      case VerifyOutcome::kMismatch: return ROSTER_AUTH_MISMATCH;
      case VerifyOutcome::kMalformed:
      case VerifyOutcome::kUnsupported:
        reply.Log(ROSTER_LOG_ERROR, "stored password of " + m.address + " is unusable: " + v.reason);
        return ROSTER_AUTH_NO_SCHEME;
    }
    if (rehash_ && hasher_.NeedsRehash(m.password_hash)) *rehash = PendingRehash{m.address, m.password_hash};
    Answer(m, service, reply);
    return ROSTER_AUTH_OK;
  }

  // passdb lookup_credentials of a usable mailbox.
  roster_auth_result Credentials(const MailboxLogin& m, const char* service, const Reply& reply) const {
    ParsedHash parsed = ParseStoredHash(m.password_hash);
    if (parsed.scheme == Scheme::kUnknown || (parsed.scheme == Scheme::kPlain && !hasher_.policy().allow_plaintext)) {
      reply.Log(ROSTER_LOG_ERROR, "stored password of " + m.address + " has no usable scheme");
      return ROSTER_AUTH_NO_SCHEME;
    }
    Answer(m, service, reply);
    return ROSTER_AUTH_OK;
  }

  // userdb answer for a usable mailbox.
  roster_auth_result UserdbAnswer(const MailboxLogin& m, const Reply& reply) const {
    reply.Set("user", m.address);
    for (const auto& [name, value] : UserdbFields(m)) reply.Set(name, value);
    return ROSTER_AUTH_OK;
  }

  // --- Single requests (blocking mode).

  roster_auth_result Verify(Db& db, const char* user, const char* password, const char* service,
                            const Reply& reply, std::optional<PendingRehash>* rehash) const {
    rehash->reset();
    MailboxLogin m;
    roster_auth_result r = Load(db, user, reply, &m);
    if (NeedsDummyVerify(r)) DummyVerify(password, reply);
    return r != ROSTER_AUTH_OK ? r : CheckPassword(m, password, service, reply, rehash);
  }

  roster_auth_result Lookup(Db& db, const char* user, const char* service, const Reply& reply) const {
    MailboxLogin m;
    roster_auth_result r = Load(db, user, reply, &m);
    return r != ROSTER_AUTH_OK ? r : Credentials(m, service, reply);
  }

  void Rehash(Db& db, const PendingRehash& pending, const char* password, const Reply& reply) const {
    auto fresh = hasher_.Hash(password);
    if (!fresh) {
      reply.Log(ROSTER_LOG_WARNING, "rehash of " + pending.address + " failed: " + fresh.error().message);
      return;
    }
    Accounts accounts(db);
    auto replaced = accounts.ReplacePasswordHash(pending.address, pending.old_hash, *fresh);
    if (!replaced) {
      reply.Log(ROSTER_LOG_WARNING, "rehash of " + pending.address + " not stored: " + replaced.error().message);
    } else if (*replaced) {
      reply.Log(ROSTER_LOG_INFO, "password of " + pending.address + " rehashed from " +
                                     SchemeName(ParseStoredHash(pending.old_hash).scheme) + " to ARGON2ID");
    }
  }

  roster_auth_result UserdbLookup(Db& db, const char* user, const Reply& reply) const {
    MailboxLogin m;
    roster_auth_result r = Load(db, user, reply, &m);
    if (r == ROSTER_AUTH_DISABLED) return ROSTER_AUTH_UNKNOWN;  // userdb knows only usable mailboxes
    return r != ROSTER_AUTH_OK ? r : UserdbAnswer(m, reply);
  }

  // A page of the user iteration; empty at the end.
  Result<std::vector<std::pair<std::string, std::string>>> UserPage(Db& db, const std::string& after_key) const {
    Accounts accounts(db);
    return accounts.ActiveAddressPage(after_key, 1000);
  }

 private:
  roster_auth_result Load(Db& db, const char* user, const Reply& reply, MailboxLogin* m) const {
    auto key = MailboxKey(user, reply);
    if (!key) return ROSTER_AUTH_UNKNOWN;
    Accounts accounts(db);
    auto found = accounts.FindMailboxForLogin(*key);
    roster_auth_result r = Judge(found, reply);
    if (found) *m = std::move(*found);
    return r;
  }

  std::vector<std::pair<std::string, std::string>> UserdbFields(const MailboxLogin& m) const {
    std::vector<std::pair<std::string, std::string>> f = {
        {"uid", uid_}, {"gid", gid_}, {"home", Expand(home_template_, m.address)}};
    for (const auto& [name, value] : mail_fields_) f.emplace_back(name, Expand(value, m.address));
    if (dialect_ == ROSTER_FIELDS_DOVECOT24) {
      for (auto& limit : QuotaLimits24(m.max_bytes, m.max_messages)) f.push_back(std::move(limit));
    } else {
      f.emplace_back("quota_rule", QuotaRule(m.max_bytes, m.max_messages));
    }
    for (const auto& [name, value] : extra_fields_) f.emplace_back(name, Expand(value, m.address));
    return f;
  }

  void Answer(const MailboxLogin& m, const char* service, const Reply& reply) const {
    reply.Set("user", m.address);
    reply.Set("password", m.password_hash);
    if (!m.unit.empty() && m.unit != unit_) {
      // Another unit holds this mailbox: the login process proxies there.
      reply.Set("proxy", "y");
      reply.Set("host", m.unit_host.empty() ? m.unit : m.unit_host);
      std::string svc = service ? service : "";
      unsigned port = svc == "imap" ? m.unit_imap_port : svc == "pop3" ? m.unit_pop3_port : 0;
      if (port != 0) reply.Set("port", std::to_string(port));
      return;
    }
    for (const auto& [name, value] : UserdbFields(m)) reply.Set("userdb_" + name, value);
  }

  // The dummy hash, or nullptr (logged) if it cannot be made now (argon2
  // out of memory); then the next need tries again.
  const std::string* DummyHash(const Reply& reply) const {
    std::lock_guard<std::mutex> lock(dummy_mu_);
    if (dummy_hash_.empty()) {
      // Its password does not matter: no answer depends on the outcome.
      auto made = hasher_.Hash("roster: no such user");
      if (!made) {
        reply.Log(ROSTER_LOG_WARNING, "dummy password hash not made: " + made.error().message);
        return nullptr;
      }
      dummy_hash_ = std::move(*made);
    }
    return &dummy_hash_;
  }

  Config config_;
  DbSettings settings_;
  PasswordHasher hasher_;
  mutable std::mutex dummy_mu_;
  mutable std::string dummy_hash_;  // set once, under dummy_mu_, then never changed
  mutable std::atomic<uint64_t> dummy_verifications_{0};
  bool rehash_;
  std::string unit_;
  std::string home_template_, mail_template_;  // read once, not per login
  roster_field_dialect dialect_ = ROSTER_FIELDS_DOVECOT23;
  // The mail location as the dialect's fields (templates): ("mail", location)
  // for 2.3, ("mail_driver", ...), ("mail_path", ...), ... for 2.4.
  std::vector<std::pair<std::string, std::string>> mail_fields_;
  unsigned threads_, lookup_threads_;
  std::string uid_, gid_;
  std::vector<std::pair<std::string, std::string>> extra_fields_;
};

// One request of the threaded mode and, once run, its answer. A verify whose
// hash is costly goes through two steps: the lookup (batched with others) and
// the hashing (on any free thread). A rehash is a job of its own, queued after
// its login was answered; it answers nobody, only logs.
struct Job {
  enum Kind { kVerify, kLookup, kUserdb, kRehash } kind;
  std::string user, password, service;
  roster_done_fn* done = nullptr;
  void* context = nullptr;
  roster_auth_result result = ROSTER_AUTH_TEMPFAIL;
  std::vector<std::string> fields;
  std::vector<std::pair<roster_log_level, std::string>> logs;
  std::optional<MailboxLogin> mailbox;  // looked up, waiting for its hashing (none: the dummy check)
  std::optional<PendingRehash> rehash;  // kRehash: what to replace
  bool needs_hashing = false;           // looked up; its password check is still to run

  ~Job() {
    if (!password.empty()) sodium_memzero(password.data(), password.size());
  }
  Reply Collector() {
    auto field = [](void* ctx, const char* name, const char* value) {
      auto* j = static_cast<Job*>(ctx);
      j->fields.emplace_back(name);
      j->fields.emplace_back(value);
    };
    auto log = [](void* ctx, roster_log_level level, const char* message) {
      static_cast<Job*>(ctx)->logs.emplace_back(level, message);
    };
    return Reply{field, log, this};
  }
  void Fail(const std::exception& e) {
    fields.clear();
    result = ROSTER_AUTH_TEMPFAIL;
    logs.emplace_back(ROSTER_LOG_ERROR, std::string("internal error: ") + e.what());
  }
};
using JobList = std::vector<std::unique_ptr<Job>>;

// The threads of the threaded mode. Jobs go in on the ioloop thread; results
// come out there too, through Drain(), when the eventfd says some are ready.
//
// Why batches: on a small machine a login's cost is mostly wakeups and round
// trips (ioloop -> thread -> database -> thread -> ioloop), not work. A thread
// takes every waiting job (up to Accounts::kMaxBatch), looks them all up
// in one query and hands all answers back with one wakeup. At most
// `max_lookups` threads query at once, so that under load jobs gather into
// batches instead of each waking a thread of its own; the other threads hash.
class JobPool {
 public:
  JobPool(const AuthCore& core, roster_log_fn* log) : core_(core), log_(log) {}
  ~JobPool() { Stop(); }

  Result<int> Start(unsigned threads, unsigned max_lookups) {
    max_lookups_ = std::max(1u, std::min(threads, max_lookups));
    event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (event_fd_ < 0) return Error::Permanent("eventfd failed");
    for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
    return event_fd_;
  }

  void Submit(std::unique_ptr<Job> job) {
    bool wake;
    {
      std::lock_guard<std::mutex> lock(mu_);
      lookups_.push_back(std::move(job));
      // With every lookup slot busy, a woken thread could not take the job:
      // a thread that ends its lookup takes the queue with it.
      wake = lookups_running_ < max_lookups_;
    }
    if (wake) cv_.notify_one();
  }

  void Drain() {
    uint64_t count;
    while (read(event_fd_, &count, sizeof count) > 0) {
    }
    JobList finished;
    {
      std::lock_guard<std::mutex> lock(mu_);
      finished.swap(done_);
    }
    for (auto& job : finished) Deliver(*job);
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
    if (event_fd_ >= 0) close(event_fd_);
    event_fd_ = -1;
  }

 private:
  void Deliver(Job& job) {
    if (job.kind == Job::kRehash) {
      for (auto& [level, message] : job.logs)
        if (log_) log_(nullptr, level, message.c_str());
      return;
    }
    std::vector<const char*> fields;
    for (const std::string& f : job.fields) fields.push_back(f.c_str());
    fields.push_back(nullptr);
    std::vector<roster_log_line> logs;
    for (auto& [level, message] : job.logs) logs.push_back(roster_log_line{level, message.c_str()});
    roster_job_result r{job.result, fields.data(), logs.data(), static_cast<unsigned>(logs.size())};
    job.done(job.context, &r);
  }

  // Hands answered jobs to the ioloop (one wakeup for all) and queues the
  // ones still to hash, and the rehashes, for any thread.
  void Hand(JobList jobs, JobList rehashes) {
    bool wake_ioloop = false;
    size_t queued = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& job : jobs) {
        if (job->needs_hashing) {
          cpu_.push_back(std::move(job));
          ++queued;
        } else if (job->kind != Job::kRehash || !job->logs.empty()) {  // a silent rehash needs no delivery
          done_.push_back(std::move(job));
          wake_ioloop = true;
        }
      }
      for (auto& job : rehashes) cpu_.push_back(std::move(job));
      queued += rehashes.size();
    }
    for (size_t i = 0; i < queued; ++i) cv_.notify_one();
    uint64_t one = 1;
    if (wake_ioloop && write(event_fd_, &one, sizeof one) < 0) {
      // The counter is saturated: the ioloop has wakeups pending anyway.
    }
  }

  // A job that has found its mailbox: answered at once, or marked for hashing.
  void Continue(Job& job, const Result<MailboxLogin>& found, JobList* rehashes) {
    Reply reply = job.Collector();
    roster_auth_result judged = core_.Judge(found, reply);
    if (judged != ROSTER_AUTH_OK) {
      job.result = job.kind == Job::kUserdb && judged == ROSTER_AUTH_DISABLED ? ROSTER_AUTH_UNKNOWN : judged;
      NeedsDummy(job);
      return;
    }
    switch (job.kind) {
      case Job::kLookup: job.result = core_.Credentials(*found, job.service.c_str(), reply); break;
      case Job::kUserdb: job.result = core_.UserdbAnswer(*found, reply); break;
      case Job::kVerify:
        job.mailbox = *found;
        if (AuthCore::CheapToVerify(*found))
          Hash(job, rehashes);
        else
          job.needs_hashing = true;
        break;
      case Job::kRehash: break;
    }
  }

  // A verify answered without a mailbox still has its password checked (the
  // dummy check), on a hashing thread like any other.
  static void NeedsDummy(Job& job) {
    if (job.kind == Job::kVerify && AuthCore::NeedsDummyVerify(job.result)) job.needs_hashing = true;
  }

  // The password check of a looked-up verify; queues its rehash if one is due.
  void Hash(Job& job, JobList* rehashes) {
    job.needs_hashing = false;
    if (!job.mailbox) {
      core_.DummyVerify(job.password.c_str(), job.Collector());
      return;
    }
    std::optional<PendingRehash> rehash;
    job.result = core_.CheckPassword(*job.mailbox, job.password.c_str(), job.service.c_str(), job.Collector(),
                                     &rehash);
    if (!rehash) return;
    auto note = std::make_unique<Job>();
    note->kind = Job::kRehash;
    note->rehash = std::move(rehash);
    note->password.swap(job.password);
    rehashes->push_back(std::move(note));
  }

  // Looks up every job of the batch with one query (or one per
  // kMaxBatch); each ends answered or marked for hashing.
  void LookUp(Db& db, JobList& batch, JobList* rehashes) {
    std::vector<Job*> asked;
    std::vector<std::string> keys;
    for (auto& job : batch) {
      auto key = core_.MailboxKey(job->user.c_str(), job->Collector());
      if (!key) {
        job->result = ROSTER_AUTH_UNKNOWN;
        NeedsDummy(*job);
        continue;
      }
      keys.push_back(std::move(*key));
      asked.push_back(job.get());
    }
    if (asked.empty()) return;
    Accounts accounts(db);
    if (asked.size() == 1) {
      Continue(*asked.front(), accounts.FindMailboxForLogin(keys.front()), rehashes);
      return;
    }
    auto found = accounts.FindMailboxesForLogin(keys);
    for (size_t i = 0; i < asked.size(); ++i) {
      if (!found)
        Continue(*asked[i], found.error(), rehashes);
      else if (!(*found)[i])
        Continue(*asked[i], Error::NotFound("no such mailbox"), rehashes);
      else
        Continue(*asked[i], std::move(*(*found)[i]), rehashes);
    }
  }

  // Runs a job from the hashing queue: a verify's hashing, or a rehash.
  void RunCpuJob(Db& db, Job& job, JobList* rehashes) {
    if (job.kind != Job::kRehash) {
      Hash(job, rehashes);
      return;
    }
    core_.Rehash(db, *job.rehash, job.password.c_str(), job.Collector());
    sodium_memzero(job.password.data(), job.password.size());
  }

  void Run() {
    Db db(core_.settings());  // this thread's own connection, opened at first use
    bool lookup = false;
    for (;;) {
      JobList jobs;  // owns what this thread works on until it is handed on
      {
        std::unique_lock<std::mutex> lock(mu_);
        if (lookup) --lookups_running_;
        cv_.wait(lock, [this] {
          return stopping_ || !cpu_.empty() || (!lookups_.empty() && lookups_running_ < max_lookups_);
        });
        bool can_look_up = !lookups_.empty() && lookups_running_ < max_lookups_;
        // A thread that just looked up goes on with the requests that queued
        // meanwhile (nobody was woken for them); the others hash first, as
        // those requests have waited for their lookup already.
        if (can_look_up && (lookup || cpu_.empty())) {
          while (!lookups_.empty() && jobs.size() < Accounts::kMaxBatch) {
            jobs.push_back(std::move(lookups_.front()));
            lookups_.pop_front();
          }
          ++lookups_running_;
          lookup = true;
        } else if (!cpu_.empty()) {
          jobs.push_back(std::move(cpu_.front()));
          cpu_.pop_front();
          lookup = false;
        } else if (lookups_.empty()) {
          return;  // stopping, and nothing left to answer
        } else {
          lookup = false;
          continue;  // stopping: the threads that are looking up drain the queue
        }
      }
      JobList rehashes;
      try {
        if (lookup)
          LookUp(db, jobs, &rehashes);
        else
          RunCpuJob(db, *jobs.front(), &rehashes);
      } catch (const std::exception& e) {
        // Out of memory, most likely: every job taken is answered anyway.
        for (auto& job : jobs) {
          job->needs_hashing = false;
          job->Fail(e);
        }
      }
      Hand(std::move(jobs), std::move(rehashes));
    }
  }

  const AuthCore& core_;
  roster_log_fn* log_;
  unsigned max_lookups_ = 1;
  int event_fd_ = -1;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Job>> lookups_, cpu_;  // waiting for a lookup / for hashing
  JobList done_;                                    // answered, for the ioloop
  unsigned lookups_running_ = 0;
  bool stopping_ = false;
};

}  // namespace roster

struct roster_auth {
  std::unique_ptr<roster::AuthCore> core;
  std::unique_ptr<roster::Db> db;  // blocking mode, and user iteration
  std::optional<roster::PendingRehash> pending_rehash;
  std::unique_ptr<roster::JobPool> pool;
};

struct roster_user_iter {
  roster_auth* auth;
  std::vector<std::pair<std::string, std::string>> page;  // (address, lookup key)
  size_t next = 0;
  bool exhausted = false;
  std::string current;
};

namespace {

// Runs `body`, turning any exception into `on_exception` with a log line.
template <typename F>
auto Guard(roster_log_fn* log, void* context, F body, decltype(body()) on_exception) -> decltype(body()) {
  try {
    return body();
  } catch (const std::exception& e) {
    if (log) log(context, ROSTER_LOG_ERROR, (std::string("internal error: ") + e.what()).c_str());
  } catch (...) {
    if (log) log(context, ROSTER_LOG_ERROR, "internal error");
  }
  return on_exception;
}

void Submit(roster_auth* auth, roster::Job::Kind kind, const char* user, const char* password, const char* service,
            roster_done_fn* done, void* context) {
  try {
    auto job = std::make_unique<roster::Job>();
    job->kind = kind;
    job->user = user;
    if (password) job->password = password;
    if (service) job->service = service;
    job->done = done;
    job->context = context;
    auth->pool->Submit(std::move(job));
  } catch (...) {
    // Out of memory: answer at once, as a temporary failure.
    roster_job_result r{ROSTER_AUTH_TEMPFAIL, nullptr, nullptr, 0};
    static const char* const kNoFields[] = {nullptr};
    r.fields = kNoFields;
    done(context, &r);
  }
}

}  // namespace

extern "C" {

struct roster_auth* roster_auth_create(const char* config_path, char* error, unsigned int size) {
  return roster_auth_create_for(config_path, ROSTER_FIELDS_DOVECOT23, error, size);
}

struct roster_auth* roster_auth_create_for(const char* config_path, roster_field_dialect dialect, char* error,
                                           unsigned int size) {
  try {
    auto core = roster::AuthCore::Create(config_path, dialect);
    if (!core) {
      std::snprintf(error, size, "%s", core.error().message.c_str());
      return nullptr;
    }
    auto handle = std::make_unique<roster_auth>();
    handle->db = std::make_unique<roster::Db>((*core)->settings());
    handle->core = std::move(*core);
    return handle.release();  // owned by the glue until roster_auth_destroy
  } catch (const std::exception& e) {
    std::snprintf(error, size, "internal error: %s", e.what());
  } catch (...) {
    std::snprintf(error, size, "internal error");
  }
  return nullptr;
}

void roster_auth_destroy(struct roster_auth* auth) {
  try {
    std::unique_ptr<roster_auth> owned(auth);
    if (owned && owned->pool) owned->pool->Stop();
  } catch (...) {
  }
}

unsigned int roster_auth_threads(const struct roster_auth* auth) { return auth->core->threads(); }

unsigned long long roster_auth_dummy_verifications(const struct roster_auth* auth) {
  return auth->core->dummy_verifications();
}

int roster_auth_start(struct roster_auth* auth, roster_log_fn* log, char* error, unsigned int size) {
  try {
    auth->pool = std::make_unique<roster::JobPool>(*auth->core, log);
    auto fd = auth->pool->Start(auth->core->threads(), auth->core->lookup_threads());
    if (!fd) {
      std::snprintf(error, size, "%s", fd.error().message.c_str());
      return -1;
    }
    return *fd;
  } catch (const std::exception& e) {
    std::snprintf(error, size, "cannot start threads: %s", e.what());
  }
  return -1;
}

void roster_auth_verify_async(struct roster_auth* auth, const char* user, const char* password, const char* service,
                              roster_done_fn* done, void* context) {
  Submit(auth, roster::Job::kVerify, user, password, service, done, context);
}

void roster_auth_lookup_async(struct roster_auth* auth, const char* user, const char* service, roster_done_fn* done,
                              void* context) {
  Submit(auth, roster::Job::kLookup, user, nullptr, service, done, context);
}

void roster_userdb_lookup_async(struct roster_auth* auth, const char* user, roster_done_fn* done, void* context) {
  Submit(auth, roster::Job::kUserdb, user, nullptr, nullptr, done, context);
}

void roster_auth_drain(struct roster_auth* auth) {
  try {
    auth->pool->Drain();
  } catch (...) {
  }
}

enum roster_auth_result roster_auth_verify(struct roster_auth* auth, const char* user, const char* password,
                                           const char* service, roster_field_fn* field, roster_log_fn* log,
                                           void* context) {
  return Guard(log, context,
               [&] {
                 return auth->core->Verify(*auth->db, user, password, service, roster::Reply{field, log, context},
                                           &auth->pending_rehash);
               },
               ROSTER_AUTH_TEMPFAIL);
}

enum roster_auth_result roster_auth_lookup(struct roster_auth* auth, const char* user, const char* service,
                                           roster_field_fn* field, roster_log_fn* log, void* context) {
  return Guard(log, context,
               [&] { return auth->core->Lookup(*auth->db, user, service, roster::Reply{field, log, context}); },
               ROSTER_AUTH_TEMPFAIL);
}

void roster_auth_rehash(struct roster_auth* auth, const char* user, const char* password, roster_log_fn* log,
                        void* context) {
  Guard(log, context,
        [&] {
          // Only the verify just answered, for this very user, may be rehashed.
          if (!auth->pending_rehash || !roster::EqualsIgnoreCase(user, auth->pending_rehash->address)) return 0;
          roster::PendingRehash pending = std::move(*auth->pending_rehash);
          auth->pending_rehash.reset();
          auth->core->Rehash(*auth->db, pending, password, roster::Reply{nullptr, log, context});
          return 0;
        },
        0);
}

enum roster_auth_result roster_userdb_lookup(struct roster_auth* auth, const char* user, roster_field_fn* field,
                                             roster_log_fn* log, void* context) {
  return Guard(log, context,
               [&] { return auth->core->UserdbLookup(*auth->db, user, roster::Reply{field, log, context}); },
               ROSTER_AUTH_TEMPFAIL);
}

struct roster_user_iter* roster_userdb_iter_init(struct roster_auth* auth) {
  try {
    auto iter = std::make_unique<roster_user_iter>();
    iter->auth = auth;
    return iter.release();  // owned by the glue until roster_userdb_iter_deinit
  } catch (...) {
    return nullptr;
  }
}

const char* roster_userdb_iter_next(struct roster_user_iter* iter, int* failed, roster_log_fn* log, void* context) {
  *failed = 1;  // until the body says otherwise: an exception leaves it set
  if (iter == nullptr) return nullptr;
  return Guard(log, context,
               [&]() -> const char* {
                 if (iter->next == iter->page.size()) {
                   if (iter->exhausted) {
                     *failed = 0;
                     return nullptr;
                   }
                   std::string after = iter->page.empty() ? "" : iter->page.back().second;
                   auto page = iter->auth->core->UserPage(*iter->auth->db, after);
                   if (!page) {
                     if (log) log(context, ROSTER_LOG_ERROR, ("user iteration: " + page.error().message).c_str());
                     return nullptr;
                   }
                   iter->exhausted = page->size() < 1000;
                   iter->page = std::move(*page);
                   iter->next = 0;
                   if (iter->page.empty()) {
                     *failed = 0;
                     return nullptr;
                   }
                 }
                 *failed = 0;
                 iter->current = iter->page[iter->next++].first;
                 return iter->current.c_str();
               },
               static_cast<const char*>(nullptr));
}

void roster_userdb_iter_deinit(struct roster_user_iter* iter) { std::unique_ptr<roster_user_iter> owned(iter); }

}  // extern "C"
