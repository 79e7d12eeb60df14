// rosterctl_main.cc: rosterctl's main(). The whole tool is RosterctlMain
// (admin/rosterctl.cc), in a library the tests link too.
//
// Trusts: nothing; it only makes the process non-dumpable first.
#include <sys/prctl.h>

#include "admin/rosterctl.h"

int main(int argc, char** argv) {
  // A password typed here must not end up in a core file.
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  return roster::RosterctlMain(argc, argv);
}
