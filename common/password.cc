// password.cc: see password.h.
#include "common/password.h"

#include <crypt.h>
#include <sodium.h>

#include <cstring>
#include <memory>
#include <mutex>

#include "common/config.h"
#include "common/text.h"

namespace roster {
namespace {


bool IsCryptChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '/';
}

bool AllCryptChars(std::string_view s) {
  for (char c : s)
    if (!IsCryptChar(c)) return false;
  return true;
}

Scheme SchemeFromBareHash(std::string_view h) {
  if (StartsWith(h, "$argon2id$")) return Scheme::kArgon2id;
  if (StartsWith(h, "$argon2i$")) return Scheme::kArgon2i;
  if (StartsWith(h, "$6$")) return Scheme::kSha512Crypt;
  if (StartsWith(h, "$5$")) return Scheme::kSha256Crypt;
  if (StartsWith(h, "$1$")) return Scheme::kMd5Crypt;
  if (StartsWith(h, "$2y$") || StartsWith(h, "$2b$") || StartsWith(h, "$2a$")) return Scheme::kBlfCrypt;
  return Scheme::kUnknown;
}

// Checks the shape of an SHA-crypt / MD5-crypt string: $id$[rounds=N$]salt$hash.
bool WellFormedShaCrypt(std::string_view h, std::string_view id, size_t hash_len, size_t max_salt, bool rounds_ok) {
  if (!StartsWith(h, id)) return false;
  std::string_view rest = h.substr(id.size());
  if (rounds_ok && StartsWith(rest, "rounds=")) {
    size_t d = rest.find('$');
    if (d == std::string_view::npos || d == 7 || d > 7 + 9) return false;
    for (size_t i = 7; i < d; ++i)
      if (rest[i] < '0' || rest[i] > '9') return false;
    rest = rest.substr(d + 1);
  }
  size_t d = rest.find('$');
  if (d == std::string_view::npos || d > max_salt) return false;
  std::string_view salt = rest.substr(0, d), hash = rest.substr(d + 1);
  return AllCryptChars(salt) && hash.size() == hash_len && AllCryptChars(hash);
}

bool WellFormedBcrypt(std::string_view h) {
  // $2y$NN$ + 22 salt + 31 hash characters = 60 in all.
  if (h.size() != 60 || h[3] != '$' || h[6] != '$') return false;
  if (h[4] < '0' || h[4] > '3' || h[5] < '0' || h[5] > '9') return false;
  int cost = (h[4] - '0') * 10 + (h[5] - '0');
  return cost >= 4 && cost <= 31 && AllCryptChars(h.substr(7));
}

struct Argon2Params {
  uint64_t memory_kib = 0, ops = 0, lanes = 0;
};

// Parses "$argon2id$v=19$m=65536,t=3,p=1$salt$hash" (and argon2i). The salt and
// hash are unpadded base64 of bounded length.
bool ParseArgon2(std::string_view h, Argon2Params* params) {
  std::string_view rest;
  if (StartsWith(h, "$argon2id$")) rest = h.substr(10);
  else if (StartsWith(h, "$argon2i$")) rest = h.substr(9);
  else return false;
  if (!StartsWith(rest, "v=19$")) return false;
  rest = rest.substr(5);
  auto number = [&rest](char name, uint64_t* out) {
    if (rest.size() < 3 || rest[0] != name || rest[1] != '=') return false;
    size_t i = 2;
    uint64_t v = 0;
    for (; i < rest.size() && rest[i] >= '0' && rest[i] <= '9' && i < 14; ++i) v = v * 10 + (rest[i] - '0');
    if (i == 2) return false;
    *out = v;
    rest = rest.substr(i);
    return true;
  };
  if (!number('m', &params->memory_kib) || rest.empty() || rest[0] != ',') return false;
  rest = rest.substr(1);
  if (!number('t', &params->ops) || rest.empty() || rest[0] != ',') return false;
  rest = rest.substr(1);
  if (!number('p', &params->lanes) || rest.empty() || rest[0] != '$') return false;
  rest = rest.substr(1);
  size_t d = rest.find('$');
  if (d == std::string_view::npos) return false;
  std::string_view salt = rest.substr(0, d), hash = rest.substr(d + 1);
  auto b64 = [](std::string_view s) {
    for (char c : s)
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '/'))
        return false;
    return true;
  };
  // libsodium writes a 16-byte salt and 32-byte hash; accept 8..64 bytes of each.
  return salt.size() >= 11 && salt.size() <= 86 && hash.size() >= 11 && hash.size() <= 86 && b64(salt) && b64(hash) &&
         params->ops >= 1 && params->lanes >= 1;
}

// crypt_r's state is ~32 KiB: keep it off the stack of small auth threads.
bool CryptMatches(std::string_view password, std::string_view hash) {
  auto data = std::make_unique<struct crypt_data>();
  std::memset(data.get(), 0, sizeof(struct crypt_data));
  std::string pw(password), setting(hash);
  const char* out = crypt_r(pw.c_str(), setting.c_str(), data.get());
  sodium_memzero(pw.data(), pw.size());
  bool ok = out != nullptr && out[0] != '*' && std::strlen(out) == hash.size() &&
            sodium_memcmp(out, hash.data(), hash.size()) == 0;
  sodium_memzero(data.get(), sizeof(struct crypt_data));
  return ok;
}

bool SodiumReady() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

}  // namespace

const char* SchemeName(Scheme scheme) {
  switch (scheme) {
    case Scheme::kArgon2id: return "ARGON2ID";
    case Scheme::kArgon2i: return "ARGON2I";
    case Scheme::kSha512Crypt: return "SHA512-CRYPT";
    case Scheme::kSha256Crypt: return "SHA256-CRYPT";
    case Scheme::kMd5Crypt: return "MD5-CRYPT";
    case Scheme::kBlfCrypt: return "BLF-CRYPT";
    case Scheme::kPlain: return "PLAIN";
    case Scheme::kUnknown: return "UNKNOWN";
  }
  return "UNKNOWN";
}

Result<PasswordPolicy> PasswordPolicy::FromConfig(const Config& config) {
  PasswordPolicy p;
  int64_t ops = config.GetInt("password_argon2_ops");
  if (ops < static_cast<int64_t>(crypto_pwhash_OPSLIMIT_MIN) || ops > 1000)
    return Error::Invalid("password_argon2_ops must be between 1 and 1000");
  p.argon2_ops = static_cast<uint64_t>(ops);
  p.argon2_memory = config.GetSize("password_argon2_memory");
  if (p.argon2_memory < (8u << 20) || p.argon2_memory > (4ull << 30))
    return Error::Invalid("password_argon2_memory must be between 8M and 4G");
  p.argon2_max_memory = config.GetSize("password_argon2_max_memory");
  if (p.argon2_max_memory < p.argon2_memory)
    return Error::Invalid("password_argon2_max_memory must be at least password_argon2_memory");
  p.allow_plaintext = config.GetBool("password_allow_plaintext");
  return p;
}

ParsedHash ParseStoredHash(std::string_view stored) {
  ParsedHash parsed;
  if (!stored.empty() && stored[0] == '{') {
    size_t close = stored.find('}');
    if (close == std::string_view::npos || close > 32) return parsed;
    std::string_view name = stored.substr(1, close - 1);
    parsed.body = stored.substr(close + 1);
    if (EqualsIgnoreCase(name, "ARGON2ID")) parsed.scheme = Scheme::kArgon2id;
    else if (EqualsIgnoreCase(name, "ARGON2I")) parsed.scheme = Scheme::kArgon2i;
    else if (EqualsIgnoreCase(name, "SHA512-CRYPT")) parsed.scheme = Scheme::kSha512Crypt;
    else if (EqualsIgnoreCase(name, "SHA256-CRYPT")) parsed.scheme = Scheme::kSha256Crypt;
    else if (EqualsIgnoreCase(name, "MD5-CRYPT")) parsed.scheme = Scheme::kMd5Crypt;
    else if (EqualsIgnoreCase(name, "BLF-CRYPT")) parsed.scheme = Scheme::kBlfCrypt;
    else if (EqualsIgnoreCase(name, "CRYPT")) parsed.scheme = SchemeFromBareHash(parsed.body);
    else if (EqualsIgnoreCase(name, "PLAIN") || EqualsIgnoreCase(name, "CLEARTEXT")) parsed.scheme = Scheme::kPlain;
    // A prefix must agree with the hash it names, or the row is malformed.
    if (parsed.scheme != Scheme::kPlain && parsed.scheme != Scheme::kUnknown &&
        SchemeFromBareHash(parsed.body) != parsed.scheme)
      parsed.scheme = Scheme::kUnknown;
    return parsed;
  }
  parsed.body = stored;
  parsed.scheme = SchemeFromBareHash(stored);
  return parsed;
}

Result<std::string> CheckForeignHash(std::string_view stored) {
  if (stored.empty()) return Error::Invalid("empty password hash");
  if (stored.size() > kMaxPasswordBytes)
    return Error::Invalid("password hash longer than " + std::to_string(kMaxPasswordBytes) + " bytes");
  for (unsigned char c : stored)
    if (c < 0x21 || c > 0x7e) return Error::Invalid("password hash contains a space, a control or a non-ASCII byte");
  ParsedHash parsed = ParseStoredHash(stored);
  if (parsed.scheme == Scheme::kPlain) return Error::Invalid("a plaintext password is not a hash");
  if (parsed.scheme == Scheme::kUnknown)
    return Error::Invalid("not a password hash roster can verify (ARGON2ID, ARGON2I, SHA512-CRYPT, SHA256-CRYPT, "
                          "MD5-CRYPT, BLF-CRYPT, as {SCHEME}hash or bare crypt)");
  return std::string("{") + SchemeName(parsed.scheme) + "}" + std::string(parsed.body);
}

Result<std::string> PasswordHasher::Hash(std::string_view password) const {
  if (!SodiumReady()) return Error::Permanent("libsodium failed to initialise");
  if (password.empty()) return Error::Invalid("empty password");
  if (password.size() > kMaxPasswordBytes)
    return Error::Invalid("password longer than " + std::to_string(kMaxPasswordBytes) + " bytes");
  char out[crypto_pwhash_argon2id_STRBYTES];
  if (crypto_pwhash_argon2id_str(out, password.data(), password.size(), policy_.argon2_ops,
                                 static_cast<size_t>(policy_.argon2_memory)) != 0)
    return Error::Temporary("argon2id hashing failed (out of memory)");
  return std::string("{ARGON2ID}") + out;
}

Verification PasswordHasher::Verify(std::string_view password, std::string_view stored) const {
  ParsedHash parsed = ParseStoredHash(stored);
  auto malformed = [&](std::string why) { return Verification{VerifyOutcome::kMalformed, parsed.scheme, std::move(why)}; };
  if (password.size() > kMaxPasswordBytes) return Verification{VerifyOutcome::kMismatch, parsed.scheme, ""};
  switch (parsed.scheme) {
    case Scheme::kUnknown:
      if (stored.empty()) return malformed("no password set");
      return Verification{VerifyOutcome::kUnsupported, parsed.scheme, "unknown or mismatched password scheme"};
    case Scheme::kPlain: {
      if (!policy_.allow_plaintext)
        return Verification{VerifyOutcome::kUnsupported, parsed.scheme,
                            "plaintext password stored but password_allow_plaintext = no"};
      bool same = parsed.body.size() == password.size() &&
                  (password.empty() || sodium_memcmp(parsed.body.data(), password.data(), password.size()) == 0);
      if (parsed.body.empty()) return malformed("empty plaintext password");
      return Verification{same ? VerifyOutcome::kMatch : VerifyOutcome::kMismatch, parsed.scheme, ""};
    }
    case Scheme::kArgon2id:
    case Scheme::kArgon2i: {
      if (!SodiumReady()) return malformed("libsodium failed to initialise");
      Argon2Params params;
      if (!ParseArgon2(parsed.body, &params)) return malformed("malformed argon2 hash");
      if (params.memory_kib > policy_.argon2_max_memory / 1024)
        return malformed("argon2 hash asks for " + std::to_string(params.memory_kib) +
                         " KiB, above password_argon2_max_memory");
      if (params.ops > 1000 || params.lanes != 1) return malformed("argon2 hash parameters out of range");
      std::string body(parsed.body);  // libsodium wants a NUL-terminated string
      int rc = parsed.scheme == Scheme::kArgon2id
                   ? crypto_pwhash_argon2id_str_verify(body.c_str(), password.data(), password.size())
                   : crypto_pwhash_argon2i_str_verify(body.c_str(), password.data(), password.size());
      return Verification{rc == 0 ? VerifyOutcome::kMatch : VerifyOutcome::kMismatch, parsed.scheme, ""};
    }
    case Scheme::kSha512Crypt:
      if (!WellFormedShaCrypt(parsed.body, "$6$", 86, 16, true)) return malformed("malformed SHA512-CRYPT hash");
      break;
    case Scheme::kSha256Crypt:
      if (!WellFormedShaCrypt(parsed.body, "$5$", 43, 16, true)) return malformed("malformed SHA256-CRYPT hash");
      break;
    case Scheme::kMd5Crypt:
      if (!WellFormedShaCrypt(parsed.body, "$1$", 22, 8, false)) return malformed("malformed MD5-CRYPT hash");
      break;
    case Scheme::kBlfCrypt:
      if (!WellFormedBcrypt(parsed.body)) return malformed("malformed BLF-CRYPT hash");
      break;
  }
  if (password.find('\0') != std::string_view::npos)
    return Verification{VerifyOutcome::kMismatch, parsed.scheme, ""};  // crypt() cannot see past a NUL
  bool ok = CryptMatches(password, parsed.body);
  return Verification{ok ? VerifyOutcome::kMatch : VerifyOutcome::kMismatch, parsed.scheme, ""};
}

bool PasswordHasher::NeedsRehash(std::string_view stored) const {
  ParsedHash parsed = ParseStoredHash(stored);
  if (parsed.scheme != Scheme::kArgon2id) return true;
  Argon2Params params;
  if (!ParseArgon2(parsed.body, &params)) return true;
  return params.ops < policy_.argon2_ops || params.memory_kib * 1024 < policy_.argon2_memory;
}

}  // namespace roster
