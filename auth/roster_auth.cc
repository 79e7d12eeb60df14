// roster_auth.cc: the C++ core of the Dovecot passdb/userdb driver. It turns a
// login or user lookup into one query through common/accounts and the answer
// into Dovecot's fields. Every exception is caught here: none reaches Dovecot.
//
// Runs in Dovecot's auth-worker processes (the driver is blocking; see
// doc/ARCHITECTURE.md): one request at a time per process, so one Db
// connection per process, opened on first use.
//
// Trusts: the configuration file (root's); nothing in user names or passwords,
// which are normalised and bounded before any query; the database's answers.
#include "auth/roster_auth.h"

#include <grp.h>
#include <pwd.h>

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

class AuthCore {
 public:
  AuthCore(Config config, DbSettings settings, PasswordPolicy policy)
      : config_(std::move(config)), db_(std::move(settings)), hasher_(policy),
        rehash_(config_.GetBool("auth_rehash")), unit_(config_.GetString("unit")) {}

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

  roster_auth_result Verify(const char* user, const char* password, const Reply& reply) {
    pending_rehash_.reset();
    MailboxLogin m;
    roster_auth_result r = Load(user, reply, &m);
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
    if (rehash_ && hasher_.NeedsRehash(m.password_hash)) pending_rehash_ = PendingRehash{m.address, m.password_hash};
    Answer(m, reply);
    return ROSTER_AUTH_OK;
  }

  roster_auth_result Lookup(const char* user, const Reply& reply) {
    MailboxLogin m;
    roster_auth_result r = Load(user, reply, &m);
    if (r != ROSTER_AUTH_OK) return r;
    ParsedHash parsed = ParseStoredHash(m.password_hash);
    if (parsed.scheme == Scheme::kUnknown || (parsed.scheme == Scheme::kPlain && !hasher_.policy().allow_plaintext)) {
      reply.Log(ROSTER_LOG_ERROR, "stored password of " + m.address + " has no usable scheme");
      return ROSTER_AUTH_NO_SCHEME;
    }
    Answer(m, reply);
    return ROSTER_AUTH_OK;
  }

  void Rehash(const char* user, const char* password, const Reply& reply) {
    if (!pending_rehash_) return;
    PendingRehash pending = std::move(*pending_rehash_);
    pending_rehash_.reset();
    auto address = ParseAddress(user, NoSplit());
    if (!address || address->Mailbox().size() != pending.address.size()) return;
    auto fresh = hasher_.Hash(password);
    if (!fresh) {
      reply.Log(ROSTER_LOG_WARNING, "rehash of " + pending.address + " failed: " + fresh.error().message);
      return;
    }
    Accounts accounts(db_);
    auto replaced = accounts.ReplacePasswordHash(pending.address, pending.old_hash, *fresh);
    if (!replaced) {
      reply.Log(ROSTER_LOG_WARNING, "rehash of " + pending.address + " not stored: " + replaced.error().message);
    } else if (*replaced) {
      reply.Log(ROSTER_LOG_INFO, "password of " + pending.address + " rehashed from " +
                                     SchemeName(ParseStoredHash(pending.old_hash).scheme) + " to ARGON2ID");
    }
  }

  roster_auth_result UserdbLookup(const char* user, const Reply& reply) {
    MailboxLogin m;
    roster_auth_result r = Load(user, reply, &m);
    if (r == ROSTER_AUTH_DISABLED) return ROSTER_AUTH_UNKNOWN;  // userdb knows only usable mailboxes
    if (r != ROSTER_AUTH_OK) return r;
    reply.Set("user", m.address);
    for (const auto& [name, value] : UserdbFields(m)) reply.Set(name, value);
    return ROSTER_AUTH_OK;
  }

  // A page of the user iteration; empty at the end.
  Result<std::vector<std::pair<std::string, std::string>>> UserPage(const std::string& after_key) {
    Accounts accounts(db_);
    return accounts.ActiveAddressPage(after_key, 1000);
  }

 private:
  struct PendingRehash {
    std::string address, old_hash;
  };

  static AddressOptions NoSplit() {
    AddressOptions o;
    o.recipient_delimiter.clear();
    return o;
  }

  roster_auth_result Load(const char* user, const Reply& reply, MailboxLogin* m) {
    auto address = ParseAddress(user, NoSplit());
    if (!address) {
      // A name that cannot be a mailbox is an unknown user, never a query.
      reply.Log(ROSTER_LOG_INFO, "refused user name: " + address.error().message);
      return ROSTER_AUTH_UNKNOWN;
    }
    Accounts accounts(db_);
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
        {"uid", uid_}, {"gid", gid_}, {"home", Expand(config_.GetString("auth_home"), m.address)}};
    if (!config_.GetString("auth_mail").empty()) f.emplace_back("mail", Expand(config_.GetString("auth_mail"), m.address));
    f.emplace_back("quota_rule", QuotaRule(m.max_bytes, m.max_messages));
    for (const auto& [name, value] : extra_fields_) f.emplace_back(name, Expand(value, m.address));
    return f;
  }

  void Answer(const MailboxLogin& m, const Reply& reply) const {
    reply.Set("user", m.address);
    reply.Set("password", m.password_hash);
    if (!m.unit.empty() && m.unit != unit_) {
      // Another unit holds this mailbox: the login process proxies there.
      reply.Set("proxy", "y");
      reply.Set("host", m.unit_host.empty() ? m.unit : m.unit_host);
      return;
    }
    for (const auto& [name, value] : UserdbFields(m)) reply.Set("userdb_" + name, value);
  }

  Config config_;
  Db db_;
  PasswordHasher hasher_;
  bool rehash_;
  std::string unit_;
  std::string uid_, gid_;
  std::vector<std::pair<std::string, std::string>> extra_fields_;
  std::optional<PendingRehash> pending_rehash_;
};

}  // namespace roster

struct roster_auth {
  std::unique_ptr<roster::AuthCore> core;
};

struct roster_user_iter {
  roster::AuthCore* core;
  std::vector<std::pair<std::string, std::string>> page;  // (address, lookup key)
  size_t next = 0;
  bool exhausted = false;
  std::string current;
};

namespace {

// Runs `body`, turning any exception into a temporary failure with a log line.
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
  } catch (...) {
  }
}

enum roster_auth_result roster_auth_verify(struct roster_auth* auth, const char* user, const char* password,
                                           roster_field_fn* field, roster_log_fn* log, void* context) {
  return Guard(log, context, [&] { return auth->core->Verify(user, password, roster::Reply{field, log, context}); },
               ROSTER_AUTH_TEMPFAIL);
}

enum roster_auth_result roster_auth_lookup(struct roster_auth* auth, const char* user, roster_field_fn* field,
                                           roster_log_fn* log, void* context) {
  return Guard(log, context, [&] { return auth->core->Lookup(user, roster::Reply{field, log, context}); },
               ROSTER_AUTH_TEMPFAIL);
}

void roster_auth_rehash(struct roster_auth* auth, const char* user, const char* password, roster_log_fn* log,
                        void* context) {
  Guard(log, context,
        [&] {
          auth->core->Rehash(user, password, roster::Reply{nullptr, log, context});
          return 0;
        },
        0);
}

enum roster_auth_result roster_userdb_lookup(struct roster_auth* auth, const char* user, roster_field_fn* field,
                                             roster_log_fn* log, void* context) {
  return Guard(log, context, [&] { return auth->core->UserdbLookup(user, roster::Reply{field, log, context}); },
               ROSTER_AUTH_TEMPFAIL);
}

struct roster_user_iter* roster_userdb_iter_init(struct roster_auth* auth) {
  try {
    auto iter = std::make_unique<roster_user_iter>();
    iter->core = auth->core.get();
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
                   auto page = iter->core->UserPage(after);
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

void roster_userdb_iter_deinit(struct roster_user_iter* iter) {
  std::unique_ptr<roster_user_iter> owned(iter);
}

}  // extern "C"
