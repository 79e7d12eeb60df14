// dict_keys.cc: see dict_keys.h.
#include "quota/dict_keys.h"

#include <algorithm>

#include "common/address.h"
#include "common/text.h"
#include "common/units.h"

namespace roster::dict {
namespace {

Result<std::string> MailboxOf(std::string_view user) {
  auto address = ParseMailboxName(user);
  if (!address) return Error::Invalid("invalid user name: " + address.error().message);
  return address->Mailbox();
}

}  // namespace

bool ValidProtocolName(std::string_view name) {
  if (name.empty() || name.size() > 16) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

Result<Target> ParseKey(std::string_view key, const char* username) {
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

Result<LoginRecord> ParseLogin(std::string_view text, const DictRules& rules) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < text.size() && words.size() <= 3) {
    while (i < text.size() && text[i] == ' ') ++i;
    size_t start = i;
    while (i < text.size() && text[i] != ' ') ++i;
    if (i > start) words.push_back(text.substr(start, i - start));
  }
  if (words.size() < 2 || words.size() > 3)
    return Error::Invalid("last login '" + Shown(text) + "': expected '<protocol> <ip> [<unix time>]'");
  if (!ValidProtocolName(words[0]))
    return Error::Invalid("last login '" + Shown(text) + "': invalid protocol name");
  if (std::find(rules.protocols.begin(), rules.protocols.end(), words[0]) == rules.protocols.end())
    return Error::Invalid("last login '" + Shown(text) + "': protocol '" + std::string(words[0]) +
                          "' is not one of dict_login_protocols");
  LoginRecord r{std::string(words[0]), std::string(words[1]), std::nullopt};
  if (words.size() == 3) {
    auto t = ParseInt(words[2]);
    if (!t || *t < kMinLoginTime) return Error::Invalid("last login '" + Shown(text) + "': bad time");
    if (*t > rules.now + kMaxClockAhead)
      return Error::Invalid("last login '" + Shown(text) + "': bad time: " + std::to_string(*t - rules.now) +
                            " s ahead of this server's clock");
    r.time = *t;
  }
  return r;
}

Result<CheckedChange> Check(const Change& c, const char* username, const DictRules& rules) {
  if (!c.key) return Error::Invalid("change without a key");
  auto target = ParseKey(*c.key, username);
  if (!target) return target.error();
  CheckedChange out;
  out.type = c.type;
  out.target = *target;
  bool counter = target->kind == Target::kCounter;
  switch (c.type) {
    case ChangeType::kSet: {
      if (!c.value) return Error::Invalid("set without a value");
      std::string_view value(*c.value);
      if (value.size() > kMaxValueBytes) return Error::Invalid("value too long for " + Shown(*c.key));
      if (counter) {
        auto n = ParseInt(value);
        if (!n) return n.error();
        out.number = *n;
      } else {
        auto login = ParseLogin(value, rules);
        if (!login) return login.error();
        out.login = *login;
      }
      break;
    }
    case ChangeType::kUnset:
      if (!counter) return Error::Invalid("a last login cannot be unset");
      break;
    case ChangeType::kInc:
      if (!counter) return Error::Invalid("a last login cannot be incremented");
      out.number = static_cast<int64_t>(c.diff);
      break;
    default:
      return Error::Invalid("unknown change type");
  }
  return out;
}

Result<std::vector<CheckedChange>> CheckAll(const char* username, const std::vector<Change>& changes,
                                            const DictRules& rules) {
  if (changes.size() > kMaxChanges) return Error::Invalid("too many changes in one transaction");
  std::vector<CheckedChange> checked;
  for (const Change& change : changes) {
    auto c = Check(change, username, rules);
    if (!c) return c.error();
    checked.push_back(std::move(*c));
  }
  return checked;
}

}  // namespace roster::dict
