// dict_keys.h: what roster's dict driver accepts from a dict client, as pure
// functions (no I/O, no clock, no database): keys, values and the changes of
// one commit, each bounded and checked before anything reaches SQL.
// dict_core.cc uses them; tests/fuzz/fuzz_dict.cc feeds them arbitrary
// bytes.
//
// Keys (anything else is refused, naming the key):
//   priv/quota/storage, priv/quota/messages   the user's usage counters
//   shared/roster/lastlogin/<address>         "<protocol> <ip> [<unix time>]"
// A last login's protocol must be one of DictRules::protocols
// (dict_login_protocols), and its time may be at most kMaxClockAhead ahead
// of DictRules::now (the dict server's clock).
//
// Trusts: nothing; every input is a dict client's.
#ifndef ROSTER_QUOTA_DICT_KEYS_H
#define ROSTER_QUOTA_DICT_KEYS_H

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/store_types.h"

namespace roster::dict {

constexpr size_t kMaxKeyBytes = 1024;
constexpr size_t kMaxValueBytes = 256;
constexpr unsigned kMaxChanges = 1000;
// A login time more than this ahead of the dict server's clock is refused
// (a client's clock may run a little fast; the database then stores at most
// its own now, common/usage_store.h).
constexpr int64_t kMaxClockAhead = 300;
// No login time before 2000-01-01.
constexpr int64_t kMinLoginTime = 946684800;
constexpr std::string_view kLastLoginPrefix = "shared/roster/lastlogin/";

// One change of a dict transaction, as the client sent it (unchecked). A key
// or value the client left out is empty (nullopt), and refused by Check.
enum class ChangeType { kSet, kUnset, kInc };
struct Change {
  ChangeType type = ChangeType::kSet;
  std::optional<std::string> key;
  std::optional<std::string> value;  // kSet
  int64_t diff = 0;                  // kInc
};

struct DictRules {
  std::vector<std::string> protocols{"imap", "pop3"};  // dict_login_protocols
  int64_t now = 0;                                       // unix time of this server's clock
};

// What a key names.
struct Target {
  enum Kind { kCounter, kLastLogin } kind = kCounter;
  UsageCounter counter = UsageCounter::kBytes;
  std::string address;  // the mailbox
};

struct LoginRecord {
  std::string protocol, ip;
  std::optional<int64_t> time;
};

// A change checked before the transaction starts: nothing invalid reaches SQL.
struct CheckedChange {
  ChangeType type = ChangeType::kSet;
  Target target;
  std::optional<int64_t> number;  // SET of a counter / INC
  LoginRecord login;              // SET of a last login
};

// `username` is the dict user (NULL for shared keys).
Result<Target> ParseKey(std::string_view key, const char* username);
// "<protocol> <ip> [<unix time>]"; the ip's form is checked by the usage store.
Result<LoginRecord> ParseLogin(std::string_view text, const DictRules& rules);
Result<CheckedChange> Check(const Change& change, const char* username, const DictRules& rules);
// Every change checked, or the first one's error.
Result<std::vector<CheckedChange>> CheckAll(const char* username, const std::vector<Change>& changes,
                                            const DictRules& rules);
// A protocol name as dict_login_protocols may list it: 1-16 of [a-z0-9-].
bool ValidProtocolName(std::string_view name);

}  // namespace roster::dict

#endif
