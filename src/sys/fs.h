// Small filesystem questions the daemon asks at start (where outputs can go).
// Thread safety: stateless.
#pragma once

#include <string>

namespace reaperd::sys {

// True when path names a directory (symlinks followed); false if absent or unreadable.
bool IsDirectory(const std::string& path) noexcept;

// The directory part of path ("/a/b/c" -> "/a/b", "/c" -> "/", "c" -> ".").
std::string ParentDirectory(const std::string& path);

}  // namespace reaperd::sys
