// Small filesystem questions the daemon asks at start (where outputs can go).
// Thread safety: stateless.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"

namespace reaperd::sys {

// True when path names a directory (symlinks followed); false if absent or unreadable.
bool IsDirectory(const std::string& path) noexcept;

// The directory part of path ("/a/b/c" -> "/a/b", "/c" -> "/", "c" -> ".").
std::string ParentDirectory(const std::string& path);

// The names of the subdirectories of path (no "." entries), appended to out.
Result<void> ListSubdirectories(const std::string& path, std::vector<std::string>& out);

}  // namespace reaperd::sys
