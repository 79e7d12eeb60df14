// privileges.cc: see privileges.h.
#include "common/privileges.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace roster {

Status DropPrivileges(const std::string& user, std::string_view setting) {
  if (user.empty() || geteuid() != 0) return Status::Ok();
  struct passwd* pw = getpwnam(user.c_str());
  if (pw == nullptr) return Error::Invalid(std::string(setting) + " " + user + ": no such user");
  if (pw->pw_uid == 0) return Error::Invalid(std::string(setting) + " must not be root");
  if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
    return Error::Permanent("cannot become " + user + ": " + strerror(errno));
  if (setuid(0) == 0) return Error::Permanent("could regain root after dropping to " + user);
  return Status::Ok();
}

}  // namespace roster
