/* labtool: the lab's guest binary. `labtool run ...` is the harness, `labtool capture DIR`
 * copies cgroup v2 files for the parser fixtures; any other argv[0] is a workload role. */
#define _GNU_SOURCE /* clone, memfd_create */

#include <string.h>

#include "lab.h"

int main(int argc, char** argv) {
  const char* name = strrchr(argv[0], '/');
  name = name ? name + 1 : argv[0];
  if (strcmp(name, "labtool") == 0) {
    if (argc > 1 && strcmp(argv[1], "run") == 0) return HarnessMain(argc - 1, argv + 1);
    fprintf(stderr, "usage: labtool run SCENARIO CONTENDER CONTENDER_PID OUTDIR\n");
    return 64;
  }
  return RoleMain(argc, argv);
}
