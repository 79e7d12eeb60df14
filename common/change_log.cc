// change_log.cc: see change_log.h.
#include "common/change_log.h"

#include <string>

namespace roster {
namespace {

std::string Bounded(std::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  // Do not cut a UTF-8 sequence in half: strict mode would refuse the row.
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xc0) == 0x80) --n;
  return std::string(s.substr(0, n));
}

}  // namespace

Status WriteChangeLog(Db& db, const Actor& actor, std::string_view action, std::string_view object,
                      std::string_view detail) {
  auto a = db.Execute(
      "INSERT INTO change_log (at, actor, origin, action, object, detail) VALUES (UTC_TIMESTAMP(6), ?, ?, ?, ?, ?)",
      {Bounded(actor.name, 64), Bounded(actor.origin, 64), Bounded(action, 32), Bounded(object, 255),
       Bounded(detail, 1024)});
  if (!a) return a.error();
  return Status::Ok();
}

}  // namespace roster
