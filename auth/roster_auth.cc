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
// Trusts: the configuration file (root's); nothing in user names or passwords,
// which are normalised and bounded before any query; the database's answers.
#include "auth/roster_auth.h"

#include <grp.h>
#include <pwd.h>
#include <sodium.h>
#include <sys/eventfd.h>
#include <unistd.h>

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
        threads_(static_cast<unsigned>(config_.GetInt("auth_threads"))) {}

  static Result<std::unique_ptr<AuthCore>> Create(const std::string& path) {
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
    auto core = std::make_unique<AuthCore>(std::move(*config), std::move(*settings), *policy);
    core->uid_ = *uid;
    core->gid_ = *gid;
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

  // On OK, *rehash says whether a fresh hash should replace the verified one.
  roster_auth_result Verify(Db& db, const char* user, const char* password, const char* service,
                            const Reply& reply, std::optional<PendingRehash>* rehash) const {
    rehash->reset();
    MailboxLogin m;
    roster_auth_result r = Load(db, user, reply, &m);
    if (r != ROSTER_AUTH_OK) return r;
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

  roster_auth_result Lookup(Db& db, const char* user, const char* service, const Reply& reply) const {
    MailboxLogin m;
    roster_auth_result r = Load(db, user, reply, &m);
    if (r != ROSTER_AUTH_OK) return r;
    ParsedHash parsed = ParseStoredHash(m.password_hash);
    if (parsed.scheme == Scheme::kUnknown || (parsed.scheme == Scheme::kPlain && !hasher_.policy().allow_plaintext)) {
      reply.Log(ROSTER_LOG_ERROR, "stored password of " + m.address + " has no usable scheme");
      return ROSTER_AUTH_NO_SCHEME;
    }
    Answer(m, service, reply);
    return ROSTER_AUTH_OK;
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
    if (r != ROSTER_AUTH_OK) return r;
    reply.Set("user", m.address);
    for (const auto& [name, value] : UserdbFields(m)) reply.Set(name, value);
    return ROSTER_AUTH_OK;
  }

  // A page of the user iteration; empty at the end.
  Result<std::vector<std::pair<std::string, std::string>>> UserPage(Db& db, const std::string& after_key) const {
    Accounts accounts(db);
    return accounts.ActiveAddressPage(after_key, 1000);
  }

 private:
  static AddressOptions NoSplit() {
    AddressOptions o;
    o.recipient_delimiter.clear();
    return o;
  }

  roster_auth_result Load(Db& db, const char* user, const Reply& reply, MailboxLogin* m) const {
    auto address = ParseAddress(user, NoSplit());
    if (!address) {
      // A name that cannot be a mailbox is an unknown user, never a query.
      reply.Log(ROSTER_LOG_INFO, "refused user name: " + address.error().message);
      return ROSTER_AUTH_UNKNOWN;
    }
    Accounts accounts(db);
    auto found = accounts.FindMailboxForLogin(address->Mailbox());
    if (!found) {
      if (found.error().is_not_found()) return ROSTER_AUTH_UNKNOWN;
      reply.Log(ROSTER_LOG_ERROR, "database: " + found.error().message);
      return ROSTER_AUTH_TEMPFAIL;
    }
    *m = std::move(*found);
    if (!m->mailbox_active || !m->domain_active) return ROSTER_AUTH_DISABLED;
    return ROSTER_AUTH_OK;
  }

  std::vector<std::pair<std::string, std::string>> UserdbFields(const MailboxLogin& m) const {
    std::vector<std::pair<std::string, std::string>> f = {
        {"uid", uid_}, {"gid", gid_}, {"home", Expand(home_template_, m.address)}};
    if (!mail_template_.empty()) f.emplace_back("mail", Expand(mail_template_, m.address));
    f.emplace_back("quota_rule", QuotaRule(m.max_bytes, m.max_messages));
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

  Config config_;
  DbSettings settings_;
  PasswordHasher hasher_;
  bool rehash_;
  std::string unit_;
  std::string home_template_, mail_template_;  // read once, not per login
  unsigned threads_;
  std::string uid_, gid_;
  std::vector<std::pair<std::string, std::string>> extra_fields_;
};

// One queued request of the threaded mode and, once run, its answer.
struct Job {
  enum Kind { kVerify, kLookup, kUserdb, kLogOnly } kind;
  std::string user, password, service;
  roster_done_fn* done = nullptr;
  void* context = nullptr;
  roster_auth_result result = ROSTER_AUTH_TEMPFAIL;
  std::vector<std::string> fields;
  std::vector<std::pair<roster_log_level, std::string>> logs;

  ~Job() {
    if (!password.empty()) sodium_memzero(password.data(), password.size());
  }
};

// The threads of the threaded mode. Jobs go in on the ioloop thread; results
// come out there too, through Drain(), when the eventfd says some are ready.
class JobPool {
 public:
  JobPool(const AuthCore& core, roster_log_fn* log) : core_(core), log_(log) {}
  ~JobPool() { Stop(); }

  Result<int> Start(unsigned threads) {
    event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (event_fd_ < 0) return Error::Permanent("eventfd failed");
    for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
    return event_fd_;
  }

  void Submit(std::unique_ptr<Job> job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(job));
    }
    cv_.notify_one();
  }

  void Drain() {
    uint64_t count;
    while (read(event_fd_, &count, sizeof count) > 0) {
    }
    std::deque<std::unique_ptr<Job>> finished;
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
    if (job.kind == Job::kLogOnly) {
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

  void Finish(std::unique_ptr<Job> job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_.push_back(std::move(job));
    }
    uint64_t one = 1;
    if (write(event_fd_, &one, sizeof one) < 0) {
      // The counter is saturated: the ioloop has wakeups pending anyway.
    }
  }

  void Run() {
    Db db(core_.settings());  // this thread's own connection
    for (;;) {
      std::unique_ptr<Job> job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and nothing left to answer
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      auto collect_field = [](void* ctx, const char* name, const char* value) {
        auto* j = static_cast<Job*>(ctx);
        j->fields.emplace_back(name);
        j->fields.emplace_back(value);
      };
      auto collect_log = [](void* ctx, roster_log_level level, const char* message) {
        static_cast<Job*>(ctx)->logs.emplace_back(level, message);
      };
      Reply reply{collect_field, collect_log, job.get()};
      std::optional<PendingRehash> rehash;
      std::string password;
      try {
        switch (job->kind) {
          case Job::kVerify:
            job->result = core_.Verify(db, job->user.c_str(), job->password.c_str(), job->service.c_str(), reply, &rehash);
            break;
          case Job::kLookup: job->result = core_.Lookup(db, job->user.c_str(), job->service.c_str(), reply); break;
          case Job::kUserdb: job->result = core_.UserdbLookup(db, job->user.c_str(), reply); break;
          case Job::kLogOnly: break;
        }
      } catch (const std::exception& e) {
        job->fields.clear();
        job->result = ROSTER_AUTH_TEMPFAIL;
        job->logs.emplace_back(ROSTER_LOG_ERROR, std::string("internal error: ") + e.what());
      }
      if (rehash) password.swap(job->password);
      Finish(std::move(job));
      // The answer is on its way; only now spend time on a rehash.
      if (rehash) {
        auto note = std::make_unique<Job>();
        note->kind = Job::kLogOnly;
        Reply log_reply{collect_field, collect_log, note.get()};
        try {
          core_.Rehash(db, *rehash, password.c_str(), log_reply);
        } catch (const std::exception& e) {
          note->logs.emplace_back(ROSTER_LOG_WARNING, std::string("rehash failed: ") + e.what());
        }
        sodium_memzero(password.data(), password.size());
        if (!note->logs.empty()) Finish(std::move(note));
      }
    }
  }

  const AuthCore& core_;
  roster_log_fn* log_;
  int event_fd_ = -1;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Job>> queue_, done_;
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
  try {
    auto core = roster::AuthCore::Create(config_path);
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

int roster_auth_start(struct roster_auth* auth, roster_log_fn* log, char* error, unsigned int size) {
  try {
    auth->pool = std::make_unique<roster::JobPool>(*auth->core, log);
    auto fd = auth->pool->Start(auth->core->threads());
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
