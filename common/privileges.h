// privileges.h: how a daemon started as root becomes its own user once its
// sockets are bound (roster-policyd, roster-apid): supplementary groups,
// group, user, and a check that root cannot be regained.
//
// Trusts: the system's user database for the name.
#ifndef ROSTER_COMMON_PRIVILEGES_H
#define ROSTER_COMMON_PRIVILEGES_H

#include <string>
#include <string_view>

#include "common/result.h"

namespace roster {

// Becomes `user` when running as root; nothing to do when `user` is empty
// or the process is not root. `setting` names the configuration key in the
// messages ("policy_user"). Refused: an unknown user, root itself.
Status DropPrivileges(const std::string& user, std::string_view setting);

}  // namespace roster

#endif  // ROSTER_COMMON_PRIVILEGES_H
