// What every subcommand needs first: the config (file or embedded) and the scope.
#pragma once

#include <optional>

#include "cli/commands.h"
#include "config/config.h"
#include "policy/scope.h"
#include "policy/snapshot.h"

namespace reaperd::cli {

struct Loaded {
  config::Config config;
  policy::Scope scope;
};

// Prints the error and returns nullopt when the config or the scope is invalid.
std::optional<Loaded> LoadCommon(const CommonOptions& options);
// On stderr: what an unprivileged run could not read, and that it could not kill.
void WarnIfUnprivileged(const policy::Snapshot& snapshot);

}  // namespace reaperd::cli
