// LoadConfigFile: files that cannot be read are errors naming the file and the reason.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/config.h"

namespace reaperd::config {
namespace {

// A private directory for files the test makes, removed afterwards.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/reaperd_config_test.XXXXXX";
    const char* made = ::mkdtemp(tmpl);
    if (made != nullptr) path_ = made;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(LoadConfigFileTest, MissingFile) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string path = dir.path() + "/absent.toml";
  auto cfg = LoadConfigFile(path);
  ASSERT_FALSE(cfg.has_value());
  EXPECT_EQ(cfg.error().file, path);
  EXPECT_EQ(cfg.error().line, 0);
  EXPECT_EQ(cfg.error().key, "");
  EXPECT_EQ(cfg.error().ToString(), path + ": cannot open: No such file or directory");
}

TEST(LoadConfigFileTest, DirectoryIsNotAConfig) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  auto cfg = LoadConfigFile(dir.path());
  ASSERT_FALSE(cfg.has_value());
  EXPECT_EQ(cfg.error().ToString(), dir.path() + ": not a regular file");
}

// A regular file whose read fails even for root: reading address 0 of our own memory.
TEST(LoadConfigFileTest, ReadErrorIsReported) {
  auto cfg = LoadConfigFile("/proc/self/mem");
  ASSERT_FALSE(cfg.has_value());
  EXPECT_EQ(cfg.error().ToString(), "/proc/self/mem: cannot read: Input/output error");
}

TEST(LoadConfigFileTest, PermissionDenied) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string path = dir.path() + "/secret.toml";
  std::ofstream(path) << "[daemon]\n";
  ASSERT_EQ(::chmod(path.c_str(), 0), 0);
  // Root (CAP_DAC_OVERRIDE) reads it anyway; then there is nothing to test here.
  if (::access(path.c_str(), R_OK) == 0) GTEST_SKIP() << "file mode does not stop this user";
  auto cfg = LoadConfigFile(path);
  ASSERT_FALSE(cfg.has_value());
  EXPECT_EQ(cfg.error().ToString(), path + ": cannot open: Permission denied");
}

TEST(LoadConfigFileTest, TooLargeFile) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string path = dir.path() + "/huge.toml";
  {
    std::ofstream out(path);
    const std::string comment = "# " + std::string(1022, 'x') + "\n";
    for (int i = 0; i < 1025; ++i) out << comment;  // 1025 KiB of comments: valid TOML
  }
  auto cfg = LoadConfigFile(path);
  ASSERT_FALSE(cfg.has_value());
  EXPECT_EQ(cfg.error().ToString(), path + ": larger than 1048576 bytes");
}

TEST(LoadConfigFileTest, ErrorsInsideAFileNameIt) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string path = dir.path() + "/bad.toml";
  std::ofstream(path) << "[kill]\n\ndeadline_ms = -5\n";
  auto cfg = LoadConfigFile(path);
  ASSERT_FALSE(cfg.has_value());
  EXPECT_EQ(cfg.error().ToString(), path + ":3:15: kill.deadline_ms: -5 is out of range 1..600000");
}

}  // namespace
}  // namespace reaperd::config
