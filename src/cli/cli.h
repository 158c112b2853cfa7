// The command line: parses argv and runs a subcommand. Exceptions stop here.
#pragma once

namespace reaperd::cli {

int Main(int argc, char** argv);

// `reaperd run` without --no-mlock (tests): the start-up drops the code it ran so far
// (sys::TrimColdCode) before the static initialisers, before the command line's parser and
// at the start of RunRun.
bool TrimsAtStart(int argc, char** argv) noexcept;

}  // namespace reaperd::cli
