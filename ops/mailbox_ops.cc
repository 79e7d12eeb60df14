// mailbox_ops.cc: the mailbox operations of ops/operations.h: add, del,
// enable, disable, set_quota, set_password, change_password (a user's own,
// with the current password), show, list (paged, filtered, sorted; its
// cursor encoded here), inactive (the dormant ones, paged) and last_logins. A change that alters a login's
// answer flushes the mailbox from Dovecot's auth cache (ctx.flusher).
//
// Trusts: Run to have validated the input and authorized the principal.
// Passwords arrive in the input only; they are hashed here and never
// written anywhere else (Run wipes them afterwards).
#include <sodium.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>

#include "common/admin_store.h"
#include "common/app_password_admin.h"
#include "common/password.h"
#include "ops/handlers.h"

namespace roster::ops {
namespace {

Json MailboxJson(const Mailbox& m) {
  Json j = Json::object();
  j["address"] = m.address;
  j["domain"] = m.domain;
  j["active"] = m.active;
  j["domain_active"] = m.domain_active;
  j["name"] = m.display_name;
  j["department"] = m.department;
  j["max_bytes"] = m.max_bytes;
  j["max_messages"] = m.max_messages;
  j["unit"] = m.unit;
  j["password_scheme"] = m.password_scheme;
  j["created_at"] = m.created_at;
  j["updated_at"] = m.updated_at;
  j["password_changed_at"] = m.password_changed_at;
  if (m.usage) {
    Json u = Json::object();
    u["bytes"] = m.usage->bytes;
    u["messages"] = m.usage->messages;
    j["usage"] = std::move(u);
  } else {
    j["usage"] = nullptr;
  }
  return j;
}

// The hash to store: of "password" (hashed with the configured policy), or
// "password_hash" as brought from elsewhere (CheckForeignHash: never plaintext).
Result<std::string> NewHash(const Context& ctx, const Json& in) {
  bool has_password = in.contains("password"), has_hash = in.contains("password_hash");
  if (has_password == has_hash) {
    Error e = Error::Invalid("give either password or password_hash");
    e.field = "password";
    return e;
  }
  if (has_hash) return CheckForeignHash(Str(in, "password_hash"));
  return PasswordHasher(ctx.settings->password_policy).Hash(in["password"].get_ref<const std::string&>());
}

}  // namespace

ROSTER_OPS_HANDLER(MailboxAdd) {
  NewMailbox nm;
  nm.address = Str(in, "address");
  nm.display_name = Str(in, "name");
  nm.department = Str(in, "department");
  nm.max_bytes = OptUint(in, "max_bytes");
  nm.max_messages = OptUint(in, "max_messages");
  nm.unit = Str(in, "unit");
  nm.active = Flag(in, "active", true);
  ROSTER_TRY(CheckUnitName(nm.unit, "unit"));
  auto hash = NewHash(ctx, in);
  if (!hash) return hash.error();
  nm.password_hash = *hash;
  ROSTER_TRY(AdminStore(*ctx.db).AddMailbox(nm, ctx.actor));
  ctx.flusher->Flush({nm.address});  // Dovecot may hold "unknown user"
  return Json{{"added", nm.address}};
}

ROSTER_OPS_HANDLER(MailboxSetUnit) {
  std::string unit = Str(in, "unit");
  ROSTER_TRY(CheckUnitName(unit, "unit"));
  ROSTER_TRY(AdminStore(*ctx.db).SetMailboxUnit(object.name, unit, ctx.actor));
  ctx.flusher->Flush({object.name});  // the proxy fields of its logins changed
  return Json{{"mailbox", object.name}, {"unit", unit}};
}

ROSTER_OPS_HANDLER(MailboxDel) {
  ROSTER_TRY(AdminStore(*ctx.db).DeleteMailbox(object.name, ctx.actor));
  ctx.flusher->Flush({object.name});
  return Json{{"deleted", object.name}};
}

ROSTER_OPS_HANDLER(MailboxSetActive) {
  bool active = std::string(op.name) == "mailbox.enable";
  ROSTER_TRY(AdminStore(*ctx.db).SetMailboxActive(object.name, active, ctx.actor));
  ctx.flusher->Flush({object.name});
  Json j = Json::object();
  j["mailbox"] = object.name;
  j["active"] = active;
  return j;
}

ROSTER_OPS_HANDLER(MailboxSetQuota) {
  AdminStore store(*ctx.db);
  ROSTER_TRY(store.SetMailboxQuota(object.name, OptUint(in, "max_bytes"), OptUint(in, "max_messages"), ctx.actor));
  ctx.flusher->Flush({object.name});  // the userdb's limits changed
  auto m = store.GetMailbox(object.name);
  if (!m) return m.error();
  Json j = Json::object();
  j["mailbox"] = object.name;
  j["max_bytes"] = m->max_bytes;
  j["max_messages"] = m->max_messages;
  return j;
}

ROSTER_OPS_HANDLER(MailboxSetPassword) {
  auto hash = NewHash(ctx, in);
  if (!hash) return hash.error();
  ROSTER_TRY(AdminStore(*ctx.db).SetPasswordHash(object.name, *hash, ctx.actor));
  ctx.flusher->Flush({object.name});
  return Json{{"password_changed", object.name}};
}

Status CheckCurrentPassword(Context& ctx, const std::string& address, const Json& in) {
  auto stored = AdminStore(*ctx.db).PasswordHash(address);
  if (!stored) return stored.error();
  PasswordHasher hasher(ctx.settings->password_policy);
  if (!hasher.Verify(in["current_password"].get_ref<const std::string&>(), *stored).matched()) {
    Error e = Error::Forbidden("the current password is not right");
    e.field = "current_password";
    return e;
  }
  return Status::Ok();
}

ROSTER_OPS_HANDLER(MailboxChangePassword) {
  AdminStore store(*ctx.db);
  ROSTER_TRY(CheckCurrentPassword(ctx, object.name, in));
  PasswordHasher hasher(ctx.settings->password_policy);
  auto hash = hasher.Hash(in["password"].get_ref<const std::string&>());
  if (!hash) return hash.error();
  ROSTER_TRY(store.SetPasswordHash(object.name, *hash, ctx.actor));
  ctx.flusher->Flush({object.name});
  return Json{{"password_changed", object.name}};
}

ROSTER_OPS_HANDLER(MailboxShow) {
  auto m = AdminStore(*ctx.db).GetMailbox(object.name);
  if (!m) return m.error();
  return MailboxJson(*m);
}

namespace {

Error InvalidField(const char* field, const std::string& message) {
  Error e = Error::Invalid(message);
  e.field = field;
  return e;
}

// mailbox.list's orders by name; a leading "-" is descending.
struct ListOrder {
  MailboxOrder order = MailboxOrder::kAddress;
  bool descending = false;
  std::string name;  // as given ("" = "address")
};

Result<ListOrder> ParseOrder(const std::string& sort) {
  ListOrder o;
  o.name = sort.empty() ? "address" : sort;
  std::string_view base = o.name;
  if (!base.empty() && base[0] == '-') {
    o.descending = true;
    base.remove_prefix(1);
  }
  if (base == "address") o.order = MailboxOrder::kAddress;
  else if (base == "usage") o.order = MailboxOrder::kUsage;
  else if (base == "last_login") o.order = MailboxOrder::kLastLogin;
  else return InvalidField("sort", "sort: one of address, usage, last_login, each with a leading - for descending");
  return o;
}

// The cursor of mailbox.list: base64url (no padding) of "ORDER|VALUE|KEY",
// ORDER the sort as given; in address order VALUE is empty and KEY the
// lookup key, in the others VALUE is the order's integer key and KEY the
// mailbox's id (the tie-break). Opaque to clients; read back strictly: a
// cursor of another order, or anything else, is refused as input.
std::string EncodeCursor(const ListOrder& o, const MailboxKey& k) {
  std::string plain = o.order == MailboxOrder::kAddress
                          ? o.name + "||" + k.lookup_key
                          : o.name + "|" + std::to_string(k.value) + "|" + std::to_string(k.id);
  std::string out(sodium_base64_ENCODED_LEN(plain.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(plain.data()), plain.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::strlen(out.c_str()));
  return out;
}

// A decimal as EncodeCursor writes it (std::to_string: no "+", no leading
// zero, no "-0"), signed or not, within 64 bits.
std::optional<uint64_t> CursorNumber(std::string_view digits, bool may_be_negative, bool* negative) {
  *negative = may_be_negative && !digits.empty() && digits[0] == '-';
  if (*negative) digits.remove_prefix(1);
  if (digits.empty() || digits.size() > 20 || digits.find_first_not_of("0123456789") != std::string_view::npos ||
      (digits.size() > 1 && digits[0] == '0') || (*negative && digits == "0"))
    return std::nullopt;
  errno = 0;
  char* end = nullptr;
  std::string text(digits);
  unsigned long long n = std::strtoull(text.c_str(), &end, 10);
  if (errno == ERANGE || end != text.c_str() + text.size()) return std::nullopt;
  return n;
}

Result<std::optional<MailboxKey>> DecodeCursor(const ListOrder& o, const std::string& cursor) {
  if (cursor.empty()) return std::optional<MailboxKey>();
  const Error bad = InvalidField("cursor", "cursor: not one this listing gave in this order");
  std::string plain(cursor.size(), '\0');
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(plain.data()), plain.size(), cursor.data(), cursor.size(),
                        nullptr, &len, &end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      end != cursor.data() + cursor.size())
    return bad;
  plain.resize(len);
  size_t bar1 = plain.find('|');
  size_t bar2 = bar1 == std::string::npos ? bar1 : plain.find('|', bar1 + 1);
  if (bar2 == std::string::npos || plain.compare(0, bar1, o.name) != 0 || bar1 != o.name.size()) return bad;
  std::string value = plain.substr(bar1 + 1, bar2 - bar1 - 1);
  std::string key = plain.substr(bar2 + 1);
  MailboxKey k;
  if (o.order == MailboxOrder::kAddress) {
    // A lookup key: 1..254 bytes, no control character (common/address made it).
    if (!value.empty() || key.empty() || key.size() > 254) return bad;
    for (unsigned char c : key)
      if (c < 0x20 || c == 0x7f) return bad;
    k.lookup_key = std::move(key);
    return std::optional<MailboxKey>(k);
  }
  bool negative = false, id_negative = false;
  auto magnitude = CursorNumber(value, true, &negative);
  auto id = CursorNumber(key, false, &id_negative);
  if (!magnitude || !id || *id == 0 || *id > 0xffffffffull) return bad;  // mailbox.id: INT UNSIGNED
  if (*magnitude > (negative ? 9223372036854775808ull : 9223372036854775807ull)) return bad;
  k.value = negative ? static_cast<int64_t>(0 - *magnitude) : static_cast<int64_t>(*magnitude);
  k.id = *id;
  return std::optional<MailboxKey>(k);
}

}  // namespace

// One page in the order asked for (address, usage, last_login; "-"
// descending), ties broken by the mailbox's id; the cursor says where the page
// before ended (DecodeCursor).
ROSTER_OPS_HANDLER(MailboxList) {
  auto order = ParseOrder(Str(in, "sort"));
  if (!order) return order.error();
  auto after = DecodeCursor(*order, Str(in, "cursor"));
  if (!after) return after.error();
  AdminStore store(*ctx.db);
  MailboxQuery q;
  q.domain = Str(in, "domain");
  q.department = Str(in, "department");
  if (in.contains("active")) q.active = Flag(in, "active");
  q.prefix = Str(in, "prefix");
  q.min_usage_percent = OptUint(in, "min_usage_percent");
  q.order = order->order;
  q.descending = order->descending;
  q.after = *after;
  const uint64_t limit = PageLimit(in);
  q.limit = limit + 1;  // one more tells whether another page follows
  if (!q.domain.empty() && !q.after) {
    Status known = store.FindDomain(q.domain);  // a 404 for a domain that is not there
    if (!known) return known.error();
  }
  std::vector<MailboxKey> keys;
  auto page = store.MailboxPage(q, &keys);
  if (!page) return page.error();
  Json items = Json::array();
  for (size_t i = 0; i < page->size() && i < limit; ++i) {
    Json j = MailboxJson((*page)[i]);
    const std::string& last = (*page)[i].last_login;
    j["last_login"] = last.empty() ? Json(nullptr) : Json(last);
    items.push_back(std::move(j));
  }
  return Page(std::move(items), page->size() > limit ? EncodeCursor(*order, keys[limit - 1]) : std::string());
}

ROSTER_OPS_HANDLER(MailboxInactive) {
  std::string domain = Str(in, "domain");
  std::string after = Str(in, "cursor");
  if (!domain.empty() && after.empty()) {
    Status known = AdminStore(*ctx.db).FindDomain(domain);
    if (!known) return known.error();
  }
  const uint64_t limit = PageLimit(in);
  Json items = Json::array();
  std::string last, next;
  Status s = AppPasswordAdmin(*ctx.db).ListInactive(
      *OptUint(in, "days"),
      [&](const InactiveMailbox& m, const std::string& key) {
        if (items.size() == limit) {
          next = last;  // another follows
          return false;
        }
        Json j = Json::object();
        j["address"] = m.address;
        j["last_login"] = m.last_login.empty() ? Json(nullptr) : Json(m.last_login);
        items.push_back(std::move(j));
        last = key;
        return true;
      },
      domain, after);
  if (!s) return s.error();
  return Page(std::move(items), next);
}

ROSTER_OPS_HANDLER(MailboxLastLogins) {
  auto list = AdminStore(*ctx.db).LastLogins(object.name, OptUint(in, "limit").value_or(100));
  if (!list) return list.error();
  Json items = Json::array();
  for (const LastLogin& l : *list) {
    Json j = Json::object();
    j["address"] = l.address;
    j["protocol"] = l.protocol;
    j["ip"] = l.ip;
    j["time"] = l.logged_at;
    items.push_back(std::move(j));
  }
  return Page(std::move(items), "");
}

}  // namespace roster::ops
