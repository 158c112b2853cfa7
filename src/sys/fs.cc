#include "sys/fs.h"

#include <dirent.h>
#include <sys/stat.h>

#include <cerrno>

namespace reaperd::sys {

bool IsDirectory(const std::string& path) noexcept {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string ParentDirectory(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Result<void> ListSubdirectories(const std::string& path, std::vector<std::string>& out) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return Fail(Error::Sys(errno, "opendir"));
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    if (e->d_type == DT_DIR || (e->d_type == DT_UNKNOWN && IsDirectory(path + "/" + e->d_name))) {
      out.emplace_back(e->d_name);
    }
  }
  ::closedir(dir);
  return {};
}

}  // namespace reaperd::sys
