// admin_ops.cc: administrator accounts and their API keys as operations of
// ops/operations.h: admin.add|list|show|del|set_password|set_totp|enable|
// disable|unlock, api_key.add|list|revoke. The mail administrator manages
// every account; an administrator its own password (with the current one),
// its own second factor (likewise) and its own API keys (Authorize, kSelf).
//
// Trusts: Run to have validated the input and authorized the principal. A
// new API key and a new TOTP secret are in the answer once and nowhere else.
#include <sodium.h>

#include "common/admin_accounts.h"
#include "ops/authn.h"
#include "ops/handlers.h"

namespace roster::ops {
namespace {

std::vector<std::string> Domains(const Json& in) {
  auto it = in.find("domains");
  return it == in.end() ? std::vector<std::string>() : it->get<std::vector<std::string>>();
}

Json AdminJson(const AdminAccount& a) {
  Json j = Json::object();
  j["name"] = a.name;
  j["kind"] = AdminKindName(a.kind);
  j["domains"] = a.domains;
  j["department"] = a.department;
  j["active"] = a.active;
  j["totp"] = a.has_totp;
  j["created"] = a.created_at;
  j["last_sign_in"] = a.last_sign_in_at.empty() ? Json(nullptr) : Json(a.last_sign_in_at);
  j["last_sign_in_client"] = a.last_sign_in_client;
  j["failures"] = a.failures;
  j["locked_until"] = a.locked_until ? Json(a.locked_until) : Json(nullptr);
  return j;
}

Json KeyJson(const ApiKeyInfo& k, int64_t now) {
  Json j = Json::object();
  j["id"] = k.id;
  j["selector"] = k.selector;
  j["admin"] = k.admin;
  j["label"] = k.label;
  j["read_only"] = k.read_only;
  j["domains"] = k.domains;
  j["created"] = k.created_at;
  j["expires_at"] = k.expires_at ? Json(k.expires_at) : Json(nullptr);
  j["expired"] = k.expires_at != 0 && k.expires_at <= now;
  j["last_used"] = k.last_used_at.empty() ? Json(nullptr) : Json(k.last_used_at);
  j["last_used_client"] = k.last_used_client;
  return j;
}

// Someone other than the mail administrator changing its own account proves
// it with the current password.
Status CheckCurrentPassword(Context& ctx, const Json& in, const std::string& name) {
  if (ctx.principal.kind == PrincipalKind::kMailAdmin) return Status::Ok();
  auto it = in.find("current_password");
  if (it == in.end()) return FieldInvalid("current_password", "required to change your own account");
  auto stored = AdminAccounts(*ctx.db).PasswordHash(name);
  if (!stored) return stored.error();
  if (!PasswordHasher(ctx.settings->password_policy).Verify(it->get_ref<const std::string&>(), *stored).matched()) {
    Error e = Error::Forbidden("the current password is not right");
    e.field = "current_password";
    return e;
  }
  return Status::Ok();
}

}  // namespace

ROSTER_OPS_HANDLER(AdminAdd) {
  auto kind = ParseAdminKind(Str(in, "kind"));
  if (!kind) return FieldInvalid("kind", "mail, domain or group");
  PasswordHasher hasher(ctx.settings->password_policy);
  auto hash = hasher.Hash(in["password"].get_ref<const std::string&>());
  if (!hash) return hash.error();
  NewAdminAccount a;
  a.name = object.name;
  a.kind = *kind;
  a.password_hash = *hash;
  a.domains = Domains(in);
  a.department = Str(in, "department");
  a.active = Flag(in, "active", true);
  ROSTER_TRY(AdminAccounts(*ctx.db).Add(a, ctx.actor));
  auto made = AdminAccounts(*ctx.db).Get(object.name);
  if (!made) return made.error();
  return AdminJson(*made);
}

ROSTER_OPS_HANDLER(AdminList) {
  const uint64_t limit = PageLimit(in);
  auto page = AdminAccounts(*ctx.db).Page(Str(in, "cursor"), limit + 1);
  if (!page) return page.error();
  Json items = Json::array();
  for (size_t i = 0; i < page->size() && i < limit; ++i) items.push_back(AdminJson((*page)[i]));
  return Page(std::move(items), page->size() > limit ? (*page)[limit - 1].name : std::string());
}

ROSTER_OPS_HANDLER(AdminShow) {
  auto a = AdminAccounts(*ctx.db).Get(object.name);
  if (!a) return a.error();
  return AdminJson(*a);
}

ROSTER_OPS_HANDLER(AdminDel) {
  ROSTER_TRY(AdminAccounts(*ctx.db).Delete(object.name, ctx.actor));
  return Json{{"deleted", object.name}};
}

ROSTER_OPS_HANDLER(AdminSetPassword) {
  ROSTER_TRY(CheckCurrentPassword(ctx, in, object.name));
  auto hash = PasswordHasher(ctx.settings->password_policy).Hash(in["password"].get_ref<const std::string&>());
  if (!hash) return hash.error();
  ROSTER_TRY(AdminAccounts(*ctx.db).SetPasswordHash(object.name, *hash, ctx.actor));
  return Json{{"password_changed", object.name}};
}

ROSTER_OPS_HANDLER(AdminSetTotp) {
  ROSTER_TRY(CheckCurrentPassword(ctx, in, object.name));
  AdminAccounts store(*ctx.db);
  Json j = Json::object();
  j["name"] = object.name;
  if (!Flag(in, "enable")) {
    ROSTER_TRY(store.SetTotpSecret(object.name, std::nullopt, ctx.actor));
    j["totp"] = false;
    return j;
  }
  std::string secret = GenerateTotpSecret();
  Status set = store.SetTotpSecret(object.name, secret, ctx.actor);
  if (set) {
    j["totp"] = true;
    j["secret"] = Base32(secret);
    j["uri"] = TotpUri(object.name, secret);
  }
  sodium_memzero(secret.data(), secret.size());
  if (!set) return set.error();
  return j;
}

ROSTER_OPS_HANDLER(AdminSetActive) {
  const bool active = std::string(op.name) == "admin.enable";
  ROSTER_TRY(AdminAccounts(*ctx.db).SetActive(object.name, active, ctx.actor));
  return Json{{"name", object.name}, {"active", active}};
}

ROSTER_OPS_HANDLER(AdminUnlock) {
  ROSTER_TRY(AdminAccounts(*ctx.db).Unlock(object.name, ctx.actor));
  return Json{{"name", object.name}, {"locked_until", nullptr}};
}

ROSTER_OPS_HANDLER(ApiKeyAdd) {
  NewApiKey k;
  k.admin = object.name;
  k.label = Str(in, "label");
  k.read_only = Flag(in, "read_only");
  k.domains = Domains(in);
  const int64_t now = ctx.clock->NowUnix();
  if (in.contains("expires_at") && in.contains("expires_in"))
    return FieldInvalid("expires_in", "give expires_at or expires_in, not both");
  if (auto at = OptUint(in, "expires_at")) {
    if (*at > static_cast<uint64_t>(INT64_MAX)) return FieldInvalid("expires_at", "out of range");
    k.expires_at = static_cast<int64_t>(*at);
    if (k.expires_at <= now) return FieldInvalid("expires_at", "not in the future");
  }
  if (auto seconds = OptUint(in, "expires_in")) {
    if (*seconds == 0) return FieldInvalid("expires_in", "the duration must be positive");
    k.expires_at = now + static_cast<int64_t>(*seconds);
  }
  AdminAccounts store(*ctx.db);
  // A selector taken already (2^60 of them: all but never) gets another try.
  for (int attempt = 0;; ++attempt) {
    NewApiKeyMaterial m = GenerateApiKey();
    k.selector = m.selector;
    k.digest = m.digest;
    auto id = store.AddKey(k, now, ctx.actor);
    if (!id) {
      sodium_memzero(m.key.data(), m.key.size());
      if (id.error().kind == ErrorKind::kConflict && id.error().db_code != 0 && attempt < 2) continue;
      return id.error();
    }
    Json j = Json::object();
    j["id"] = *id;
    j["admin"] = k.admin;
    j["selector"] = k.selector;
    j["label"] = k.label;
    j["read_only"] = k.read_only;
    j["domains"] = k.domains;
    j["expires_at"] = k.expires_at ? Json(k.expires_at) : Json(nullptr);
    j["key"] = m.key;
    sodium_memzero(m.key.data(), m.key.size());
    return j;
  }
}

ROSTER_OPS_HANDLER(ApiKeyList) {
  auto after = IdCursor(in);
  if (!after) return after.error();
  const uint64_t limit = PageLimit(in);
  auto page = AdminAccounts(*ctx.db).KeyPage(object.name, *after, limit + 1);
  if (!page) return page.error();
  const int64_t now = ctx.clock->NowUnix();
  Json items = Json::array();
  for (size_t i = 0; i < page->size() && i < limit; ++i) items.push_back(KeyJson((*page)[i], now));
  return Page(std::move(items), page->size() > limit ? std::to_string((*page)[limit - 1].id) : std::string());
}

ROSTER_OPS_HANDLER(ApiKeyRevoke) {
  uint64_t id = *OptUint(in, "id");
  ROSTER_TRY(AdminAccounts(*ctx.db).RevokeKey(object.name, id, ctx.actor));
  return Json{{"admin", object.name}, {"revoked", id}};
}

}  // namespace roster::ops
