// app_passwords.cc: see app_passwords.h. The app password format and the
// protocol names; no SQL (the stores hold that).
#include "common/app_passwords.h"

#include <sodium.h>

#include "common/text.h"

namespace roster {
namespace {

// 32 letters without look-alikes: no 0/O, no 1/I.
constexpr char kAlphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
static_assert(sizeof kAlphabet - 1 == 32, "5 bits per character");

const char* const kProtocolNames[] = {"imap", "pop3", "smtp", "sieve", "webmail"};

bool InAlphabet(char c) {
  for (const char* p = kAlphabet; *p; ++p)
    if (*p == c) return true;
  return false;
}
}  // namespace

unsigned ProtocolOfService(std::string_view service) {
  if (service == "imap") return kProtoImap;
  if (service == "pop3") return kProtoPop3;
  if (service == "smtp" || service == "submission") return kProtoSmtp;
  if (service == "sieve") return kProtoSieve;
  return 0;
}

Result<unsigned> ParseProtocols(std::string_view list) {
  unsigned bits = 0;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find_first_of(", ", start);
    if (end == std::string_view::npos) end = list.size();
    std::string_view name = list.substr(start, end - start);
    start = end + 1;
    if (name.empty()) continue;
    std::string lower = AsciiLower(name);
    if (lower == "all") {
      bits |= kAllProtocols;
      continue;
    }
    if (lower == "submission") lower = "smtp";
    unsigned bit = 0;
    for (unsigned i = 0; i < 5; ++i)
      if (lower == kProtocolNames[i]) bit = 1u << i;
    if (bit == 0)
      return Error::Invalid("unknown protocol '" + Shown(name, 20) + "' (imap, pop3, smtp, sieve, webmail or all)");
    bits |= bit;
  }
  return bits;
}

std::string ProtocolsText(unsigned bits) {
  std::string out;
  for (unsigned i = 0; i < 5; ++i)
    if (bits & (1u << i)) out += (out.empty() ? "" : ",") + std::string(kProtocolNames[i]);
  return out;
}

std::string GenerateAppPassword() {
  std::string out;
  for (size_t i = 0; i < kAppPasswordChars; ++i) {
    if (i > 0 && i % 4 == 0) out += '-';
    out += kAlphabet[randombytes_uniform(32)];
  }
  return out;
}

std::optional<std::string> NormaliseAppPassword(std::string_view typed) {
  if (typed.size() > kAppPasswordChars * 2) return std::nullopt;
  std::string out;
  for (char c : typed) {
    if (c == '-') continue;
    char upper = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
    if (!InAlphabet(upper) || out.size() == kAppPasswordChars) return std::nullopt;
    out += upper;
  }
  if (out.size() != kAppPasswordChars) return std::nullopt;
  return out;
}

std::string AppPasswordDigest(std::string_view normalised) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(normalised.data()), normalised.size());
  return std::string(reinterpret_cast<const char*>(digest), sizeof digest);
}

std::string SelectorOf(std::string_view typed) {
  auto normalised = NormaliseAppPassword(typed);
  if (!normalised) return "";
  std::string selector = normalised->substr(0, kSelectorChars);
  sodium_memzero(normalised->data(), normalised->size());
  return selector;
}

}  // namespace roster
