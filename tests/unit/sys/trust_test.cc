// CheckTrustedFile on real files in a private temporary directory under /tmp: the modes and
// owners that let someone else write the config (or a hook) are refused.
#include "sys/trust.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <string_view>

namespace reaperd::sys {
namespace {

class TrustTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/reaperd-trust-XXXXXX";
    ASSERT_NE(::mkdtemp(templ), nullptr);
    dir_ = templ;  // mode 0700, owned by us, inside root's sticky /tmp
    file_ = dir_ + "/reaperd.toml";
    std::ofstream(file_) << "[daemon]\n";
    ASSERT_EQ(::chmod(file_.c_str(), 0644), 0);
  }
  void TearDown() override {
    ::unlink((dir_ + "/link").c_str());
    ::unlink(file_.c_str());
    ::rmdir((dir_ + "/sub").c_str());
    ::rmdir(dir_.c_str());
  }
  std::string_view Why(const Result<void>& r) { return r ? "" : r.error().context; }

  std::string dir_;
  std::string file_;
};

TEST_F(TrustTest, OwnedAndNotWritableByOthersIsTrusted) {
  auto r = CheckTrustedFile(file_, ::geteuid());
  EXPECT_TRUE(r) << Why(r);
  ASSERT_EQ(::chmod(file_.c_str(), 0600), 0);
  EXPECT_TRUE(CheckTrustedFile(file_, ::geteuid()));
}

TEST_F(TrustTest, GroupOrWorldWritableFileIsRefused) {
  for (mode_t mode : {0664, 0646, 0666}) {
    ASSERT_EQ(::chmod(file_.c_str(), mode), 0);
    auto r = CheckTrustedFile(file_, ::geteuid());
    ASSERT_FALSE(r) << std::oct << mode;
    EXPECT_EQ(r.error().code, Errc::kInvalid);
    EXPECT_EQ(Why(r), "file writable by group or others");
  }
}

TEST_F(TrustTest, WritableDirectoryAboveIsRefusedUnlessStickyAndRoot) {
  ASSERT_EQ(::chmod(dir_.c_str(), 0777), 0);
  auto r = CheckTrustedFile(file_, ::geteuid());
  ASSERT_FALSE(r);
  EXPECT_EQ(Why(r), "a directory above it is writable by group or others");
  if (::geteuid() == 0) {
    // Root-owned and sticky, like /tmp: others cannot replace root's file in it.
    ASSERT_EQ(::chmod(dir_.c_str(), 01777), 0);
    EXPECT_TRUE(CheckTrustedFile(file_, 0));
  }
}

TEST_F(TrustTest, FileOwnedBySomeoneElseIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "chown needs root";
  ASSERT_EQ(::chown(file_.c_str(), 65534, 65534), 0);
  auto r = CheckTrustedFile(file_, 0);
  ASSERT_FALSE(r);
  EXPECT_EQ(Why(r), "file not owned by root");
  ASSERT_EQ(::chown(file_.c_str(), 0, 0), 0);
  ASSERT_EQ(::chown(dir_.c_str(), 65534, 65534), 0);
  r = CheckTrustedFile(file_, 0);
  ASSERT_FALSE(r);
  EXPECT_EQ(Why(r), "a directory above it is not owned by root");
  ASSERT_EQ(::chown(dir_.c_str(), 0, 0), 0);
}

TEST_F(TrustTest, SymlinkIsJudgedByItsTarget) {
  const std::string link = dir_ + "/link";
  ASSERT_EQ(::symlink(file_.c_str(), link.c_str()), 0);
  EXPECT_TRUE(CheckTrustedFile(link, ::geteuid()));
  ASSERT_EQ(::chmod(file_.c_str(), 0666), 0);
  EXPECT_FALSE(CheckTrustedFile(link, ::geteuid()));
}

TEST_F(TrustTest, MissingFileOrDirectoryIsRefused) {
  auto r = CheckTrustedFile(dir_ + "/absent.toml", ::geteuid());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kSys);
  EXPECT_EQ(r.error().sys_errno, ENOENT);
  r = CheckTrustedFile(dir_, ::geteuid());
  ASSERT_FALSE(r);
  EXPECT_EQ(Why(r), "not a regular file");
}

}  // namespace
}  // namespace reaperd::sys
