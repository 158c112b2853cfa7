// reaperd-managed-oom's pure side: oomd.conf as systemd-oomd reads it (Debian 12's shipped
// file, TEST-55's drop-in), and the request it sends, read back by the daemon's parser.
#include "bus/managed_oom_units.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "report/managed_oom_message.h"

namespace reaperd::bus {
namespace {

TEST(OomdConf, DebiansFileAndTest55sDropIn) {
  OomdDefaults d;
  // Debian 12's /etc/systemd/oomd.conf: everything commented out.
  ApplyOomdConf(
      "[OOM]\n#SwapUsedLimit=90%\n#DefaultMemoryPressureLimit=60%\n"
      "#DefaultMemoryPressureDurationSec=30s\n",
      d);
  EXPECT_EQ(d.limit_permyriad, 6000u);
  EXPECT_EQ(d.duration_usec, 30'000'000u);
  // TEST-55's drop-in.
  ApplyOomdConf("[OOM]\nDefaultMemoryPressureDurationSec=2s\n", d);
  EXPECT_EQ(d.duration_usec, 2'000'000u);
  ApplyOomdConf("[OOM]\nDefaultMemoryPressureLimit=45.5%\n[Other]\nDefaultMemoryPressureLimit=1%\n",
                d);
  EXPECT_EQ(d.limit_permyriad, 4550u);
  ApplyOomdConf("[OOM]\nDefaultMemoryPressureLimit=150%\nDefaultMemoryPressureDurationSec=x\n", d);
  EXPECT_EQ(d.limit_permyriad, 4550u);  // malformed: left alone
  EXPECT_EQ(d.duration_usec, 2'000'000u);
}

TEST(OomdConf, Timespans) {
  std::uint64_t us = 0;
  ASSERT_TRUE(ParseTimespanUsec("1min 30s", us));
  EXPECT_EQ(us, 90'000'000u);
  ASSERT_TRUE(ParseTimespanUsec("500ms", us));
  EXPECT_EQ(us, 500'000u);
  ASSERT_TRUE(ParseTimespanUsec("20", us));
  EXPECT_EQ(us, 20'000'000u);
  EXPECT_FALSE(ParseTimespanUsec("2 fortnights", us));
  EXPECT_FALSE(ParseTimespanUsec("", us));
}

TEST(OomdConf, DropInsInSystemdsOrder) {
  namespace fs = std::filesystem;
  char tmpl[] = "/tmp/reaperd-oomdconf-XXXXXX";
  const std::string root = ::mkdtemp(tmpl);
  fs::create_directories(root + "/etc/systemd/oomd.conf.d");
  fs::create_directories(root + "/run/systemd/oomd.conf.d");
  fs::create_directories(root + "/usr/lib/systemd/oomd.conf.d");
  std::ofstream(root + "/etc/systemd/oomd.conf") << "[OOM]\n";
  std::ofstream(root + "/usr/lib/systemd/oomd.conf.d/10-a.conf") << "[OOM]\n";
  std::ofstream(root + "/run/systemd/oomd.conf.d/99-lab.conf") << "[OOM]\n";
  std::ofstream(root + "/etc/systemd/oomd.conf.d/99-lab.conf") << "[OOM]\n";
  const auto files = OomdConfFiles(root);
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[0], root + "/etc/systemd/oomd.conf");
  EXPECT_EQ(files[1], root + "/usr/lib/systemd/oomd.conf.d/10-a.conf");
  EXPECT_EQ(files[2], root + "/etc/systemd/oomd.conf.d/99-lab.conf");  // /etc hides /run
  fs::remove_all(root);
}

TEST(ManagedOomMessage, WhatTheDaemonReadsBack) {
  // TEST-55's workload slice and an inactive unit (no cgroup) and one left at auto, with the
  // values `busctl get-property` gives for them.
  const std::vector<UnitOom> units = {
      {"/lab.slice/lab-workload.slice", "kill", 858993459},
      {"", "kill", 0},
      {"/system.slice/other.service", "auto", 0},
  };
  OomdDefaults d;
  d.duration_usec = 2'000'000;
  auto t = report::ParseManagedOomMessage(ManagedOomMessage(units, d));
  ASSERT_TRUE(t) << t.error().ToString();
  ASSERT_EQ(t->cgroups.size(), 1u);
  EXPECT_EQ(t->cgroups[0].path, "/lab.slice/lab-workload.slice");
  EXPECT_EQ(t->cgroups[0].limit_permyriad, 2000u);
  EXPECT_EQ(t->cgroups[0].duration_ns, 2'000'000'000);
}

}  // namespace
}  // namespace reaperd::bus
