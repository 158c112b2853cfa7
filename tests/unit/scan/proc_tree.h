// A /proc and a v1 cgroup tree in a temporary directory, for the tests that read them
// through a RealSystemView rooted there (View), held files included: a file rewritten in
// place is read afresh through a held fd, as a real /proc file is generated afresh.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/types.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

#include "sys/system_view.h"

namespace reaperd::scan::testing {

struct ProcTree {
  std::string root;
  ProcTree() {
    char templ[] = "/tmp/reaperd-scan-XXXXXX";
    EXPECT_NE(::mkdtemp(templ), nullptr);
    root = templ;
    Put("proc/meminfo", "MemTotal: 1000000 kB\nMemFree: 500000 kB\nMemAvailable: 500000 kB\n");
    Put("cg/memory.usage_in_bytes", "4096\n");  // marks a v1 memory hierarchy
    for (const char* dir : {"cg/app", "cg/app/sub", "cg/other"}) {
      Put(std::string(dir) + "/memory.limit_in_bytes", "268435456\n");
    }
  }
  ~ProcTree() { std::filesystem::remove_all(root); }
  void Put(const std::string& rel, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(root + "/" + rel).parent_path());
    std::ofstream(root + "/" + rel) << text;
  }
  void Process(pid_t pid, const std::string& cgroup) {
    const std::string d = "proc/" + std::to_string(pid);
    Put(d + "/stat", std::to_string(pid) + " (p) S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 " +
                         std::to_string(5000 + pid) + " 1000000 100\n");
    Put(d + "/status", "Name:\tp\nTgid:\t" + std::to_string(pid) +
                           "\nUid:\t0\t0\t0\t0\nVmRSS:\t1000 kB\nRssAnon:\t1000 kB\n"
                           "RssFile:\t0 kB\nRssShmem:\t0 kB\n");
    Put(d + "/oom_score_adj", "0\n");
    Put(d + "/cgroup", "4:memory:" + cgroup + "\n");
  }
  void Procs(const std::string& cgroup, const std::string& text) {
    Put("cg" + cgroup + "/cgroup.procs", text);
  }
  // A real view of this tree's proc/ and cg/ (a test cannot go on without one).
  sys::RealSystemView View() const {
    auto v = sys::RealSystemView::Open(root + "/proc", root + "/cg");
    if (!v) {
      ADD_FAILURE() << v.error().ToString();
      std::abort();
    }
    return std::move(*v);
  }
};

}  // namespace reaperd::scan::testing
