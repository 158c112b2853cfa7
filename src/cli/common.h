// What every subcommand needs first: the config (file or embedded) and the scope.
#pragma once

#include <optional>
#include <string>
#include <string_view>

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
// Parses a scope ("system" or "cgroup:PATH", PATH from the hierarchy's root or the absolute
// path under the memory controller's mount) and checks that its cgroup exists. Prints why
// (naming the path, and `want` for a malformed text) and returns false otherwise.
bool ResolveScope(std::string_view text, policy::Scope* out, const char* want);
// The same for a bare cgroup path (auto:PATH, watch_limited_cgroups_under): the path from
// the hierarchy's root, or nullopt after printing why (`what` names it in the message).
std::optional<std::string> ResolveCgroup(std::string_view typed, const char* what);
// On stderr: what an unprivileged run could not read, and that it could not kill.
void WarnIfUnprivileged(const policy::Snapshot& snapshot);

}  // namespace reaperd::cli
