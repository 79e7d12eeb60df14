// password.h: the one password module. New hashes are argon2id (libsodium);
// stored hashes of the legacy schemes users migrate from are verified, and
// NeedsRehash says when a successful login should store a fresh argon2id hash.
//
// Stored forms accepted: "{SCHEME}hash" as Dovecot writes them, or a bare crypt
// string ("$argon2id$...", "$6$...", "$5$...", "$1$...", "$2y$..."). Schemes:
// ARGON2ID, ARGON2I, SHA512-CRYPT, SHA256-CRYPT, MD5-CRYPT, BLF-CRYPT, CRYPT (by
// its $id$), and PLAIN/CLEARTEXT only when explicitly allowed.
//
// Trusts: nothing in the stored hash: its structure is checked before any hash
// function sees it, argon2 memory parameters are capped, and anything malformed
// fails closed (kMalformed, never kMatch) with a reason for the log. The
// password itself never appears in a reason, a log line or an error.
#ifndef ROSTER_COMMON_PASSWORD_H
#define ROSTER_COMMON_PASSWORD_H

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace roster {

class Config;

enum class Scheme { kArgon2id, kArgon2i, kSha512Crypt, kSha256Crypt, kMd5Crypt, kBlfCrypt, kPlain, kUnknown };

const char* SchemeName(Scheme scheme);  // Dovecot's name: "SHA512-CRYPT"

struct PasswordPolicy {
  uint64_t argon2_ops = 3;                     // iterations for new hashes
  uint64_t argon2_memory = 64ull << 20;        // bytes for new hashes
  uint64_t argon2_max_memory = 1ull << 30;     // refuse stored hashes asking for more
  bool allow_plaintext = false;

  static Result<PasswordPolicy> FromConfig(const Config& config);
};

enum class VerifyOutcome { kMatch, kMismatch, kMalformed, kUnsupported };

struct Verification {
  VerifyOutcome outcome;
  Scheme scheme;
  std::string reason;  // why kMalformed/kUnsupported; empty otherwise
  bool matched() const { return outcome == VerifyOutcome::kMatch; }
};

// The scheme of a stored hash, and the part the hash function sees.
struct ParsedHash {
  Scheme scheme = Scheme::kUnknown;
  std::string_view body;  // without a {SCHEME} prefix
};
ParsedHash ParseStoredHash(std::string_view stored);
// A hash brought from elsewhere (rosterctl --hash-stdin, an import): one whose
// scheme roster verifies (and upgrades on login), in Dovecot's "{SCHEME}hash"
// form or as a bare crypt string; never plaintext. Returns it with its
// {SCHEME} prefix, so `mailbox show` names the scheme.
Result<std::string> CheckForeignHash(std::string_view stored);

class PasswordHasher {
 public:
  explicit PasswordHasher(PasswordPolicy policy) : policy_(policy) {}

  // A new "{ARGON2ID}$argon2id$v=19$m=...,t=...,p=1$salt$hash" string.
  Result<std::string> Hash(std::string_view password) const;
  Verification Verify(std::string_view password, std::string_view stored) const;
  // True when `stored` is not argon2id with at least the configured parameters.
  bool NeedsRehash(std::string_view stored) const;

  const PasswordPolicy& policy() const { return policy_; }

 private:
  PasswordPolicy policy_;
};

// Bounded password length: longer inputs are refused before hashing.
constexpr size_t kMaxPasswordBytes = 1024;

}  // namespace roster

#endif
