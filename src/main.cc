// reaperd: the entry point. All of the work is in cli/.
#include "cli/cli.h"
#include "sys/self_protect.h"

namespace {

// `reaperd run`: what exec, the relocations and the C library's start touched (0.7 MiB of the
// executable's pages) is dropped before the static initialisers run, which touch 0.6 MiB more
// (iostream's and the locale's); cli::Main drops theirs. Each drop lowers the resident peak
// of the start-up, which was the daemon's. Runs before every initialiser without a priority;
// the C library calls it with main's arguments.
__attribute__((constructor(101))) void TrimBeforeInitialisers(int argc, char** argv, char**) {
  if (reaperd::cli::TrimsAtStart(argc, argv)) (void)reaperd::sys::TrimColdCode(false);
}

}  // namespace

int main(int argc, char** argv) { return reaperd::cli::Main(argc, argv); }
