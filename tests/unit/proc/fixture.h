// Reads golden fixture files for the parser tests. Tests may allocate; the parsers may not.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

namespace reaperd::proc::testing {

// The whole file under tests/fixtures; a missing fixture fails the test instead of
// silently parsing "".
inline std::string Fixture(const std::string& relative) {
  std::ifstream in(std::string(REAPERD_FIXTURES) + "/" + relative, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing fixture " << relative;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The captured PIDs of proc/host-v1, by the role capture.sh gave them (see ROLES).
constexpr int kKthreadd = 2;
constexpr int kKworker = 10;
constexpr int kNormal = 19627;
constexpr int kZombie = 19635;
constexpr int kZombieParent = 19628;
constexpr int kWeirdComm = 19629;
constexpr int kAdj500 = 19631;
constexpr int kThreaded = 19632;

inline std::string PidFile(int pid, const char* name) {
  return Fixture("proc/host-v1/" + std::to_string(pid) + "/" + name);
}

}  // namespace reaperd::proc::testing
