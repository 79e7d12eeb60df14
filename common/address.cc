// address.cc: see address.h.
#include "common/address.h"

#include <cstdint>

#include "common/text.h"

namespace roster {
namespace {

// Characters allowed unquoted in a local part besides letters, digits and
// UTF-8: RFC 5322 atext plus '.'.
bool IsLocalSpecialAllowed(char c) {
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '/': case '=': case '?': case '^': case '_': case '`': case '{':
    case '|': case '}': case '~': case '.':
      return true;
    default:
      return false;
  }
}

bool IsAsciiAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

Status CheckNoControl(std::string_view s, const char* what) {
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c == 0) return Error::Invalid(std::string(what) + " contains a NUL byte");
    if (c < 0x20 || c == 0x7f) return Error::Invalid(std::string(what) + " contains a control character");
  }
  return Status::Ok();
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; }
    else return false;
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff))) return false;
    if (cp >= 0xd800 && cp <= 0xdfff) return false;
    i += len;
  }
  return true;
}

Result<std::string> ParseDomain(std::string_view input) {
  if (input.empty()) return Error::Invalid("empty domain");
  if (input.size() > kMaxDomain)
    return Error::Invalid("domain longer than " + std::to_string(kMaxDomain) + " octets");
  ROSTER_TRY(CheckNoControl(input, "domain"));
  if (!IsValidUtf8(input)) return Error::Invalid("domain is not valid UTF-8");
  std::string domain;
  domain.reserve(input.size());
  size_t label_start = 0;
  for (size_t i = 0; i <= input.size(); ++i) {
    if (i == input.size() || input[i] == '.') {
      std::string_view label = input.substr(label_start, i - label_start);
      if (label.empty()) return Error::Invalid("domain '" + Shown(input) + "' has an empty label");
      if (label.size() > 63) return Error::Invalid("domain label longer than 63 octets");
      if (label.front() == '-' || label.back() == '-')
        return Error::Invalid("domain label '" + Shown(label) + "' starts or ends with '-'");
      label_start = i + 1;
      if (i < input.size()) domain += '.';
      continue;
    }
    char c = input[i];
    unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x80 || IsAsciiAlnum(c) || c == '-') {
      domain += AsciiLower(c);
    } else {
      return Error::Invalid("domain '" + Shown(input) + "' contains '" + std::string(1, c) + "'");
    }
  }
  return domain;
}

Result<Address> ParseAddress(std::string_view input, const AddressOptions& options) {
  if (input.empty()) return Error::Invalid("empty address");
  // Bound the work before anything else: a 10 KB local part is refused here.
  if (input.size() > kMaxAddress)
    return Error::Invalid("address longer than " + std::to_string(kMaxAddress) + " octets (" +
                          std::to_string(input.size()) + ")");
  ROSTER_TRY(CheckNoControl(input, "address"));
  auto at = input.rfind('@');
  if (at == std::string_view::npos) return Error::Invalid("address '" + Shown(input) + "' has no '@'");
  std::string_view local = input.substr(0, at);
  std::string_view domain_part = input.substr(at + 1);
  if (local.empty()) return Error::Invalid("address '" + Shown(input) + "' has an empty local part");
  if (local.size() > kMaxLocalPart)
    return Error::Invalid("local part longer than " + std::to_string(kMaxLocalPart) + " octets");
  if (!IsValidUtf8(local)) return Error::Invalid("local part is not valid UTF-8");
  for (char c : local) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x80 || IsAsciiAlnum(c) || IsLocalSpecialAllowed(c)) continue;
    if (c == '"') return Error::Invalid("quoted local parts are not supported");
    if (c == ' ') return Error::Invalid("local part contains a space");
    return Error::Invalid("local part contains '" + std::string(1, c) + "'");
  }
  auto domain = ParseDomain(domain_part);
  if (!domain) return domain.error();

  Address address;
  address.domain = std::move(*domain);
  size_t split = std::string_view::npos;
  if (!options.recipient_delimiter.empty()) {
    // Postfix does not split when the local part begins with the delimiter.
    split = local.find_first_of(options.recipient_delimiter, 1);
  }
  if (split == std::string_view::npos) {
    address.local = std::string(local);
  } else {
    address.local = std::string(local.substr(0, split));
    address.delimiter = local[split];
    address.extension = std::string(local.substr(split + 1));
  }
  return address;
}

std::string Address::Full() const {
  if (delimiter == 0) return Mailbox();
  return local + delimiter + extension + "@" + domain;
}

Result<Address> ParseMailboxName(std::string_view input) {
  AddressOptions whole;
  whole.recipient_delimiter.clear();
  return ParseAddress(input, whole);
}

Status CheckFreeText(std::string_view text, const char* what, size_t max) {
  if (text.size() > max) return Error::Invalid(std::string(what) + " longer than " + std::to_string(max) + " bytes");
  if (!IsValidUtf8(text)) return Error::Invalid(std::string(what) + " is not valid UTF-8");
  for (unsigned char c : text)
    if (c < 0x20 || c == 0x7f) return Error::Invalid(std::string(what) + " contains a control character");
  return Status::Ok();
}

Status CheckMailboxLocalPart(std::string_view local) {
  auto refuse = [&](const std::string& why) {
    return Error::Invalid("mailbox name '" + Shown(local) + "' " + why +
                          " (a mailbox's local part may hold letters, digits, '.', '_', '-' and '+')");
  };
  if (local.empty()) return refuse("is empty");
  if (local.size() > kMaxLocalPart) return refuse("is longer than " + std::to_string(kMaxLocalPart) + " octets");
  if (!IsValidUtf8(local)) return refuse("is not valid UTF-8");
  if (local.front() == '.' || local.front() == '-' || local.front() == '+')
    return refuse("starts with '" + std::string(1, local.front()) + "'");
  if (local.back() == '.') return refuse("ends with '.'");
  if (local.find("..") != std::string_view::npos) return refuse("contains \"..\"");
  for (size_t i = 0; i < local.size(); ++i) {
    unsigned char u = static_cast<unsigned char>(local[i]);
    // U+0080-U+009F are C2 80 - C2 9F in UTF-8.
    if (u == 0xc2 && i + 1 < local.size() && static_cast<unsigned char>(local[i + 1]) < 0xa0)
      return refuse("contains a control character");
    if (u >= 0x80 || IsAsciiAlnum(local[i])) continue;
    if (local[i] == '.' || local[i] == '_' || local[i] == '-' || local[i] == '+') continue;
    if (u < 0x20 || u == 0x7f) return refuse("contains a control character");
    return refuse("contains '" + std::string(1, local[i]) + "'");
  }
  return Status::Ok();
}

Status CheckMailboxPathName(std::string_view address) {
  size_t at = address.rfind('@');
  if (at == std::string_view::npos) return Error::Invalid("mailbox name '" + Shown(address) + "' has no '@'");
  if (address.size() > kMaxAddress)
    return Error::Invalid("mailbox name longer than " + std::to_string(kMaxAddress) + " octets");
  ROSTER_TRY(CheckMailboxLocalPart(address.substr(0, at)));
  auto domain = ParseDomain(address.substr(at + 1));
  if (!domain) return domain.error();
  return Status::Ok();
}

}  // namespace roster
