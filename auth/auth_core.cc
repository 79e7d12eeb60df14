// auth_core.cc: the passdb/userdb driver's core (auth/auth_core.h): the
// rules of an answer (Rules), the steps of a request (Job, Steps), and the
// threads of the threaded mode (Pool). Blocking and threaded mode run the
// same steps; they differ only in who runs them and when.
//
// Trusts: the configuration file (root's); nothing in user names or
// passwords, which are normalised and bounded before any query; the
// database's answers.
#include "auth/auth_core.h"

#include <grp.h>
#include <pwd.h>
#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "common/address.h"
#include "common/app_passwords.h"
#include "common/config.h"
#include "common/db.h"
#include "common/handoff.h"
#include "common/ip.h"
#include "common/login_store.h"
#include "common/password.h"
#include "common/text.h"
#include "common/units.h"

namespace roster::auth {
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
      {"INBOX", "mail_inbox_path"},           {"INDEX", "mail_index_path"},
      {"INDEXPVT", "mail_index_private_path"}, {"CONTROL", "mail_control_path"},
      {"VOLATILEDIR", "mail_volatile_path"},   {"ALT", "mail_alt_path"},
      {"LAYOUT", "mailbox_list_layout"},       {"DIRNAME", "mailbox_directory_name"},
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
  bool inbox_given = false;
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
    if (key == "INBOX") inbox_given = true;
  }
  // On 2.3 a location replaced the whole mail setting, so a maildir's INBOX
  // was its root. On 2.4 the fields override one setting each, and Debian's
  // mail_inbox_path (/var/mail/%{user}) would stay: a maildir's INBOX is put
  // back at its root ("."; an empty value would make it a folder .INBOX).
  if (!inbox_given && parts[0] == "maildir") fields.emplace_back("mail_inbox_path", ".");
  return fields;
}

void Set(Answer& a, std::string name, std::string value) { a.fields.emplace_back(std::move(name), std::move(value)); }
void Log(Answer& a, LogLevel level, std::string message) { a.logs.push_back(LogLine{level, std::move(message)}); }

struct PendingRehash {
  std::string address, old_hash;
};

// A successful verify, for the login history and the app password's last use.
struct LoginNote {
  uint64_t mailbox_id = 0;
  uint64_t newest_seq = 0;   // of its history, as the login query read it
  std::string protocol;
  std::string ip;            // packed, "" if unknown
  uint64_t app_password_id = 0;  // 0: the main password
  bool touch_app_password = false;  // its last use is due (AppPasswordKey::last_use_due)
  bool raise_newest = true;  // the mailbox's newest login is due (MailboxLogin::newest_login_due)
};

// What a verify knows about where it comes from.
struct Origin {
  unsigned protocol = 0;  // common/app_passwords.h; 0 = a service no list names
  bool webmail = false;   // from auth_webmail_networks
  std::string ip;         // packed, "" if unknown
};

}  // namespace

// What an answer is made of: everything a request needs but a connection.
// Immutable after Create (the dummy hash aside, which has its own lock), so
// every thread may use it at once.
class AuthCore::Rules {
 public:
  Rules(Config config, DbSettings settings, PasswordPolicy policy)
      : config_(std::move(config)), settings_(std::move(settings)), hasher_(policy),
        rehash_(config_.GetBool("auth_rehash")), unit_(config_.GetString("unit")),
        home_template_(config_.GetString("auth_home")), mail_template_(config_.GetString("auth_mail")),
        threads_(static_cast<unsigned>(config_.GetInt("auth_threads"))),
        lookup_threads_(static_cast<unsigned>(config_.GetInt("auth_lookup_threads"))) {
    // The `password` an app-password login gives Dovecot's auth cache: a
    // SHA-256 of random bytes, which no typed password matches, so a cache
    // hit always goes back to the driver (doc/dovecot.md, the auth cache).
    unsigned char random[32];
    randombytes_buf(random, sizeof random);
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, random, sizeof random);
    char b64[sodium_base64_ENCODED_LEN(sizeof digest, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(b64, sizeof b64, digest, sizeof digest, sodium_base64_VARIANT_ORIGINAL);
    uncacheable_password_ = std::string("{SHA256}") + b64;
  }

  static Result<std::unique_ptr<Rules>> Create(const std::string& path, FieldDialect dialect) {
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
    int64_t history = config->GetInt("auth_login_history");
    if (history < 0 || history > 1000) return Error::Invalid(config->Origin("auth_login_history") + ": 0 to 1000");
    std::vector<IpPrefix> webmail;
    for (const std::string& net : config->GetList("auth_webmail_networks")) {
      auto prefix = ParseIpPrefix(net);
      if (!prefix) return Error::Invalid(config->Origin("auth_webmail_networks") + ": auth_webmail_networks: " +
                              prefix.error().message);
      webmail.push_back(std::move(*prefix));
    }
    auto rules = std::make_unique<Rules>(std::move(*config), std::move(*settings), *policy);
    rules->uid_ = *uid;
    rules->gid_ = *gid;
    rules->history_slots_ = static_cast<unsigned>(history);
    rules->webmail_ = std::move(webmail);
    rules->dialect_ = dialect;
    if (!rules->mail_template_.empty()) {
      if (dialect == FieldDialect::kDovecot24) {
        auto fields = MailLocation24(rules->mail_template_);
        if (!fields) return Error::Invalid(rules->config_.Origin("auth_mail") + ": " + fields.error().message);
        rules->mail_fields_ = std::move(*fields);
      } else {
        rules->mail_fields_.emplace_back("mail", rules->mail_template_);
      }
    }
    for (const std::string& kv : SplitConfigList(rules->config_.GetString("auth_userdb_fields"))) {
      auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0)
        return Error::Invalid(rules->config_.Origin("auth_userdb_fields") + ": expected name=value, got '" + kv +
                              "'");
      rules->extra_fields_.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    }
    return rules;
  }

  const DbSettings& settings() const { return settings_; }
  unsigned threads() const { return threads_; }
  unsigned lookup_threads() const { return lookup_threads_; }

  // The mailbox key of a user name, or nothing (logged) if the name cannot be
  // a mailbox: such a name is an unknown user, never a query.
  std::optional<std::string> MailboxKey(const std::string& user, Answer& answer) const {
    auto address = ParseMailboxName(user);
    if (!address) {
      Log(answer, LogLevel::kInfo, "refused user name: " + address.error().message);
      return std::nullopt;
    }
    return address->Mailbox();
  }

  // Turns the database's answer into kOk (mailbox usable), kUnknown,
  // kDisabled or kTempFail.
  Outcome Judge(const Result<MailboxLogin>& found, Answer& answer) const {
    if (!found) {
      if (found.error().is_not_found()) return Outcome::kUnknown;
      Log(answer, LogLevel::kError, "database: " + found.error().message);
      return Outcome::kTempFail;
    }
    if (!found->mailbox_active || !found->domain_active) return Outcome::kDisabled;
    // The name becomes a path (home, mail): a row written around roster's
    // checks must not lead into another mailbox's directory.
    if (Status safe = CheckMailboxPathName(found->address); !safe) {
      Log(answer, LogLevel::kError, "refused: " + safe.error().message);
      return Outcome::kDisabled;
    }
    return Outcome::kOk;
  }

  // A verify that found no usable mailbox (unknown, refused name, disabled
  // mailbox or domain) still checks the password, against the dummy hash.
  static bool NeedsDummyVerify(Outcome r) { return r == Outcome::kUnknown || r == Outcome::kDisabled; }

  // Spends on `password` the work of a real argon2id verify with the
  // configured parameters; the answer stays what it was. The dummy hash is
  // made at the first need, once per core: a core that never verifies a
  // password (an auth process serving only the userdb) pays nothing for it.
  // (That first verify costs a hash more.)
  void DummyVerify(const std::string& password, Answer& answer) const {
    const std::string* dummy = DummyHash(answer);
    if (dummy == nullptr) return;
    Verification v = hasher_.Verify(password, *dummy);
    (void)v;  // whatever it says, the user stays unknown or disabled
    dummy_verifications_.fetch_add(1, std::memory_order_relaxed);
    verifications_.fetch_add(1, std::memory_order_relaxed);
  }
  uint64_t dummy_verifications() const { return dummy_verifications_.load(std::memory_order_relaxed); }

  // The stored hash costs next to nothing to check ({PLAIN}, or unusable):
  // the thread that looked it up checks it at once instead of handing it on.
  // So is an app password (one SHA-256).
  static bool CheapToVerify(const MailboxLogin& m, const std::string& password) {
    if (FindAppPassword(m, password) != nullptr) return true;
    Scheme scheme = ParseStoredHash(m.password_hash).scheme;
    return scheme == Scheme::kPlain || scheme == Scheme::kUnknown;
  }

  // The app password a typed password names by its selector, if any.
  static const AppPasswordKey* FindAppPassword(const MailboxLogin& m, const std::string& password) {
    if (m.app_passwords.empty()) return nullptr;
    auto normalised = NormaliseAppPassword(password);
    if (!normalised) return nullptr;
    const AppPasswordKey* found = nullptr;
    for (const AppPasswordKey& key : m.app_passwords)
      if (key.selector == normalised->substr(0, kSelectorChars)) found = &key;
    sodium_memzero(normalised->data(), normalised->size());
    return found;
  }

  Origin OriginOf(const std::string& service, const std::string& remote_ip) const {
    Origin o;
    o.protocol = ProtocolOfService(service);
    if (!remote_ip.empty()) {
      auto packed = PackIp(remote_ip);
      if (packed) o.ip = std::move(*packed);
    }
    o.webmail = !o.ip.empty() && InAnyPrefix(o.ip, webmail_);
    return o;
  }

  unsigned history_slots() const { return history_slots_; }
  bool has_webmail_networks() const { return !webmail_.empty(); }
  uint64_t verifications() const { return verifications_.load(std::memory_order_relaxed); }

  // passdb verify of a usable mailbox. On kOk, *rehash says whether a fresh
  // hash should replace the verified one.
  // On kOk, *note says what to record.
  Outcome CheckPassword(const MailboxLogin& m, const std::string& password, const std::string& service,
                        const std::string& remote_ip, Answer& answer, std::optional<PendingRehash>* rehash,
                        std::optional<LoginNote>* note) const {
    rehash->reset();
    note->reset();
    Origin origin = OriginOf(service, remote_ip);
    if (const AppPasswordKey* app = FindAppPassword(m, password))
      return CheckAppPassword(m, *app, password, service, origin, answer, note);
    verifications_.fetch_add(1, std::memory_order_relaxed);
    Verification v = hasher_.Verify(password, m.password_hash);
    switch (v.outcome) {
      case VerifyOutcome::kMatch: break;
      case VerifyOutcome::kMismatch: return Outcome::kMismatch;
      case VerifyOutcome::kMalformed:
      case VerifyOutcome::kUnsupported:
        Log(answer, LogLevel::kError, "stored password of " + m.address + " is unusable: " + v.reason);
        return Outcome::kNoScheme;
    }
    if (!ProtocolAllowed(m.login_protocols, origin.protocol, origin.webmail)) {
      Log(answer, LogLevel::kInfo, "refused: " + m.address + " may not log in over " + Where(service, remote_ip, origin));
      return Outcome::kMismatch;
    }
    if (!ProtocolAllowed(m.main_password_protocols, origin.protocol, origin.webmail)) {
      Log(answer, LogLevel::kInfo,
          "refused: the main password of " + m.address + " does not work over " + Where(service, remote_ip, origin) +
              " (app passwords only there)");
      return Outcome::kMismatch;
    }
    if (rehash_ && hasher_.NeedsRehash(m.password_hash)) *rehash = PendingRehash{m.address, m.password_hash};
    PassdbFields(m, service, answer, m.password_hash);
    *note = LoginNote{m.id, m.newest_login_seq, service, origin.ip, 0, false, m.newest_login_due};
    return Outcome::kOk;
  }

  // passdb lookup_credentials of a usable mailbox: only the main password can
  // be checked this way, so where it may not be used the answer is kMismatch.
  Outcome Credentials(const MailboxLogin& m, const std::string& service, const std::string& remote_ip,
                      Answer& answer) const {
    Origin origin = OriginOf(service, remote_ip);
    if (!ProtocolAllowed(m.login_protocols, origin.protocol, origin.webmail) ||
        !ProtocolAllowed(m.main_password_protocols, origin.protocol, origin.webmail)) {
      Log(answer, LogLevel::kInfo,
          "refused: credentials of " + m.address + " are not for " + Where(service, remote_ip, origin));
      return Outcome::kMismatch;
    }
    ParsedHash parsed = ParseStoredHash(m.password_hash);
    if (parsed.scheme == Scheme::kUnknown || (parsed.scheme == Scheme::kPlain && !hasher_.policy().allow_plaintext)) {
      Log(answer, LogLevel::kError, "stored password of " + m.address + " has no usable scheme");
      return Outcome::kNoScheme;
    }
    PassdbFields(m, service, answer, m.password_hash);
    return Outcome::kOk;
  }

  // userdb answer for a usable mailbox.
  Outcome UserdbAnswer(const MailboxLogin& m, Answer& answer) const {
    Set(answer, "user", m.address);
    for (auto& [name, value] : UserdbFields(m)) Set(answer, std::move(name), std::move(value));
    return Outcome::kOk;
  }

  // The history entry of a successful login: the seq after the newest one
  // the login query read.
  static LoginEntry HistoryEntry(const LoginNote& note) {
    return LoginEntry{note.mailbox_id, note.newest_seq + 1, note.protocol, note.ip, note.app_password_id,
                      note.raise_newest};
  }

  // Records successful logins: `history` (one append, however many; a
  // prune first once every history_slots_ logins of a mailbox), the
  // app password's last use of `note`, if any and due. Never fails a login:
  // they were answered already; a failure is logged.
  void Record(Db& db, const std::vector<LoginEntry>& history, const LoginNote* note, Answer& answer) const {
    LoginStore store(db);
    if (history_slots_ > 0 && !history.empty()) {
      Status s = store.RecordLogins(history, history_slots_);
      if (!s.ok())
        Log(answer, LogLevel::kWarning,
            "login history not written (" + std::to_string(history.size()) + " logins): " + s.error().message);
    }
    if (note && note->touch_app_password) {
      Status s = store.TouchAppPassword(note->app_password_id, note->ip);
      if (!s.ok()) Log(answer, LogLevel::kWarning, "app password's last use not written: " + s.error().message);
    }
  }

  // Stores a fresh hash in place of the verified one, unless the stored hash
  // changed meanwhile (compare-and-set).
  void Rehash(Db& db, const PendingRehash& pending, const std::string& password, Answer& answer) const {
    auto fresh = hasher_.Hash(password);
    if (!fresh) {
      Log(answer, LogLevel::kWarning, "rehash of " + pending.address + " failed: " + fresh.error().message);
      return;
    }
    LoginStore accounts(db);
    auto replaced = accounts.ReplacePasswordHash(pending.address, pending.old_hash, *fresh);
    if (!replaced) {
      Log(answer, LogLevel::kWarning, "rehash of " + pending.address + " not stored: " + replaced.error().message);
    } else if (*replaced) {
      Log(answer, LogLevel::kInfo,
          "password of " + pending.address + " rehashed from " + SchemeName(ParseStoredHash(pending.old_hash).scheme) +
              " to ARGON2ID");
    }
  }

 private:
  std::vector<std::pair<std::string, std::string>> UserdbFields(const MailboxLogin& m) const {
    std::vector<std::pair<std::string, std::string>> f = {
        {"uid", uid_}, {"gid", gid_}, {"home", Expand(home_template_, m.address)}};
    for (const auto& [name, value] : mail_fields_) f.emplace_back(name, Expand(value, m.address));
    if (dialect_ == FieldDialect::kDovecot24) {
      for (auto& limit : QuotaLimits24(m.max_bytes, m.max_messages)) f.push_back(std::move(limit));
    } else {
      f.emplace_back("quota_rule", QuotaRule(m.max_bytes, m.max_messages));
    }
    for (const auto& [name, value] : extra_fields_) f.emplace_back(name, Expand(value, m.address));
    return f;
  }

  static std::string Where(const std::string& service, const std::string& remote_ip, const Origin& origin) {
    return (service.empty() ? std::string("an unnamed service") : Shown(service, 32)) + " from " +
           (remote_ip.empty() ? std::string("an unknown address") : Shown(remote_ip, 64)) +
           (origin.webmail ? " (webmail)" : "");
  }

  // One SHA-256, then the rules; the main password is not tried after it.
  Outcome CheckAppPassword(const MailboxLogin& m, const AppPasswordKey& app, const std::string& password,
                           const std::string& service, const Origin& origin, Answer& answer,
                           std::optional<LoginNote>* note) const {
    verifications_.fetch_add(1, std::memory_order_relaxed);
    auto normalised = NormaliseAppPassword(password);
    std::string digest = AppPasswordDigest(*normalised);
    sodium_memzero(normalised->data(), normalised->size());
    if (crypto_verify_32(reinterpret_cast<const unsigned char*>(digest.data()),
                         reinterpret_cast<const unsigned char*>(app.digest.data())) != 0)
      return Outcome::kMismatch;
    std::string which = "app password " + std::to_string(app.id) + " of " + m.address;
    if (app.expired) {
      Log(answer, LogLevel::kInfo, "refused: " + which + " has expired");
      return Outcome::kMismatch;
    }
    std::string remote_ip = origin.ip.empty() ? "" : UnpackIp(origin.ip);
    if (!ProtocolAllowed(app.protocols, origin.protocol, origin.webmail)) {
      Log(answer, LogLevel::kInfo, "refused: " + which + " is not for " + Where(service, remote_ip, origin));
      return Outcome::kMismatch;
    }
    if (!ProtocolAllowed(m.login_protocols, origin.protocol, origin.webmail)) {
      Log(answer, LogLevel::kInfo, "refused: " + m.address + " may not log in over " + Where(service, remote_ip, origin));
      return Outcome::kMismatch;
    }
    // Never the main hash: a cache hit must not let the main password in
    // where only app passwords work, and never a copy of this app password,
    // which may expire or be revoked: Dovecot's cache sends the next login
    // back here.
    PassdbFields(m, service, answer, uncacheable_password_);
    *note = LoginNote{m.id, m.newest_login_seq, service, origin.ip, app.id, app.last_use_due, m.newest_login_due};
    return Outcome::kOk;
  }

  void PassdbFields(const MailboxLogin& m, const std::string& service, Answer& answer,
                    const std::string& password) const {
    Set(answer, "user", m.address);
    Set(answer, "password", password);
    if (!m.unit.empty() && m.unit != unit_) {
      // Another unit holds this mailbox: the login process proxies there.
      Set(answer, "proxy", "y");
      Set(answer, "host", m.unit_host.empty() ? m.unit : m.unit_host);
      unsigned port = service == "imap" ? m.unit_imap_port : service == "pop3" ? m.unit_pop3_port : 0;
      if (port != 0) Set(answer, "port", std::to_string(port));
      return;
    }
    for (auto& [name, value] : UserdbFields(m)) Set(answer, "userdb_" + name, std::move(value));
  }

  // The dummy hash, or nullptr (logged) if it cannot be made now (argon2
  // out of memory); then the next need tries again.
  const std::string* DummyHash(Answer& answer) const {
    std::lock_guard<std::mutex> lock(dummy_mu_);
    if (dummy_hash_.empty()) {
      // Its password does not matter: no answer depends on the outcome.
      auto made = hasher_.Hash("roster: no such user");
      if (!made) {
        Log(answer, LogLevel::kWarning, "dummy password hash not made: " + made.error().message);
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
  mutable std::string dummy_hash_;  // GUARDED_BY(dummy_mu_) until set, then never changed
  mutable std::atomic<uint64_t> dummy_verifications_{0};
  mutable std::atomic<uint64_t> verifications_{0};
  std::string uncacheable_password_;  // set in the constructor, then never changed
  unsigned history_slots_ = 0;
  std::vector<IpPrefix> webmail_;
  bool rehash_;
  std::string unit_;
  std::string home_template_, mail_template_;  // read once, not per login
  FieldDialect dialect_ = FieldDialect::kDovecot23;
  // The mail location as the dialect's fields (templates): ("mail", location)
  // for 2.3, ("mail_driver", ...), ("mail_path", ...), ... for 2.4.
  std::vector<std::pair<std::string, std::string>> mail_fields_;
  unsigned threads_, lookup_threads_;
  std::string uid_, gid_;
  std::vector<std::pair<std::string, std::string>> extra_fields_;
};

// One request and, once run, its answer. A verify whose hash is costly goes
// through two steps: the lookup (batched with others in threaded mode) and
// the hashing. A rehash is a job of its own, made by a verify that matched a
// weaker hash and run after that login was answered; it answers nobody, only
// logs (to the core's LogFn).
class AuthCore::Job : public Handoff::Item {
 public:
  // kRehash and kRecord run after their login was answered and answer nobody.
  enum Kind { kVerify, kLookup, kUserdb, kRehash, kRecord } kind = kVerify;
  bool after_answer() const { return kind == kRehash || kind == kRecord; }
  std::string user, password, service, remote_ip;
  DoneFn done;              // not after_answer()
  const LogFn* log = nullptr;  // after_answer()
  Answer answer;
  std::optional<MailboxLogin> mailbox;  // looked up, waiting for its hashing (none: the dummy check)
  std::optional<PendingRehash> rehash;  // kRehash: what to replace
  std::optional<LoginNote> note;        // kRecord: a login to record (its last use; its history, below)
  std::vector<LoginEntry> history;      // kRecord: the history entries to write
  bool needs_hashing = false;           // looked up; its password check is still to run

  ~Job() override {
    if (!password.empty()) sodium_memzero(password.data(), password.size());
  }
  void Fail(const std::string& why) {
    answer.fields.clear();
    answer.outcome = Outcome::kTempFail;
    Log(answer, LogLevel::kError, why);
  }
  void Complete() noexcept override {
    if (after_answer()) {
      if (log && *log)
        for (const LogLine& line : answer.logs) (*log)(line.level, line.message);
      return;
    }
    done(answer);
  }
};

namespace {

using Job = AuthCore::Job;
using JobList = std::vector<std::unique_ptr<Job>>;

// The steps of a request, the same in both modes. Each leaves a job answered,
// or marked for its hashing (needs_hashing), and may make a rehash job.
class Steps {
 public:
  Steps(const AuthCore::Rules& rules, const LogFn* log) : rules_(rules), log_(log) {}

  // Looks up every job of the batch with one query (per kMaxBatch).
  void LookUp(Db& db, JobList& batch, JobList* rehashes) const {
    std::vector<Job*> asked;
    std::vector<std::string> keys, selectors;
    for (auto& job : batch) {
      auto key = rules_.MailboxKey(job->user, job->answer);
      if (!key) {
        job->answer.outcome = Outcome::kUnknown;
        NeedsDummy(*job);
        continue;
      }
      keys.push_back(std::move(*key));
      selectors.push_back(job->kind == Job::kVerify ? SelectorOf(job->password) : std::string());
      asked.push_back(job.get());
    }
    if (asked.empty()) return;
    bool history = rules_.history_slots() > 0;  // the login query brings each mailbox's newest seq
    LoginStore accounts(db);
    if (asked.size() == 1) {
      Continue(*asked.front(), accounts.FindMailboxForLogin(keys.front(), selectors.front(), history), rehashes);
      return;
    }
    auto found = accounts.FindMailboxesForLogin(keys, selectors, history);
    for (size_t i = 0; i < asked.size(); ++i) {
      if (!found)
        Continue(*asked[i], found.error(), rehashes);
      else if (!(*found)[i])
        Continue(*asked[i], Error::NotFound("no such mailbox"), rehashes);
      else
        Continue(*asked[i], std::move(*(*found)[i]), rehashes);
    }
  }

  // A job from the hashing queue: a verify's password check, or a rehash.
  void RunCpuJob(Db& db, Job& job, JobList* rehashes) const {
    if (job.kind == Job::kRecord) {
      rules_.Record(db, job.history, job.note ? &*job.note : nullptr, job.answer);
      return;
    }
    if (job.kind != Job::kRehash) {
      Hash(job, rehashes);
      return;
    }
    rules_.Rehash(db, *job.rehash, job.password, job.answer);
    sodium_memzero(job.password.data(), job.password.size());
  }

 private:
  // A job that has found its mailbox (or not): answered, or marked for hashing.
  void Continue(Job& job, const Result<MailboxLogin>& found, JobList* rehashes) const {
    Outcome judged = rules_.Judge(found, job.answer);
    if (judged != Outcome::kOk) {
      // The userdb knows only usable mailboxes: a disabled one is unknown there.
      job.answer.outcome = job.kind == Job::kUserdb && judged == Outcome::kDisabled ? Outcome::kUnknown : judged;
      NeedsDummy(job);
      return;
    }
    switch (job.kind) {
      case Job::kLookup:
        job.answer.outcome = rules_.Credentials(*found, job.service, job.remote_ip, job.answer);
        break;
      case Job::kUserdb: job.answer.outcome = rules_.UserdbAnswer(*found, job.answer); break;
      case Job::kVerify:
        job.mailbox = *found;
        if (AuthCore::Rules::CheapToVerify(*found, job.password))
          Hash(job, rehashes);
        else
          job.needs_hashing = true;
        break;
      case Job::kRehash:
      case Job::kRecord: break;
    }
  }

  // A verify answered without a mailbox still has its password checked (the
  // dummy check), on a hashing thread like any other.
  static void NeedsDummy(Job& job) {
    if (job.kind == Job::kVerify && AuthCore::Rules::NeedsDummyVerify(job.answer.outcome)) job.needs_hashing = true;
  }

  // The password check of a looked-up verify; makes its rehash if one is due.
  void Hash(Job& job, JobList* rehashes) const {
    job.needs_hashing = false;
    if (!job.mailbox) {
      rules_.DummyVerify(job.password, job.answer);
      return;
    }
    std::optional<PendingRehash> rehash;
    std::optional<LoginNote> note;
    job.answer.outcome =
        rules_.CheckPassword(*job.mailbox, job.password, job.service, job.remote_ip, job.answer, &rehash, &note);
    if (note && (rules_.history_slots() > 0 || note->touch_app_password)) {
      auto record = std::make_unique<Job>();
      record->kind = Job::kRecord;
      record->log = log_;
      if (rules_.history_slots() > 0) record->history.push_back(AuthCore::Rules::HistoryEntry(*note));
      record->note = std::move(note);
      rehashes->push_back(std::move(record));
    }
    if (!rehash) return;
    auto redo = std::make_unique<Job>();
    redo->kind = Job::kRehash;
    redo->log = log_;
    redo->rehash = std::move(rehash);
    redo->password.swap(job.password);
    rehashes->push_back(std::move(redo));
  }

  const AuthCore::Rules& rules_;
  const LogFn* log_;
};

}  // namespace

// The threads of the threaded mode. Jobs go in on the host thread; answers
// come back there through the Handoff.
//
// Why batches: on a small machine a login's cost is mostly wakeups and round
// trips (ioloop -> thread -> database -> thread -> ioloop), not work. A thread
// takes every waiting job (up to kMaxBatch), looks them all up in
// one query and hands all answers back with one wakeup. At most
// `max_lookups` threads query at once, so that under load jobs gather into
// batches instead of each waking a thread of its own; the other threads hash.
class AuthCore::Pool {
 public:
  Pool(const Rules& rules, const LogFn* log, std::unique_ptr<Handoff> handoff)
      : rules_(rules), log_(log), steps_(rules, log), handoff_(std::move(handoff)) {}
  ~Pool() { Stop(); }

  Handoff& handoff() { return *handoff_; }

  void Start(unsigned threads, unsigned max_lookups) {
    max_lookups_ = std::max(1u, std::min(threads, max_lookups));
    for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
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

  // The threads end their current batch and stop; jobs no thread has taken
  // are answered kTempFail without running (a rehash is dropped). Every
  // answer waits in the handoff for the host's Drain().
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
    Handoff::Items answered;
    std::lock_guard<std::mutex> lock(mu_);
    for (auto* queue : {&lookups_, &cpu_}) {
      for (auto& job : *queue) {
        if (job->after_answer()) continue;  // a rehash's password is wiped with it
        job->Fail("shutting down");
        answered.push_back(std::move(job));
      }
      queue->clear();
    }
    handoff_->Post(std::move(answered));
  }

 private:
  // Hands answered jobs to the host (one wakeup for all) and queues the ones
  // still to hash, and the rehashes, for any thread.
  void Hand(JobList jobs, JobList rehashes) {
    Handoff::Items answered;
    size_t queued = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& job : jobs) {
        if (job->needs_hashing) {
          cpu_.push_back(std::move(job));
          ++queued;
        } else if (!job->after_answer() || !job->answer.logs.empty()) {  // a silent one needs no delivery
          answered.push_back(std::move(job));
        }
      }
      for (auto& job : rehashes) {
        if (job->kind == Job::kRecord) {
          // Its history joins the others waiting (written together, below);
          // only an app password's due last use still needs a job.
          for (LoginEntry& entry : job->history) Buffer(std::move(entry));
          job->history.clear();
          if (!job->note || !job->note->touch_app_password) continue;
        }
        cpu_.push_back(std::move(job));
        ++queued;
      }
      // (A history not yet due needs nobody woken: this thread waits for it
      // when it goes back to Run's wait.)
      if (HistoryDue()) ++queued;
    }
    for (size_t i = 0; i < queued; ++i) cv_.notify_one();
    handoff_->Post(std::move(answered));
  }

  void Run() {
    Db db(rules_.settings());  // this thread's own connection, opened at first use
    bool lookup = false;
    for (;;) {
      JobList jobs;  // owns what this thread works on until it is handed on
      {
        std::unique_lock<std::mutex> lock(mu_);
        if (lookup) --lookups_running_;
        for (;;) {
          if (stopping_ || !cpu_.empty() || (!lookups_.empty() && lookups_running_ < max_lookups_) ||
              HistoryDue())
            break;
          if (!history_.empty() && !writing_history_)
            cv_.wait_until(lock, history_since_ + kHistoryDelay);
          else
            cv_.wait(lock);
        }
        bool history_waits = !history_.empty() && !writing_history_;
        // What is queued is answered by Stop(); the history waiting is written first.
        if (stopping_ && !history_waits) return;
        bool can_look_up = !lookups_.empty() && lookups_running_ < max_lookups_;
        // The history is written once a whole statement's worth waits, or its
        // oldest has waited kHistoryDelay: few statements (and commits) under
        // load, and it neither delays answers nor grows.
        if (HistoryDue()) {
          auto write = std::make_unique<Job>();
          write->kind = Job::kRecord;
          write->log = log_;
          while (!history_.empty() && write->history.size() < LoginStore::kMaxLoginBatch) {
            write->history.push_back(std::move(history_.front()));
            history_.pop_front();
          }
          if (dropped_history_ > 0) {
            Log(write->answer, LogLevel::kWarning,
                "login history: " + std::to_string(dropped_history_) + " logins not recorded (too many waiting)");
            dropped_history_ = 0;
          }
          writing_history_ = true;
          jobs.push_back(std::move(write));
          lookup = false;
        // A thread that just looked up goes on with the requests that queued
        // meanwhile (nobody was woken for them); the others hash first, as
        // those requests have waited for their lookup already.
        } else if (can_look_up && (lookup || cpu_.empty())) {
          while (!lookups_.empty() && jobs.size() < kMaxBatch) {
            jobs.push_back(std::move(lookups_.front()));
            lookups_.pop_front();
          }
          ++lookups_running_;
          lookup = true;
        } else {
          jobs.push_back(std::move(cpu_.front()));
          cpu_.pop_front();
          lookup = false;
        }
      }
      JobList rehashes;
      bool wrote_history = !lookup && jobs.front()->kind == Job::kRecord && !jobs.front()->note;
      try {
        if (lookup)
          steps_.LookUp(db, jobs, &rehashes);
        else
          steps_.RunCpuJob(db, *jobs.front(), &rehashes);
      } catch (const std::exception& e) {
        // Out of memory, most likely: every job taken is answered anyway.
        for (auto& job : jobs) {
          job->needs_hashing = false;
          job->Fail(std::string("internal error: ") + e.what());
        }
      }
      if (wrote_history) {
        std::lock_guard<std::mutex> lock(mu_);
        writing_history_ = false;
      }
      Hand(std::move(jobs), std::move(rehashes));
    }
  }

  // Adds a login to the history waiting to be written, with its mailbox's
  // next seq: after the newest the login query read, and after the last this
  // process gave the mailbox (a write may still be on its way, and two
  // logins of one mailbox may share a batch). Bounded: past kMaxHistoryWaiting
  // a login is counted and not recorded.
  void Buffer(LoginEntry entry) {  // REQUIRES(mu_)
    if (history_.size() >= kMaxHistoryWaiting) {
      ++dropped_history_;
      return;
    }
    if (history_.empty()) history_since_ = std::chrono::steady_clock::now();
    if (last_seq_.size() >= kMaxHistoryWaiting) last_seq_.clear();  // a memory, not a truth: bounded
    uint64_t& last = last_seq_[entry.mailbox_id];
    entry.seq = std::max(entry.seq, last + 1);
    last = entry.seq;
    history_.push_back(std::move(entry));
  }

  const Rules& rules_;
  const LogFn* log_;
  const Steps steps_;
  std::unique_ptr<Handoff> handoff_;
  unsigned max_lookups_ = 1;
  std::vector<std::thread> threads_;  // the host thread's alone
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Job>> lookups_, cpu_;  // waiting for a lookup / for hashing; GUARDED_BY(mu_)
  unsigned lookups_running_ = 0;                    // GUARDED_BY(mu_)
  bool stopping_ = false;                           // GUARDED_BY(mu_)
  // Whether a thread should write the history now (see Run).
  bool HistoryDue() const {  // REQUIRES(mu_)
    return !history_.empty() && !writing_history_ &&
           (stopping_ || history_.size() >= LoginStore::kMaxLoginBatch ||
            std::chrono::steady_clock::now() - history_since_ >= kHistoryDelay);
  }

  // The login history waiting to be written (one thread at a time writes a
  // statement's worth), since when it waits, what was dropped since the last
  // write, and the last seq given per mailbox.
  static constexpr size_t kMaxHistoryWaiting = 4096;
  static constexpr std::chrono::milliseconds kHistoryDelay{200};
  std::deque<LoginEntry> history_;                  // GUARDED_BY(mu_)
  std::chrono::steady_clock::time_point history_since_;  // GUARDED_BY(mu_)
  bool writing_history_ = false;                    // GUARDED_BY(mu_)
  uint64_t dropped_history_ = 0;                    // GUARDED_BY(mu_)
  std::unordered_map<uint64_t, uint64_t> last_seq_; // GUARDED_BY(mu_)
};

// The host thread's connection: blocking mode's jobs and the user iteration.
struct AuthCore::Inline {
  explicit Inline(const DbSettings& settings) : db(settings) {}
  Db db;
};

AuthCore::AuthCore(std::unique_ptr<Rules> rules, LogFn log)
    : rules_(std::move(rules)), log_(std::move(log)), inline_(std::make_unique<Inline>(rules_->settings())) {}

AuthCore::~AuthCore() { Stop(); }

Result<std::unique_ptr<AuthCore>> AuthCore::Create(const std::string& config_path, FieldDialect dialect,
                                                   LogFn log) {
  auto rules = Rules::Create(config_path, dialect);
  if (!rules) return rules.error();
  return std::unique_ptr<AuthCore>(new AuthCore(std::move(*rules), std::move(log)));
}

unsigned AuthCore::threads() const { return rules_->threads(); }
bool AuthCore::started() const { return pool_ != nullptr; }
int AuthCore::fd() const { return pool_ ? pool_->handoff().fd() : -1; }
uint64_t AuthCore::dummy_verifications() const { return rules_->dummy_verifications(); }
uint64_t AuthCore::verifications() const { return rules_->verifications(); }
bool AuthCore::answers_depend_on_address() const { return rules_->has_webmail_networks(); }

Status AuthCore::Start() {
  if (pool_) return Status::Ok();
  if (stopped_) return Error::Invalid("stopped");
  if (rules_->threads() == 0) return Error::Invalid("auth_threads = 0: blocking mode has no threads");
  auto handoff = Handoff::Create();
  if (!handoff) return handoff.error();
  auto pool = std::make_unique<Pool>(*rules_, &log_, std::move(*handoff));
  pool->Start(rules_->threads(), rules_->lookup_threads());
  pool_ = std::move(pool);
  return Status::Ok();
}

void AuthCore::Submit(Request request, DoneFn done) {
  auto job = std::make_unique<Job>();
  switch (request.kind) {
    case Request::kVerify: job->kind = Job::kVerify; break;
    case Request::kLookup: job->kind = Job::kLookup; break;
    case Request::kUserdb: job->kind = Job::kUserdb; break;
  }
  job->user = std::move(request.user);
  job->password.swap(request.password);
  job->service = std::move(request.service);
  job->remote_ip = std::move(request.remote_ip);
  job->done = std::move(done);
  if (stopped_) {
    job->Fail("shutting down");
    job->Complete();
  } else if (pool_) {
    pool_->Submit(std::move(job));
  } else {
    RunInline(std::move(job));
  }
}

void AuthCore::RunInline(std::unique_ptr<Job> job) {
  Steps steps(*rules_, &log_);
  Db& db = inline_->db;
  JobList batch, rehashes;
  batch.push_back(std::move(job));
  Job& only = *batch.front();
  try {
    steps.LookUp(db, batch, &rehashes);
    if (only.needs_hashing) steps.RunCpuJob(db, only, &rehashes);
  } catch (const std::exception& e) {
    only.Fail(std::string("internal error: ") + e.what());
    rehashes.clear();
  }
  only.Complete();  // the answer, before Submit returns
  batch.clear();
  // Only now, with the login answered, the time of a rehash.
  for (auto& rehash : rehashes) {
    try {
      steps.RunCpuJob(db, *rehash, nullptr);
    } catch (...) {
      // Out of memory: no rehash this time (the next login tries again).
      // Nothing may escape: the request has been answered already.
    }
    rehash->Complete();
  }
}

void AuthCore::Drain() {
  if (pool_) pool_->handoff().Drain();
}

void AuthCore::Stop() {
  if (stopped_) return;
  stopped_ = true;  // from here on, Submit answers at once (also from the callbacks below)
  if (!pool_) return;
  pool_->Stop();
  while (pool_->handoff().Drain() > 0) {
  }
}

Result<std::vector<std::pair<std::string, std::string>>> AuthCore::UserPage(const std::string& after_key) {
  LoginStore accounts(inline_->db);
  return accounts.ActiveAddressPage(after_key, kUserPage);
}

}  // namespace roster::auth
