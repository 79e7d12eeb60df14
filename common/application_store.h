// application_store.h: the admin role's data access for mailbox applications
// (migration 014: table mailbox_application, domain.applications) and a
// domain's self-service settings (domain.applications, domain.recovery_mail
// of migration 013). ops/application_ops.cc decides; this file reads and
// writes. A companion of common/admin_store.h in the same library.
//
// An application's steps only move forward: Advance is one UPDATE ... WHERE
// id = ? AND state = <the step before>, so of two administrators deciding at
// once exactly one moves it, and a step can be neither skipped nor repeated.
// One address has at most one submitted application (the UNIQUE pending_key).
// Every change writes the change log in the same transaction, with the
// caller's actor (name and client address):
//   mailbox-apply          an application submitted (object: the address)
//   mailbox-apply-approved / -rejected / -created   a step
//   domain-self-service    a domain's applications or recovery_mail changed
// Times are Unix seconds from the caller's clock.
//
// Trusts: the Db it is given; the caller for normalised addresses and
// domains, the password hash, and for having decided the change may be made.
#ifndef ROSTER_COMMON_APPLICATION_STORE_H
#define ROSTER_COMMON_APPLICATION_STORE_H

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/db.h"
#include "common/result.h"
#include "common/store_types.h"

namespace roster {

struct Application {
  uint64_t id = 0;
  std::string domain;
  std::string address;
  std::string display_name;
  std::string department;
  std::string phone;
  std::string state;  // submitted, approved, rejected, created
  std::string client_address;
  std::string created_at;  // "YYYY-MM-DD HH:MM:SS", UTC
  std::string decided_at;  // "" while submitted
  std::string decided_by;
};

struct NewApplication {
  std::string address;  // normalised (common/address.h)
  std::string display_name;
  std::string department;
  std::string phone;
  std::string password_hash;  // argon2id of the chosen password
  std::string client_address;
};

// A domain's self-service settings.
struct SelfService {
  std::string applications = "closed";  // closed, approval, open
  bool recovery_mail = false;
};

class ApplicationStore {
 public:
  explicit ApplicationStore(Db& db) : db_(db) {}

  // kNotFound: no such domain.
  Result<SelfService> GetSelfService(std::string_view domain);
  // `applications` must be closed, approval or open (kInvalid otherwise).
  Status SetSelfService(std::string_view domain, const std::optional<std::string>& applications,
                        std::optional<bool> recovery_mail, const Actor& actor);

  // A submitted application; its id. kConflict when the address has a
  // mailbox (Error::code "mailbox_exists") or a submitted application
  // already ("application_pending"); kNotFound: no such domain.
  Result<uint64_t> Submit(const NewApplication& application, int64_t now, const Actor& actor);
  // kNotFound: no such application.
  Result<Application> Get(uint64_t id);
  // The password hash the applicant chose (until the application is decided).
  Result<std::string> PasswordHash(uint64_t id);
  // Moves application `id` from `from` to `to`, recording when and who
  // (decided_by: the actor's name); the chosen password's hash is emptied
  // when `to` is rejected or created. kConflict (saying the state it is in)
  // when it is not at `from`; kNotFound: no such application.
  Status Advance(uint64_t id, std::string_view from, std::string_view to, int64_t now, const Actor& actor);
  // At most `limit` applications with ids below `before` (0 = from the
  // newest), newest first; of `domain` ("" = every domain) in `state` ("" =
  // any).
  Result<std::vector<Application>> Page(std::string_view domain, std::string_view state, uint64_t before,
                                        uint64_t limit);

 private:
  Db& db_;
};

}  // namespace roster

#endif  // ROSTER_COMMON_APPLICATION_STORE_H
