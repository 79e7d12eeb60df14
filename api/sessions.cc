// sessions.cc: see sessions.h.
#include "api/sessions.h"

#include <sodium.h>

#include "common/text.h"

namespace roster {
namespace {

constexpr char kPrefix[] = "rs_";
constexpr size_t kRandomBytes = 32;
// sodium's base64url without padding: 43 characters for 32 bytes.
constexpr size_t kEncoded = 43;

// 256 random bits as 43 characters of base64url.
std::string RandomText() {
  unsigned char random[kRandomBytes];
  randombytes_buf(random, sizeof(random));
  char encoded[sodium_base64_ENCODED_LEN(kRandomBytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(encoded, sizeof(encoded), random, sizeof(random), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(random, sizeof(random));
  std::string text(encoded);
  sodium_memzero(encoded, sizeof(encoded));
  return text;
}

std::string Digest(std::string_view token) {
  unsigned char out[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(out, reinterpret_cast<const unsigned char*>(token.data()), token.size());
  return std::string(reinterpret_cast<const char*>(out), sizeof(out));
}

}  // namespace

bool SessionStore::LooksLikeToken(std::string_view token) {
  if (!StartsWith(token, kPrefix) || token.size() != sizeof(kPrefix) - 1 + kEncoded) return false;
  for (char c : token.substr(sizeof(kPrefix) - 1)) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

void SessionStore::SetLimits(SessionLimits limits) {
  std::lock_guard<std::mutex> lock(mu_);
  limits_ = limits;
}

bool SessionStore::Expired(const Session& s, int64_t now) const {
  return now - s.last_used >= limits_.idle.count() || now - s.created_at >= limits_.lifetime.count();
}

void SessionStore::EvictOne(int64_t now) {
  auto oldest = sessions_.end();
  for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
    if (Expired(it->second, now)) {
      sessions_.erase(it);
      return;
    }
    if (oldest == sessions_.end() || it->second.last_used < oldest->second.last_used) oldest = it;
  }
  if (oldest != sessions_.end()) sessions_.erase(oldest);
}

bool SessionStore::CsrfMatches(std::string_view csrf, std::string_view presented) {
  if (csrf.empty() || presented.size() != csrf.size()) return false;
  return sodium_memcmp(csrf.data(), presented.data(), csrf.size()) == 0;
}

SessionStore::Created SessionStore::Create(const ops::SessionAccount& account, int64_t now, bool cookie) {
  std::string random = RandomText();
  Created created{kPrefix + random, 0, cookie ? RandomText() : std::string()};
  sodium_memzero(random.data(), random.size());
  std::lock_guard<std::mutex> lock(mu_);
  while (!sessions_.empty() && sessions_.size() >= limits_.max) EvictOne(now);
  Session s{account, now, now, created.csrf};
  created.expires_at = now + limits_.lifetime.count();
  sessions_[Digest(created.token)] = std::move(s);
  return created;
}

std::optional<SessionStore::Found> SessionStore::Use(std::string_view token, int64_t now) {
  if (!LooksLikeToken(token)) return std::nullopt;
  std::string key = Digest(token);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(key);
  if (it == sessions_.end()) return std::nullopt;
  if (Expired(it->second, now)) {
    sessions_.erase(it);
    return std::nullopt;
  }
  it->second.last_used = now;
  return Found{it->second.account, it->second.created_at, it->second.created_at + limits_.lifetime.count(),
               it->second.csrf};
}

bool SessionStore::End(std::string_view token) {
  if (!LooksLikeToken(token)) return false;
  std::string key = Digest(token);
  std::lock_guard<std::mutex> lock(mu_);
  return sessions_.erase(key) > 0;
}

size_t SessionStore::size() {
  std::lock_guard<std::mutex> lock(mu_);
  return sessions_.size();
}

}  // namespace roster
