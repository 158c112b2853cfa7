#include "sys/trust.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace reaperd::sys {

namespace {

bool OwnerOk(const struct stat& st, uid_t owner) noexcept {
  return st.st_uid == 0 || st.st_uid == owner;
}

}  // namespace

Result<void> CheckTrustedFile(const std::string& path, uid_t owner) noexcept {
  // realpath so a symlink cannot point the checks at one file and the reader at another;
  // the components of the resolved path are what open(2) will walk.
  char real[PATH_MAX];
  if (::realpath(path.c_str(), real) == nullptr) return Fail(Error::Sys(errno, "resolve path"));

  struct stat st {};
  if (::stat(real, &st) != 0) return Fail(Error::Sys(errno, "stat"));
  if (!S_ISREG(st.st_mode)) return Fail(Error::Of(Errc::kInvalid, "not a regular file"));
  if (!OwnerOk(st, owner)) return Fail(Error::Of(Errc::kInvalid, "file not owned by root"));
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return Fail(Error::Of(Errc::kInvalid, "file writable by group or others"));
  }

  // Every directory above: whoever may write one may swap the file.
  std::size_t len = std::strlen(real);
  while (len > 1) {
    while (len > 1 && real[len - 1] != '/') --len;  // cut the last component
    if (len > 1) --len;                             // and its slash, except for "/"
    real[len] = '\0';
    if (::stat(real, &st) != 0) return Fail(Error::Sys(errno, "stat directory"));
    if (!OwnerOk(st, owner)) {
      return Fail(Error::Of(Errc::kInvalid, "a directory above it is not owned by root"));
    }
    const bool sticky_root = (st.st_mode & S_ISVTX) != 0 && st.st_uid == 0;
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && !sticky_root) {
      return Fail(Error::Of(Errc::kInvalid, "a directory above it is writable by group or others"));
    }
  }
  return {};
}

}  // namespace reaperd::sys
