// The command line: parses argv and runs a subcommand. Exceptions stop here.
#pragma once

namespace reaperd::cli {

int Main(int argc, char** argv);

}  // namespace reaperd::cli
