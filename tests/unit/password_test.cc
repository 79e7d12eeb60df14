// Tests of the password module: every scheme, prefixes, malformed and truncated
// hashes failing closed, plaintext policy, rehash decisions.
// The vectors were made by Dovecot's `doveadm pw -s SCHEME -p 'correct horse'`.
#include <gtest/gtest.h>

#include "common/password.h"

namespace roster {
namespace {

const char kPw[] = "correct horse";

struct Vector {
  const char* stored;
  Scheme scheme;
};

const Vector kVectors[] = {
    {"{SHA512-CRYPT}$6$O27mz1e5AD2W5fzr$uhe1Vl/YWd3ZadQy5WYRHYoac7JFV5YXsQpVoOk47KHqcnuCtVoOEDhYbjykpjZRKY4yQHZo7Lirv.4RIaaAA.",
     Scheme::kSha512Crypt},
    {"$6$O27mz1e5AD2W5fzr$uhe1Vl/YWd3ZadQy5WYRHYoac7JFV5YXsQpVoOk47KHqcnuCtVoOEDhYbjykpjZRKY4yQHZo7Lirv.4RIaaAA.",
     Scheme::kSha512Crypt},
    {"{SHA256-CRYPT}$5$au2PGJCZJfy.P8dM$wQyiN8bG4huaOjlgGhLs4ue7eB5gTHCKaGmc76injl5", Scheme::kSha256Crypt},
    {"{MD5-CRYPT}$1$vVt5fc9v$fOzlNxn0/91JtVcZSRGO/.", Scheme::kMd5Crypt},
    {"$1$vVt5fc9v$fOzlNxn0/91JtVcZSRGO/.", Scheme::kMd5Crypt},
    {"{BLF-CRYPT}$2y$05$Mb92IS3LFfB31o2Itxwc2OJ9uRHyCTpkfZrc7Ihe7a0J5xFWtukD6", Scheme::kBlfCrypt},
    {"{CRYPT}$2y$05$Mb92IS3LFfB31o2Itxwc2OJ9uRHyCTpkfZrc7Ihe7a0J5xFWtukD6", Scheme::kBlfCrypt},
    {"{ARGON2I}$argon2i$v=19$m=32768,t=4,p=1$7ukSe7zrv8NoSvyXw1aNRA$a5U/RwxzwNnnmnlNSFmnkwMUM8iwVGYs7hYUe9AUY8g",
     Scheme::kArgon2i},
    {"{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$fTBzCFd7xUB8/IsRhZIBfQ$L9GAFRgxfLdZXnN7aufNHKOXUfUKswXnz3SC1w2HQO4",
     Scheme::kArgon2id},
    {"$argon2id$v=19$m=65536,t=3,p=1$fTBzCFd7xUB8/IsRhZIBfQ$L9GAFRgxfLdZXnN7aufNHKOXUfUKswXnz3SC1w2HQO4",
     Scheme::kArgon2id},
    {"{sha512-crypt}$6$rounds=10000$kcynQeddhTV.MFBA$kH3zmh1s/iEhAFtGYH49PJRBbQVEHX/w8N9oiiRE.mwZsQh3hiSxIW5DKjA89W04h8Sx04XSj1mbnOQXAvd851",
     Scheme::kSha512Crypt},
};

PasswordHasher Hasher(bool plaintext = false) {
  PasswordPolicy p;
  p.argon2_ops = 1;
  p.argon2_memory = 8u << 20;
  p.allow_plaintext = plaintext;
  return PasswordHasher(p);
}

TEST(Password, EverySchemeVerifies) {
  PasswordHasher h = Hasher();
  for (const Vector& v : kVectors) {
    std::string password = std::string(v.stored).find("rounds=10000") != std::string::npos ? "x" : kPw;
    Verification ok = h.Verify(password, v.stored);
    EXPECT_EQ(ok.outcome, VerifyOutcome::kMatch) << v.stored << " " << ok.reason;
    EXPECT_EQ(ok.scheme, v.scheme) << v.stored;
    Verification wrong = h.Verify("correct horse!", v.stored);
    EXPECT_EQ(wrong.outcome, VerifyOutcome::kMismatch) << v.stored;
    EXPECT_EQ(h.Verify("", v.stored).outcome, VerifyOutcome::kMismatch) << v.stored;
  }
}

TEST(Password, NewHashesAreArgon2idAndVerify) {
  PasswordHasher h = Hasher();
  auto hash = h.Hash(kPw);
  ASSERT_TRUE(hash.ok());
  EXPECT_EQ(hash->rfind("{ARGON2ID}$argon2id$v=19$m=8192,t=1,p=1$", 0), 0u) << *hash;
  EXPECT_TRUE(h.Verify(kPw, *hash).matched());
  EXPECT_FALSE(h.Verify("other", *hash).matched());
  EXPECT_FALSE(h.NeedsRehash(*hash));
  EXPECT_NE(*h.Hash(kPw), *hash);  // fresh salt each time
}

TEST(Password, DefaultsMeetOwasp) {
  PasswordPolicy p;
  // OWASP: argon2id with at least 19 MiB and 2 iterations (or 46 MiB and 1).
  EXPECT_GE(p.argon2_memory, 19u << 20);
  EXPECT_GE(p.argon2_ops, 2u);
}

TEST(Password, RehashWhenWeakerSchemeOrParameters) {
  PasswordHasher h = Hasher();
  for (const Vector& v : kVectors) {
    bool strong_enough = v.scheme == Scheme::kArgon2id;  // m=64M,t=3 beats the test policy (8M, t=1)
    EXPECT_EQ(h.NeedsRehash(v.stored), !strong_enough) << v.stored;
  }
  PasswordPolicy stronger;
  stronger.argon2_ops = 4;
  stronger.argon2_memory = 64u << 20;
  EXPECT_TRUE(PasswordHasher(stronger).NeedsRehash(kVectors[8].stored));  // t=3 < 4
  stronger.argon2_ops = 3;
  stronger.argon2_memory = 128u << 20;
  EXPECT_TRUE(PasswordHasher(stronger).NeedsRehash(kVectors[8].stored));  // 64M < 128M
  stronger.argon2_memory = 64u << 20;
  EXPECT_FALSE(PasswordHasher(stronger).NeedsRehash(kVectors[8].stored));
}

TEST(Password, PlaintextOnlyWhenAllowed) {
  Verification refused = Hasher(false).Verify("secret", "{PLAIN}secret");
  EXPECT_EQ(refused.outcome, VerifyOutcome::kUnsupported);
  EXPECT_NE(refused.reason.find("password_allow_plaintext"), std::string::npos);
  EXPECT_EQ(Hasher(false).Verify("secret", "{CLEARTEXT}secret").outcome, VerifyOutcome::kUnsupported);
  EXPECT_TRUE(Hasher(true).Verify("secret", "{PLAIN}secret").matched());
  EXPECT_EQ(Hasher(true).Verify("Secret", "{PLAIN}secret").outcome, VerifyOutcome::kMismatch);
  EXPECT_EQ(Hasher(true).Verify("secre", "{PLAIN}secret").outcome, VerifyOutcome::kMismatch);
  EXPECT_TRUE(Hasher(true).NeedsRehash("{PLAIN}secret"));
  // A bare string is never taken for plaintext.
  EXPECT_EQ(Hasher(true).Verify("secret", "secret").outcome, VerifyOutcome::kUnsupported);
}

TEST(Password, MalformedAndTruncatedHashesFailClosed) {
  PasswordHasher h = Hasher(true);
  std::string sha512 = kVectors[1].stored;
  const std::string malformed[] = {
      sha512.substr(0, sha512.size() - 1),                // truncated
      sha512.substr(0, 20),                                // salt only: crypt would "verify" the setting
      "$6$",                                               //
      "$6$salt",                                           //
      sha512 + "x",                                        // too long
      "$6$bad salt!$" + sha512.substr(20),                 // bad characters
      "$6$rounds=abc$O27mz1e5AD2W5fzr$" + sha512.substr(20),
      "$5$au2PGJCZJfy.P8dM$short",
      "$1$toolongsalt$fOzlNxn0/91JtVcZSRGO/.",
      "$2y$05$short",
      "$2y$99$Mb92IS3LFfB31o2Itxwc2OJ9uRHyCTpkfZrc7Ihe7a0J5xFWtukD6",
      "$argon2id$v=19$m=65536,t=3,p=1$fTBzCFd7xUB8/IsRhZIBfQ",       // no hash
      "$argon2id$v=18$m=65536,t=3,p=1$fTBzCFd7xUB8/IsRhZIBfQ$L9GAFRgxfLdZXnN7aufNHKOXUfUKswXnz3SC1w2HQO4",
      "$argon2id$v=19$m=x,t=3,p=1$fTBzCFd7xUB8/IsRhZIBfQ$L9GAFRgxfLdZXnN7aufNHKOXUfUKswXnz3SC1w2HQO4",
      "$argon2id$v=19$m=65536,t=3,p=4$fTBzCFd7xUB8/IsRhZIBfQ$L9GAFRgxfLdZXnN7aufNHKOXUfUKswXnz3SC1w2HQO4",
      "$argon2id$v=19$m=65536,t=3,p=1$fTB*CFd7xUB8/IsRhZIBfQ$L9GAFRgxfLdZXnN7aufNHKOXUfUKswXnz3SC1w2HQO4",
      "",
      "{PLAIN}",
  };
  for (const std::string& bad : malformed) {
    Verification v = h.Verify(kPw, bad);
    EXPECT_NE(v.outcome, VerifyOutcome::kMatch) << bad;
    EXPECT_NE(v.outcome, VerifyOutcome::kMismatch) << "should be reported as malformed: " << bad;
    EXPECT_FALSE(v.reason.empty()) << bad;
  }
}

TEST(Password, ArgonMemoryBombIsRefused) {
  // A row asking for 4 TiB must not be handed to libsodium.
  Verification v = Hasher().Verify(
      kPw, "$argon2id$v=19$m=4294967295,t=3,p=1$fTBzCFd7xUB8/IsRhZIBfQ$L9GAFRgxfLdZXnN7aufNHKOXUfUKswXnz3SC1w2HQO4");
  EXPECT_EQ(v.outcome, VerifyOutcome::kMalformed);
  EXPECT_NE(v.reason.find("password_argon2_max_memory"), std::string::npos);
}

TEST(Password, UnknownOrMismatchedPrefixIsUnsupported) {
  PasswordHasher h = Hasher();
  EXPECT_EQ(h.Verify(kPw, "{SSHA}abc").outcome, VerifyOutcome::kUnsupported);
  EXPECT_EQ(h.Verify(kPw, "{MD5-CRYPT}$6$O27mz1e5AD2W5fzr$x").outcome, VerifyOutcome::kUnsupported);
  EXPECT_EQ(h.Verify(kPw, "{SHA512-CRYPT").outcome, VerifyOutcome::kUnsupported);
  EXPECT_EQ(h.Verify(kPw, "*LK*").outcome, VerifyOutcome::kUnsupported);
}

TEST(Password, OverlongOrNulPasswordsNeverMatch) {
  PasswordHasher h = Hasher(true);
  std::string big(kMaxPasswordBytes + 1, 'a');
  EXPECT_FALSE(h.Hash(big).ok());
  EXPECT_FALSE(h.Verify(big, "{PLAIN}" + big).matched());
  // crypt() stops at NUL: "correct horse\0junk" must not match "correct horse".
  std::string with_nul(kPw);
  with_nul += std::string("\0junk", 5);
  EXPECT_FALSE(h.Verify(with_nul, kVectors[1].stored).matched());
}

TEST(Password, SchemeNamesAreDovecots) {
  EXPECT_STREQ(SchemeName(Scheme::kSha512Crypt), "SHA512-CRYPT");
  EXPECT_STREQ(SchemeName(Scheme::kBlfCrypt), "BLF-CRYPT");
  EXPECT_EQ(ParseStoredHash("{ARGON2ID}$argon2id$v=19$x").body, "$argon2id$v=19$x");
}

// Hashes brought from elsewhere: verifiable schemes only, with their prefix.
TEST(Password, ForeignHashes) {
  EXPECT_EQ(*CheckForeignHash("$1$vVt5fc9v$fOzlNxn0/91JtVcZSRGO/."), "{MD5-CRYPT}$1$vVt5fc9v$fOzlNxn0/91JtVcZSRGO/.");
  EXPECT_EQ(*CheckForeignHash("{CRYPT}$1$vVt5fc9v$fOzlNxn0/91JtVcZSRGO/."),
            "{MD5-CRYPT}$1$vVt5fc9v$fOzlNxn0/91JtVcZSRGO/.");
  EXPECT_EQ(*CheckForeignHash("{md5-crypt}$1$vVt5fc9v$fOzlNxn0/91JtVcZSRGO/."),
            "{MD5-CRYPT}$1$vVt5fc9v$fOzlNxn0/91JtVcZSRGO/.");
  for (const char* bad : {"", "{PLAIN}secret", "secret", "abJnggxhB/yJU", "{SHA512-CRYPT}$1$vVt5fc9v$x",
                          "$1$vVt5fc9v$fOzlNxn0/91JtVcZSRGO/. ", "{MD5-CRYPT}$1$a\tb"})
    EXPECT_FALSE(CheckForeignHash(bad).ok()) << bad;
}

}  // namespace
}  // namespace roster
