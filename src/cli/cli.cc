#include "cli/cli.h"

#include <cstdio>

namespace reaperd::cli {

int Main(int, char**) {
  std::puts("reaperd " REAPERD_VERSION);
  return 0;
}

}  // namespace reaperd::cli
