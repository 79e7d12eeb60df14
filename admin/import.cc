// import.cc: see import.h. The only SQL here reads seed 003's tables (not
// roster's: those are written through AdminStore).
#include "admin/import.h"

#include <functional>
#include <optional>

#include "common/address.h"
#include "common/password.h"
#include "common/text.h"

namespace roster {
namespace {

constexpr uint64_t kPage = 500;

// Seed 003's transport "dovecot:" is its local delivery (Dovecot's LDA over
// pipe); roster's local delivery is the empty transport (main.cf's
// virtual_transport). Any other transport is kept as it is.
std::string TransportOf(const std::string& seed_transport) {
  return seed_transport == "dovecot:" || seed_transport == "dovecot" ? "" : seed_transport;
}

std::string JoinedName(const DbRow& r, size_t first) {
  std::string name;
  for (size_t i = first; i < first + 3; ++i) {
    if (r.IsNull(i) || r.String(i).empty()) continue;
    name += (name.empty() ? "" : " ") + r.String(i);
  }
  return name;
}

class Importer {
 public:
  Importer(Db& source, const std::string& db, AdminStore& target, const Actor& actor)
      : source_(source), db_("`" + db + "`."), target_(target), actor_(actor) {}

  Result<ImportReport> Run() {
    ROSTER_TRY(Domains());
    ROSTER_TRY(Users());
    ROSTER_TRY(Subscriptions());
    return report_;
  }

 private:
  Status Skip(const char* kind, const std::string& object, const std::string& reason) {
    report_.skipped.push_back({kind, Shown(object, 254), reason});
    return Status::Ok();
  }
  void Warn(const char* kind, const std::string& object, const std::string& reason) {
    report_.warnings.push_back({kind, Shown(object, 254), reason});
  }
  // A refused row is skipped; an unreachable database stops the import.
  bool Fatal(const Error& e) const { return e.kind == ErrorKind::kTemporary || e.kind == ErrorKind::kPermanent; }

  // Runs `sql` (which ends in "id > ? ORDER BY id LIMIT ?") page by page.
  Status Pages(const std::string& sql, const std::function<Status(const DbRow&)>& each) {
    uint64_t after = 0;
    for (;;) {
      auto rows = source_.Query(sql, {after, kPage});
      if (!rows) return Error{rows.error().kind, "reading seed 003's tables: " + rows.error().message};
      for (const DbRow& r : *rows) {
        after = r.Uint(0);
        ROSTER_TRY(each(r));
      }
      if (rows->size() < kPage) return Status::Ok();
    }
  }

  Status Domains() {
    return Pages("SELECT id, domain, transport FROM " + db_ + "domain WHERE id > ? ORDER BY id LIMIT ?",
                 [&](const DbRow& r) -> Status {
                   const std::string& given = r.String(1);
                   auto name = ParseDomain(given);
                   if (!name) return Skip("domain", given, name.error().message);
                   Domain d;
                   d.name = *name;
                   d.transport = r.IsNull(2) ? "" : TransportOf(r.String(2));
                   if (Status s = CheckFreeText(d.transport, "transport", 255); !s)
                     return Skip("domain", given, s.error().message);
                   Status added = target_.AddDomain(d, actor_);
                   if (!added) return Fatal(added.error()) ? added : Skip("domain", given, added.error().message);
                   ++report_.domains;
                   return Status::Ok();
                 });
  }

  Status Users() {
    return Pages(
        "SELECT id, email, password, active, surname, name, patronym, department, max_bytes, max_messages, bytes, "
        "messages FROM " + db_ + "user WHERE id > ? ORDER BY id LIMIT ?",
        [&](const DbRow& r) -> Status {
          const std::string& given = r.String(1);
          auto address = ParseMailboxName(given);
          if (!address) return Skip("mailbox", given, address.error().message);
          NewMailbox m;
          m.address = address->Mailbox();
          m.active = !r.IsNull(3) && r.String(3) == "Y";
          m.display_name = JoinedName(r, 4);
          m.department = r.IsNull(7) ? "" : r.String(7);
          for (auto [text, what] : {std::pair<std::string*, const char*>{&m.display_name, "name"},
                                    std::pair<std::string*, const char*>{&m.department, "department"}}) {
            if (Status s = CheckFreeText(*text, what, 255); !s) {
              Warn("mailbox", m.address, s.error().message + ": left empty");
              text->clear();
            }
          }
          m.max_bytes = r.Uint(8);
          m.max_messages = r.Uint(9);
          auto hash = CheckForeignHash(r.IsNull(2) ? "" : r.String(2));
          if (hash) {
            m.password_hash = *hash;
          } else {
            // The account and its mail matter more than its password: it is
            // imported, and cannot log in until the administrator sets one.
            Warn("mailbox", m.address, "password not imported (" + hash.error().message +
                                           "): set one with rosterctl mailbox passwd");
          }
          Status added = target_.AddMailbox(m, actor_);
          if (!added) return Fatal(added.error()) ? added : Skip("mailbox", given, added.error().message);
          ++report_.mailboxes;
          // Usage as seed 003's dict kept it; NULL: unknown, Dovecot recounts.
          for (auto [column, counter] : {std::pair<size_t, UsageCounter>{10, UsageCounter::kBytes},
                                         std::pair<size_t, UsageCounter>{11, UsageCounter::kMessages}}) {
            std::optional<int64_t> value;
            if (!r.IsNull(column) && r.Int(column) >= 0) value = r.Int(column);
            ROSTER_TRY(target_.SetUsageCounter(m.address, counter, value));
          }
          return Status::Ok();
        });
  }

  Status Subscriptions() {
    return Pages(
        "SELECT id, direction, email, recipient FROM " + db_ + "subscription WHERE id > ? ORDER BY id LIMIT ?",
        [&](const DbRow& r) -> Status {
          const std::string object = r.String(2) + " -> " + r.String(3) + " (" + r.String(1) + ")";
          Subscription sub;
          if (r.String(1) != "I" && r.String(1) != "O")
            return Skip("subscription", object, "direction is neither I nor O");
          sub.direction = r.String(1)[0];
          const std::string& email = r.String(2);
          if (!email.empty() && email[0] == '@') {
            auto d = ParseDomain(email.substr(1));
            if (!d) return Skip("subscription", object, d.error().message);
            sub.address = "@" + *d;
          } else {
            auto a = ParseMailboxName(email);
            if (!a) return Skip("subscription", object, a.error().message);
            sub.address = a->Mailbox();
          }
          auto recipient = ParseAddress(r.String(3));
          if (!recipient) return Skip("subscription", object, recipient.error().message);
          sub.recipient = recipient->Full();
          Status added = target_.AddSubscription(sub, actor_);
          if (!added) return Fatal(added.error()) ? added : Skip("subscription", object, added.error().message);
          ++report_.subscriptions;
          return Status::Ok();
        });
  }

  Db& source_;
  const std::string db_;  // "`name`."
  AdminStore& target_;
  const Actor& actor_;
  ImportReport report_;
};

}  // namespace

Result<ImportReport> ImportSeed003(Db& source, const std::string& source_db, AdminStore& target, const Actor& actor) {
  return Importer(source, source_db, target, actor).Run();
}

}  // namespace roster
