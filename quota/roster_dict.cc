// roster_dict.cc: the C++ core of the Dovecot dict driver "roster". It maps
// the few keys Dovecot's quota and roster's last-login plugin use onto
// common/accounts, one SQL transaction per dict commit. Every exception is
// caught here: none reaches Dovecot.
//
// The counters keep Dovecot's contract: an increment of a counter that is not
// there (no usage row, or unknown after an unset) is NOTFOUND, so Dovecot
// recounts and sets; an unset forgets the value and never deletes a row or an
// account; a commit that fails is reported as failed, never as done.
//
// Trusts: the configuration file (root's, or the dict user's own secrets);
// nothing in keys, values or user names, which are bounded and checked
// before any query.
#include "quota/roster_dict.h"

#include <cstdio>
#include <ctime>
#include <tuple>
#include <utility>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/accounts.h"
#include "common/address.h"
#include "common/config.h"
#include "common/db.h"
#include "common/text.h"
#include "common/units.h"

namespace roster {
namespace {

constexpr size_t kMaxKeyBytes = 1024;
constexpr size_t kMaxValueBytes = 256;
constexpr unsigned kMaxChanges = 1000;
constexpr std::string_view kLastLoginPrefix = "shared/roster/lastlogin/";

// What a key names.
struct Target {
  enum Kind { kCounter, kLastLogin } kind;
  UsageCounter counter = UsageCounter::kBytes;
  std::string address;  // the mailbox
};

Result<std::string> MailboxOf(std::string_view user) {
  auto address = ParseMailboxName(user);
  if (!address) return Error::Invalid("invalid user name: " + address.error().message);
  return address->Mailbox();
}

Result<Target> ParseKey(const char* key_text, const char* username) {
  std::string_view key(key_text);
  if (key.size() > kMaxKeyBytes) return Error::Invalid("key too long");
  if (key == "priv/quota/storage" || key == "priv/quota/messages") {
    if (username == nullptr || *username == '\0') return Error::Invalid("key " + std::string(key) + " needs a user");
    auto mailbox = MailboxOf(username);
    if (!mailbox) return mailbox.error();
    return Target{Target::kCounter, key == "priv/quota/storage" ? UsageCounter::kBytes : UsageCounter::kMessages,
                  *mailbox};
  }
  if (StartsWith(key, kLastLoginPrefix)) {
    auto mailbox = MailboxOf(key.substr(kLastLoginPrefix.size()));
    if (!mailbox) return mailbox.error();
    return Target{Target::kLastLogin, UsageCounter::kBytes, *mailbox};
  }
  return Error::Invalid("unsupported key '" + Shown(key) + "' (roster serves priv/quota/storage, "
                        "priv/quota/messages and shared/roster/lastlogin/<user>)");
}

struct LoginRecord {
  std::string protocol, ip;
  std::optional<int64_t> time;
};

// "<protocol> <ip> [<unix time>]"; ip and protocol are checked by accounts.
Result<LoginRecord> ParseLogin(std::string_view text) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < text.size() && words.size() <= 3) {
    while (i < text.size() && text[i] == ' ') ++i;
    size_t start = i;
    while (i < text.size() && text[i] != ' ') ++i;
    if (i > start) words.emplace_back(text.substr(start, i - start));
  }
  if (words.size() < 2 || words.size() > 3)
    return Error::Invalid("last login '" + Shown(text) + "': expected '<protocol> <ip> [<unix time>]'");
  LoginRecord r{words[0], words[1], std::nullopt};
  if (words.size() == 3) {
    auto t = ParseInt(words[2]);
    // From 2000 to a day ahead of this clock: anything else is not a login time.
    if (!t || *t < 946684800 || *t > static_cast<int64_t>(std::time(nullptr)) + 86400)
      return Error::Invalid("last login '" + Shown(text) + "': bad time");
    r.time = *t;
  }
  return r;
}

// A change checked before the transaction starts: nothing invalid reaches SQL.
struct CheckedChange {
  roster_dict_change_type type;
  Target target;
  std::optional<int64_t> number;  // SET of a counter / INC
  LoginRecord login;              // SET of a last login
};

Result<CheckedChange> Check(const roster_dict_change& c, const char* username) {
  if (c.key == nullptr) return Error::Invalid("change without a key");
  auto target = ParseKey(c.key, username);
  if (!target) return target.error();
  CheckedChange out{c.type, *target, std::nullopt, {}};
  bool counter = target->kind == Target::kCounter;
  switch (c.type) {
    case ROSTER_DICT_SET: {
      if (c.value == nullptr) return Error::Invalid("set without a value");
      std::string_view value(c.value);
      if (value.size() > kMaxValueBytes) return Error::Invalid("value too long for " + Shown(c.key));
      if (counter) {
        auto n = ParseInt(value);
        if (!n) return n.error();
        out.number = *n;
      } else {
        auto login = ParseLogin(value);
        if (!login) return login.error();
        out.login = *login;
      }
      break;
    }
    case ROSTER_DICT_UNSET:
      if (!counter) return Error::Invalid("a last login cannot be unset");
      break;
    case ROSTER_DICT_INC:
      if (!counter) return Error::Invalid("a last login cannot be incremented");
      out.number = static_cast<int64_t>(c.diff);
      break;
    default:
      return Error::Invalid("unknown change type");
  }
  return out;
}

}  // namespace

class DictCore {
 public:
  explicit DictCore(DbSettings settings) : db_(std::move(settings)) {}

  static Result<std::unique_ptr<DictCore>> Create(const std::string& path) {
    auto config = Config::LoadFile(path);
    if (!config) return config.error();
    auto settings = DbSettings::FromConfig(*config, DbRole::kDict);
    if (!settings) return settings.error();
    return std::make_unique<DictCore>(std::move(*settings));
  }

  // 1 found, 0 not found; an error otherwise.
  Result<int> Lookup(const char* username, const char* key, std::string* value) {
    auto target = ParseKey(key, username);
    if (!target) return target.error();
    Accounts accounts(db_);
    if (target->kind == Target::kCounter) {
      auto n = accounts.GetUsageCounter(target->address, target->counter);
      if (!n) return n.error().is_not_found() ? Result<int>(0) : Result<int>(n.error());
      *value = std::to_string(*n);
      return 1;
    }
    auto login = accounts.NewestLogin(target->address);
    if (!login) return login.error().is_not_found() ? Result<int>(0) : Result<int>(login.error());
    auto& [protocol, ip, time] = *login;
    *value = protocol + " " + ip + " " + std::to_string(time);
    return 1;
  }

  // OK, NOTFOUND (an increment found no counter; the rest committed) or an error.
  Result<roster_dict_commit_result> Commit(const char* username, const roster_dict_change* changes,
                                           unsigned count) {
    if (count > kMaxChanges) return Error::Invalid("too many changes in one transaction");
    std::vector<CheckedChange> checked;
    for (unsigned i = 0; i < count; ++i) {
      auto c = Check(changes[i], username);
      if (!c) return c.error();
      checked.push_back(std::move(*c));
    }
    if (checked.empty()) return ROSTER_DICT_COMMIT_OK;
    // The quota plugin's usual commit, increments of one mailbox's counters:
    // one statement, atomic by itself, one round trip instead of four.
    if (auto sums = IncrementsOfOneMailbox(checked)) {
      Accounts accounts(db_);
      Status s = accounts.AddToUsage(checked.front().target.address, sums->first, sums->second);
      if (s.ok()) return ROSTER_DICT_COMMIT_OK;
      if (s.error().is_not_found()) return ROSTER_DICT_COMMIT_NOTFOUND;
      return s.error();
    }
    bool not_found = false;
    auto apply_all = [&]() -> Status {
      not_found = false;  // the body may run again after a deadlock
      Accounts accounts(db_);
      for (const CheckedChange& c : checked) {
        Status s = Apply(accounts, c);
        if (!s.ok() && c.type == ROSTER_DICT_INC && s.error().is_not_found()) {
          not_found = true;
          continue;
        }
        if (!s.ok()) return s;
      }
      return Status::Ok();
    };
    // One change (a last login, say) writes once: no transaction around it.
    Status done = checked.size() == 1 ? apply_all() : db_.Transaction(apply_all);
    if (!done.ok()) return done.error();
    return not_found ? ROSTER_DICT_COMMIT_NOTFOUND : ROSTER_DICT_COMMIT_OK;
  }

 private:
  // (bytes, messages) to add when every change increments a counter of the
  // same mailbox and something changes; nothing otherwise.
  static std::optional<std::pair<int64_t, int64_t>> IncrementsOfOneMailbox(const std::vector<CheckedChange>& all) {
    std::pair<int64_t, int64_t> sums{0, 0};
    for (const CheckedChange& c : all) {
      if (c.type != ROSTER_DICT_INC || c.target.kind != Target::kCounter ||
          c.target.address != all.front().target.address)
        return std::nullopt;
      int64_t& sum = c.target.counter == UsageCounter::kBytes ? sums.first : sums.second;
      if (__builtin_add_overflow(sum, *c.number, &sum)) return std::nullopt;
    }
    if (sums.first == 0 && sums.second == 0) return std::nullopt;
    return sums;
  }

  static Status Apply(Accounts& accounts, const CheckedChange& c) {
    const Target& t = c.target;
    if (t.kind == Target::kLastLogin)
      return accounts.RecordLastLogin(t.address, c.login.protocol, c.login.ip, c.login.time);
    switch (c.type) {
      case ROSTER_DICT_SET: return accounts.SetUsageCounter(t.address, t.counter, c.number);
      case ROSTER_DICT_UNSET: return accounts.SetUsageCounter(t.address, t.counter, std::nullopt);
      case ROSTER_DICT_INC: return accounts.AddToUsageCounter(t.address, t.counter, *c.number);
    }
    return Error::Invalid("unknown change type");
  }

  Db db_;  // the dict process is single-threaded: one connection
};

}  // namespace roster

struct roster_dict {
  std::unique_ptr<roster::DictCore> core;
};

namespace {

void Write(char* buffer, unsigned int size, const std::string& text) {
  if (buffer != nullptr && size > 0) std::snprintf(buffer, size, "%s", text.c_str());
}

}  // namespace

extern "C" {

struct roster_dict* roster_dict_create(const char* config_path, char* error, unsigned int size) {
  try {
    auto core = roster::DictCore::Create(config_path);
    if (!core) {
      Write(error, size, core.error().message);
      return nullptr;
    }
    auto handle = std::make_unique<roster_dict>();
    handle->core = std::move(*core);
    return handle.release();  // owned by the glue until roster_dict_destroy
  } catch (const std::exception& e) {
    Write(error, size, std::string("internal error: ") + e.what());
  } catch (...) {
    Write(error, size, "internal error");
  }
  return nullptr;
}

void roster_dict_destroy(struct roster_dict* dict) {
  try {
    std::unique_ptr<roster_dict> owned(dict);
  } catch (...) {
  }
}

int roster_dict_lookup(struct roster_dict* dict, const char* username, const char* key, char* value,
                       unsigned int value_size, char* error, unsigned int error_size) {
  try {
    std::string found;
    auto r = dict->core->Lookup(username, key, &found);
    if (!r) {
      Write(error, error_size, r.error().message);
      return -1;
    }
    if (*r == 1) {
      if (found.size() >= value_size) {
        Write(error, error_size, "value too long");
        return -1;
      }
      Write(value, value_size, found);
    }
    return *r;
  } catch (const std::exception& e) {
    Write(error, error_size, std::string("internal error: ") + e.what());
  } catch (...) {
    Write(error, error_size, "internal error");
  }
  return -1;
}

enum roster_dict_commit_result roster_dict_commit(struct roster_dict* dict, const char* username,
                                                  const struct roster_dict_change* changes, unsigned int count,
                                                  char* error, unsigned int error_size) {
  try {
    auto r = dict->core->Commit(username, changes, count);
    if (r) return *r;
    Write(error, error_size, r.error().message);
  } catch (const std::exception& e) {
    Write(error, error_size, std::string("internal error: ") + e.what());
  } catch (...) {
    Write(error, error_size, "internal error");
  }
  return ROSTER_DICT_COMMIT_FAILED;
}

}  // extern "C"
