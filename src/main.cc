// reaperd: the entry point. All of the work is in cli/.
#include "cli/cli.h"

int main(int argc, char** argv) { return reaperd::cli::Main(argc, argv); }
