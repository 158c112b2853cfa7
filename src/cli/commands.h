// The subcommands behind the command line. Each returns the process exit code.
#pragma once

#include <optional>
#include <string>

namespace reaperd::cli {

struct CommonOptions {
  std::string config_path;  // empty: the embedded default
  std::string scope = "system";
};

struct RankOptions {
  CommonOptions common;
  bool json = false;
  int top = 20;  // 0: all
  bool all_protected = false;
};

int RunRank(const RankOptions& options);
int RunCheckConfig(const std::string& path);

}  // namespace reaperd::cli
