// authn.cc: see authn.h. Sign-in of administrators (password, TOTP,
// lockout), API keys and mailbox users to the administration service, the
// key and TOTP formats, and the per-client throttle. The SQL is the admin
// role's store's (common/admin_accounts.h).
//
// Trusts: nothing in the credentials (bounded and checked before any
// statement or hash); the caller for the client address.
#include "ops/authn.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include <algorithm>
#include <mutex>

#include "common/address.h"
#include "common/admin_accounts.h"
#include "common/app_passwords.h"
#include "common/password.h"

namespace roster::ops {
namespace {

// The one message of every refused sign-in, whatever was wrong.
constexpr char kRefused[] = "sign-in refused: wrong name, password, code or key";

Error Refused() { return Error::Unauthenticated(kRefused); }

constexpr char kBase32Lower[] = "abcdefghijklmnopqrstuvwxyz234567";

bool SameDigest(const std::string& a, const std::string& b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

// A hash that no password matches, verified when there is no account, so an
// unknown name costs what a wrong password costs.
const std::string& DummyHash(const PasswordPolicy& policy) {
  static std::once_flag once;
  static std::string hash;
  std::call_once(once, [&] {
    char noise[24];
    randombytes_buf(noise, sizeof noise);
    auto made = PasswordHasher(policy).Hash(Base32(std::string_view(noise, sizeof noise)));
    hash = made ? *made : std::string();
  });
  return hash;
}

void SpendLikeAVerification(const PasswordPolicy& policy, std::string_view password) {
  const std::string& dummy = DummyHash(policy);
  if (!dummy.empty()) (void)PasswordHasher(policy).Verify(password, dummy);
}

Error Ended() { return Error::Unauthenticated("the session has ended: sign in again"); }

// The service is a webmail-like place: a sign-in here is a "webmail" login
// for the mailbox's protocol lists (no Dovecot protocol of its own), as the
// passdb counts a login from auth_webmail_networks.
bool MaySignIn(const MailboxSignIn& m) {
  return m.active && m.domain_active && ProtocolAllowed(m.login_protocols, 0, true) &&
         ProtocolAllowed(m.main_password_protocols, 0, true);
}

// Actor of the change-log rows a sign-in writes (a lock, its lifting).
Actor SignInActor(const std::string& client) { return Actor{"sign-in", client}; }

Principal PrincipalOf(const AdminAccount& a) {
  Principal p;
  switch (a.kind) {
    case AdminKind::kMail:
      p = Principal::MailAdmin(a.name);
      break;
    case AdminKind::kDomain:
      p = Principal::DomainAdmin(a.name, std::set<std::string>(a.domains.begin(), a.domains.end()));
      break;
    case AdminKind::kGroup:
      // With its domain deleted, "" matches no object.
      p = Principal::GroupAdmin(a.name, a.domains.empty() ? std::string() : a.domains.front(), a.department);
      break;
  }
  p.account = a.name;
  return p;
}

// The step a 6-digit code answers, within one step either way of `now`.
std::optional<uint64_t> MatchingStep(std::string_view secret, std::string_view code, int64_t now) {
  if (code.size() != 6 || code.find_first_not_of("0123456789") != std::string_view::npos || now < kTotpPeriod)
    return std::nullopt;
  const uint64_t current = static_cast<uint64_t>(now / kTotpPeriod);
  std::optional<uint64_t> found;
  for (uint64_t step : {current - 1, current, current + 1}) {
    std::string expected = TotpCode(secret, step);
    // Every candidate is compared, so the time does not tell which matched.
    if (sodium_memcmp(expected.data(), code.data(), 6) == 0) found = step;
  }
  return found;
}

}  // namespace

std::string RandomBase32(size_t chars) {
  std::string out;
  for (size_t i = 0; i < chars; ++i) out += kBase32Lower[randombytes_uniform(32)];
  return out;
}

std::string Sha256(std::string_view bytes) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return std::string(reinterpret_cast<const char*>(digest), sizeof digest);
}

// ------------------------------------------------------------------ formats

NewApiKeyMaterial GenerateApiKey() {
  NewApiKeyMaterial m;
  m.selector = RandomBase32(kApiKeySelectorChars);
  std::string secret = RandomBase32(kApiKeySecretChars);
  m.digest = Sha256(secret);
  m.key = "rk_" + m.selector + "_" + secret;
  sodium_memzero(secret.data(), secret.size());
  return m;
}

std::string GenerateTotpSecret() {
  std::string secret(20, '\0');
  randombytes_buf(secret.data(), secret.size());
  return secret;
}

std::string Base32(std::string_view bytes) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 5) {
      out += kAlphabet[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += kAlphabet[(buffer << (5 - bits)) & 31];
  return out;
}

std::string TotpCode(std::string_view secret, uint64_t step) {
  unsigned char counter[8];
  for (int i = 7; i >= 0; --i) {
    counter[i] = static_cast<unsigned char>(step & 0xff);
    step >>= 8;
  }
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()), counter, sizeof counter, mac, &mac_len) ==
          nullptr ||
      mac_len < 20)
    return "";  // never equal to a 6-digit code
  // RFC 4226 dynamic truncation.
  unsigned offset = mac[mac_len - 1] & 0x0f;
  uint32_t binary = (static_cast<uint32_t>(mac[offset] & 0x7f) << 24) | (static_cast<uint32_t>(mac[offset + 1]) << 16) |
                    (static_cast<uint32_t>(mac[offset + 2]) << 8) | static_cast<uint32_t>(mac[offset + 3]);
  std::string code = std::to_string(binary % 1000000);
  return std::string(6 - code.size(), '0') + code;
}

std::string TotpUri(std::string_view account, std::string_view secret) {
  // The account name's characters (a-z 0-9 . _ @ + -) need escaping only for '@' and '+'.
  std::string label;
  for (char c : account) {
    if (c == '@') label += "%40";
    else if (c == '+') label += "%2B";
    else label += c;
  }
  return "otpauth://totp/roster:" + label + "?secret=" + Base32(secret) +
         "&issuer=roster&algorithm=SHA1&digits=6&period=" + std::to_string(kTotpPeriod);
}

// ------------------------------------------------------------------ sign-in

Result<Principal> AuthenticateAdmin(Db& db, const OpsSettings& settings, const Clock& clock, const Credentials& c,
                                    SessionAccount* session) {
  const PasswordPolicy& policy = settings.password_policy;
  auto name = NormaliseAdminName(c.name);
  if (!name || c.password.empty() || c.password.size() > kMaxPasswordBytes) {
    SpendLikeAVerification(policy, c.password.substr(0, kMaxPasswordBytes));
    return Refused();
  }
  AdminAccounts store(db);
  auto found = store.FindForSignIn(*name);
  if (!found) {
    if (!found.error().is_not_found()) return found.error();
    SpendLikeAVerification(policy, c.password);
    return Refused();
  }
  const AdminAccount& account = found->account;
  const int64_t now = clock.NowUnix();
  const Actor actor = SignInActor(c.client);
  if (account.locked_until > now)
    return Error::Throttled("too many failed sign-ins: try again later", account.locked_until - now);
  if (account.locked_until != 0) ROSTER_TRY(store.LiftExpiredLock(account.id, now, actor));

  Verification v = PasswordHasher(policy).Verify(c.password, found->password_hash);
  bool ok = v.matched();
  std::optional<uint64_t> step;
  if (ok && !found->totp_secret.empty()) {
    step = MatchingStep(found->totp_secret, c.totp, now);
    // A code of a step accepted already (or older) is a replay.
    ok = step && *step > found->totp_last_step;
  }
  if (ok && account.active) {
    auto recorded = store.RecordSuccess(account.id, now, c.client, step);
    if (!recorded) return recorded.error();
    if (*recorded) {
      if (session) *session = SessionAccount{SessionAccount::Kind::kAdmin, account.id, account.credentials_version};
      return PrincipalOf(account);
    }
    ok = false;  // another sign-in took this step meanwhile
  }
  // A disabled account is refused like a wrong password, without counting.
  if (account.active) {
    auto locked = store.RecordFailure(account.id, settings.api_lockout_failures, settings.api_lockout, now, actor);
    if (!locked) return locked.error();
  }
  return Refused();
}

Result<Principal> AuthenticateMailbox(Db& db, const OpsSettings& settings, const Clock& clock,
                                      const Credentials& c, SessionAccount* session) {
  (void)clock;
  const PasswordPolicy& policy = settings.password_policy;
  auto address = ParseMailboxName(c.name);
  if (!address || c.password.empty() || c.password.size() > kMaxPasswordBytes) {
    SpendLikeAVerification(policy, c.password.substr(0, kMaxPasswordBytes));
    return Refused();
  }
  auto m = AdminAccounts(db).FindMailboxForSignIn(address->Mailbox());
  if (!m) {
    if (!m.error().is_not_found()) return m.error();
    SpendLikeAVerification(policy, c.password);
    return Refused();
  }
  Verification v = PasswordHasher(policy).Verify(c.password, m->password_hash);
  if (!v.matched() || !MaySignIn(*m)) return Refused();
  if (session) *session = SessionAccount{SessionAccount::Kind::kMailbox, m->id, m->credentials_version};
  return Principal::MailboxUser(m->address);
}

Result<Principal> ResumeSession(Db& db, const SessionAccount& session) {
  AdminAccounts store(db);
  if (session.kind == SessionAccount::Kind::kMailbox) {
    auto m = store.FindMailboxById(session.id);
    if (!m) return m.error().is_not_found() ? Ended() : m.error();
    if (!MaySignIn(*m) || m->credentials_version != session.version) return Ended();
    return Principal::MailboxUser(m->address);
  }
  auto a = store.GetById(session.id);
  if (!a) return a.error().is_not_found() ? Ended() : a.error();
  if (!a->active || a->credentials_version != session.version) return Ended();
  return PrincipalOf(*a);
}

Result<Principal> AuthenticateApiKey(Db& db, const Clock& clock, std::string_view key, const std::string& client) {
  // "rk_" selector "_" secret, nothing else.
  constexpr size_t kLength = 3 + kApiKeySelectorChars + 1 + kApiKeySecretChars;
  std::string_view selector, secret;
  if (key.size() == kLength && key.substr(0, 3) == "rk_" && key[3 + kApiKeySelectorChars] == '_') {
    selector = key.substr(3, kApiKeySelectorChars);
    secret = key.substr(4 + kApiKeySelectorChars);
  }
  auto in_alphabet = [](std::string_view s) {
    return !s.empty() && s.find_first_not_of(kBase32Lower) == std::string_view::npos;
  };
  const std::string digest = Sha256(secret);
  if (!in_alphabet(selector) || !in_alphabet(secret)) return Refused();
  AdminAccounts store(db);
  auto found = store.FindKeyForSignIn(selector);
  if (!found) {
    if (!found.error().is_not_found()) return found.error();
    (void)SameDigest(digest, std::string(32, '\0'));
    return Refused();
  }
  const int64_t now = clock.NowUnix();
  const ApiKeyInfo& k = found->key;
  if (!SameDigest(digest, found->digest) || (k.expires_at != 0 && k.expires_at <= now) || !found->owner.active ||
      (k.domain_limited && k.domains.empty()))
    return Refused();
  if (k.last_used_unix == 0 || now - k.last_used_unix >= kApiKeyTouchSeconds)
    ROSTER_TRY(store.TouchKey(k.id, now, client));
  ApiKeyScope scope;
  scope.read_only = k.read_only;
  scope.domains = std::set<std::string>(k.domains.begin(), k.domains.end());
  return PrincipalOf(found->owner).WithApiKey(std::move(scope));
}

// ------------------------------------------------------------------ LoginThrottle

LoginThrottle::LoginThrottle(unsigned max_failures, std::chrono::seconds window, size_t max_clients,
                             std::string refusal)
    : max_failures_(max_failures),
      window_(window),
      max_clients_(std::max<size_t>(max_clients, 1)),
      refusal_(std::move(refusal)) {}

Status LoginThrottle::Check(const std::string& client, int64_t now) {
  if (max_failures_ == 0) return Status::Ok();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(client);
  if (it == entries_.end()) return Status::Ok();
  const int64_t until = it->second.first + window_.count();
  if (now >= until) {
    entries_.erase(it);
    return Status::Ok();
  }
  if (it->second.failures < max_failures_) return Status::Ok();
  return Error::Throttled(refusal_, until - now);
}

void LoginThrottle::Failed(const std::string& client, int64_t now) {
  if (max_failures_ == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(client);
  if (it != entries_.end() && now >= it->second.first + window_.count()) {
    entries_.erase(it);
    it = entries_.end();
  }
  if (it == entries_.end()) {
    if (entries_.size() >= max_clients_) {
      // Full: the entry counted the longest ago goes (one pass; a full
      // table means a flood of failures, each of which cost a hash anyway).
      auto oldest = entries_.begin();
      for (auto e = entries_.begin(); e != entries_.end(); ++e)
        if (e->second.first < oldest->second.first) oldest = e;
      entries_.erase(oldest);
    }
    it = entries_.emplace(client, Entry{0, now}).first;
  }
  ++it->second.failures;
}

// ------------------------------------------------------------------ PublicThrottle

PublicThrottle::PublicThrottle(unsigned client_limit, unsigned application_limit, std::chrono::seconds window)
    : clients_(client_limit, window, 65536, "too many requests from this address: try again later"),
      applications_(application_limit, window, 1, "too many applications at the moment: try again later") {}

Status PublicThrottle::Admit(std::string_view operation, const std::string& client, int64_t now) {
  ROSTER_TRY(clients_.Check(client, now));
  const bool application = operation == "application.submit";
  if (application) ROSTER_TRY(applications_.Check("*", now));
  clients_.Failed(client, now);
  if (application) applications_.Failed("*", now);
  return Status::Ok();
}

}  // namespace roster::ops
