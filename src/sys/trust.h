// Trust checks for the files reaperd acts on without asking: its config file and the hook
// programs the reclaim chain runs. A file someone else could write is a way to make a root
// daemon kill or run what they choose, so such files are refused, not warned about.
// Thread safety: stateless; safe from any thread (it only stats paths).
#pragma once

#include <sys/types.h>

#include <string>

#include "base/error.h"

namespace reaperd::sys {

// Refuses path unless the file and every directory above it (after resolving symlinks) are
// owned by root (or by `owner`, the effective uid of an unprivileged reaperd) and not
// writable by group or others. A root-owned sticky directory (/tmp) is accepted, since
// others cannot rename or remove a file they do not own in it. The file must be a regular
// file. Errors: kSys (stat failed: errno kept), kInvalid (context says which rule failed).
Result<void> CheckTrustedFile(const std::string& path, uid_t owner = 0) noexcept;

}  // namespace reaperd::sys
