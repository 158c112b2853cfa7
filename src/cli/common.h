// What every subcommand needs first: the config (file or embedded) and the scope.
#pragma once

#include <optional>
#include <string>

#include "cli/commands.h"
#include "config/config.h"
#include "policy/scope.h"
#include "policy/snapshot.h"

namespace reaperd::cli {

struct Loaded {
  config::Config config;
  policy::Scope scope;
};

// False (after printing why) when the config file could be written by someone other than
// root (see sys::CheckTrustedFile): a root daemon must not take orders from such a file.
bool ConfigTrusted(const std::string& path);
// Every hook program of the config passes the same check (else false, each refusal printed).
bool HooksTrusted(const config::Config& config);
// Prints the error and returns nullopt when the config is untrusted or invalid, or the
// scope is invalid.
std::optional<Loaded> LoadCommon(const CommonOptions& options);
// On stderr: what an unprivileged run could not read, and that it could not kill.
void WarnIfUnprivileged(const policy::Snapshot& snapshot);

}  // namespace reaperd::cli
