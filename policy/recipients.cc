// recipients.cc: see recipients.h.
#include "policy/recipients.h"

#include "common/text.h"

namespace roster {

std::string_view WithoutRootDot(std::string_view s) {
  if (s.size() >= 2 && s.back() == '.' && s[s.size() - 2] != '.' && s[s.size() - 2] != '@')
    s.remove_suffix(1);
  return s;
}

Result<RecipientKeys> KeysOf(std::string_view address, const AddressOptions& options) {
  auto parsed = ParseAddress(WithoutRootDot(address), options);
  if (!parsed) return parsed.error();
  RecipientKeys k;
  k.address = *parsed;
  k.full = parsed->Full();
  if (!parsed->extension.empty() || parsed->delimiter != 0) k.keys.push_back(k.full);
  k.keys.push_back(parsed->Mailbox());
  return k;
}

std::string BccListAddress(std::string_view key, char direction) {
  std::string local(key);
  size_t at = local.rfind('@');
  if (at != std::string::npos) local[at] = '=';
  return local + "@" + (direction == 'O' ? kBccOutDomain : kBccInDomain);
}

std::optional<std::pair<std::string, char>> ParseBccListAddress(std::string_view address) {
  size_t at = address.rfind('@');
  if (at == std::string_view::npos) return std::nullopt;
  std::string domain = AsciiLower(WithoutRootDot(address.substr(at + 1)));
  char direction;
  if (domain == kBccInDomain) direction = 'I';
  else if (domain == kBccOutDomain) direction = 'O';
  else return std::nullopt;
  std::string local(address.substr(0, at));
  size_t eq = local.rfind('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == local.size()) return std::nullopt;
  local[eq] = '@';
  auto parsed = ParseMailboxName(local);
  if (!parsed) return std::nullopt;
  return std::make_pair(parsed->Mailbox(), direction);
}

std::string DomainOfKey(std::string_view key) {
  size_t at = key.rfind('@');
  return at == std::string_view::npos ? std::string() : std::string(key.substr(at + 1));
}

std::string MaildirPathOf(std::string_view key) {
  size_t at = key.rfind('@');
  if (at == std::string_view::npos) return std::string();
  return std::string(key.substr(at + 1)) + "/" + std::string(key.substr(0, at)) + "/";
}

}  // namespace roster
