// password_bench: password verification through roster's password module
// against the raw library call (crypt_r, libsodium) on the same hashes, in the
// same run, alternating rounds so drift affects both alike. Prints
// verifications/s per scheme and the ratio core/raw (goal: >= 0.95).
//   password_bench [SCALE]
//   password_bench --raw < STORED_HASH: the raw call's verifications/s on one
//       core for that hash (the auth bench compares Dovecot's rate with it)
#include <crypt.h>
#include <sodium.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "common/password.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Case {
  const char* name;
  std::string stored;  // as roster stores it
  std::string raw;     // what the raw call sees
  bool sodium;
  int rounds;          // verifications per timed round
};

bool RawVerify(const Case& c, const std::string& password) {
  if (c.sodium) return crypto_pwhash_argon2id_str_verify(c.raw.c_str(), password.data(), password.size()) == 0;
  auto data = std::make_unique<struct crypt_data>();
  std::memset(data.get(), 0, sizeof(struct crypt_data));
  const char* out = crypt_r(password.c_str(), c.raw.c_str(), data.get());
  return out != nullptr && c.raw == out;
}

std::string MakeCrypt(const char* setting) {
  auto data = std::make_unique<struct crypt_data>();
  std::memset(data.get(), 0, sizeof(struct crypt_data));
  return crypt_r("secret", setting, data.get());
}

}  // namespace

// One core's raw verification rate of `stored`, over about two seconds.
int RawRate() {
  std::string stored;
  if (!std::getline(std::cin, stored)) return 64;
  Case c{"", stored, std::string(roster::ParseStoredHash(stored).body), stored.find("{ARGON2") == 0, 0};
  long n = 0;
  auto t0 = Clock::now();
  double s = 0;
  do {
    if (!RawVerify(c, "secret")) return 1;
    ++n;
    s = std::chrono::duration<double>(Clock::now() - t0).count();
  } while (s < 2.0 || n < 3);
  std::printf("%.2f\n", n / s);
  return 0;
}

int main(int argc, char** argv) {
  if (sodium_init() < 0) return 1;
  if (argc > 1 && std::strcmp(argv[1], "--raw") == 0) return RawRate();
  double scale = argc > 1 ? std::atof(argv[1]) : 1.0;
  char argon[crypto_pwhash_argon2id_STRBYTES];
  if (crypto_pwhash_argon2id_str(argon, "secret", 6, 3, 64u << 20) != 0) return 1;
  std::vector<Case> cases = {
      {"SHA512-CRYPT", "{SHA512-CRYPT}" + MakeCrypt("$6$abcdefghijklmnop$"), "", false, 200},
      {"SHA256-CRYPT", "{SHA256-CRYPT}" + MakeCrypt("$5$abcdefghijklmnop$"), "", false, 200},
      {"MD5-CRYPT", "{MD5-CRYPT}" + MakeCrypt("$1$abcdefgh$"), "", false, 2000},
      {"BLF-CRYPT", "{BLF-CRYPT}" + MakeCrypt("$2y$05$abcdefghijklmnopqrstuu"), "", false, 100},
      {"ARGON2ID m=64M t=3", std::string("{ARGON2ID}") + argon, argon, true, 4},
  };
  roster::PasswordPolicy policy;
  roster::PasswordHasher hasher(policy);
  const std::string password = "secret";
  std::printf("%-20s %14s %14s %7s\n", "scheme", "roster/s", "raw/s", "ratio");
  bool all_ok = true;
  for (Case& c : cases) {
    if (c.raw.empty()) c.raw = roster::ParseStoredHash(c.stored).body.data();
    int rounds = std::max(1, static_cast<int>(c.rounds * scale));
    double core_s = 0, raw_s = 0;
    long core_n = 0, raw_n = 0;
    for (int pass = 0; pass < 6; ++pass) {
      auto t0 = Clock::now();
      for (int i = 0; i < rounds; ++i) all_ok &= hasher.Verify(password, c.stored).matched();
      auto t1 = Clock::now();
      for (int i = 0; i < rounds; ++i) all_ok &= RawVerify(c, password);
      auto t2 = Clock::now();
      core_s += std::chrono::duration<double>(t1 - t0).count();
      raw_s += std::chrono::duration<double>(t2 - t1).count();
      core_n += rounds;
      raw_n += rounds;
    }
    double core_rate = core_n / core_s, raw_rate = raw_n / raw_s;
    std::printf("%-20s %14.1f %14.1f %7.3f\n", c.name, core_rate, raw_rate, core_rate / raw_rate);
  }
  if (!all_ok) {
    std::printf("ERROR: a verification failed\n");
    return 1;
  }
  return 0;
}
