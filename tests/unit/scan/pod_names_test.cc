// Pod names from the kubelet's pod log directories (issue 16): a uid in either spelling finds
// its pod, unknown uids re-list at most once per refresh interval, Find never reads.
#include "scan/pod_names.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace reaperd::scan {
namespace {

constexpr std::int64_t kSec = 1'000'000'000;

class PodDir {
 public:
  PodDir() {
    char tmpl[] = "/tmp/reaperd_pods_XXXXXX";
    root_ = ::mkdtemp(tmpl);
  }
  ~PodDir() { (void)std::system(("rm -rf " + root_).c_str()); }
  // A pod's directory with one container's log directory in it, as the kubelet leaves it.
  void Add(const std::string& name) {
    ASSERT_EQ(::mkdir((root_ + "/" + name).c_str(), 0755), 0);
    ASSERT_EQ(::mkdir((root_ + "/" + name + "/app").c_str(), 0755), 0);
  }
  void Remove(const std::string& name) {
    ASSERT_EQ(::rmdir((root_ + "/" + name + "/app").c_str()), 0);
    ASSERT_EQ(::rmdir((root_ + "/" + name).c_str()), 0);
  }
  const std::string& root() const { return root_; }

 private:
  std::string root_;
};

TEST(PodNames, AUidInEitherSpellingFindsItsPod) {
  PodDir dir;
  dir.Add("default_web-7d9f8c6b5-x2x4q_1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901");
  dir.Add("kube-system_kube-apiserver-cp_33d556edd3ae8ef21980288cef77ae8b");
  dir.Add("not-a-pod");
  PodNames pods(dir.root());
  const policy::PodName* p = pods.Lookup("1b2c3d4e_5f60_7182_93a4_b5c6d7e8f901", kSec);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->ns, "default");
  EXPECT_EQ(p->name, "web-7d9f8c6b5-x2x4q");
  EXPECT_EQ(pods.Find("1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901"), p);
  ASSERT_NE(pods.Find("33d556edd3ae8ef21980288cef77ae8b"), nullptr);
  EXPECT_EQ(pods.Find("33d556edd3ae8ef21980288cef77ae8b")->name, "kube-apiserver-cp");
  EXPECT_EQ(pods.size(), 2u);
}

TEST(PodNames, FindNeverListsAndAMissReListsOncePerInterval) {
  PodDir dir;
  PodNames pods(dir.root());
  EXPECT_EQ(pods.Lookup("0a0b", kSec), nullptr);  // listed: empty
  dir.Add("ns_late_0a0b");
  EXPECT_EQ(pods.Find("0a0b"), nullptr);                     // Find reads nothing
  EXPECT_EQ(pods.Lookup("0a0b", kSec + kSec / 2), nullptr);  // too soon to list again
  ASSERT_NE(pods.Lookup("0a0b", 2 * kSec), nullptr);
  dir.Remove("ns_late_0a0b");
  EXPECT_NE(pods.Find("0a0b"), nullptr);  // a known pod stays until the next listing
  pods.Refresh(3 * kSec);
  EXPECT_EQ(pods.Find("0a0b"), nullptr);
}

TEST(PodNames, RefreshIfOlderListsOnlyPastTheAge) {
  PodDir dir;
  PodNames pods(dir.root());
  pods.RefreshIfOlder(kSec, 30 * kSec);  // never listed: lists
  dir.Add("ns_p_0a0b");
  pods.RefreshIfOlder(10 * kSec, 30 * kSec);
  EXPECT_EQ(pods.Find("0a0b"), nullptr);
  pods.RefreshIfOlder(31 * kSec, 30 * kSec);
  EXPECT_NE(pods.Find("0a0b"), nullptr);
}

TEST(PodNames, NoDirectoryOrNoRootIsNoPod) {
  PodNames missing("/nonexistent/reaperd/pods");
  EXPECT_EQ(missing.Lookup("0a0b", kSec), nullptr);
  PodNames off("");
  EXPECT_EQ(off.Lookup("0a0b", kSec), nullptr);
  EXPECT_EQ(off.Find(""), nullptr);
}

}  // namespace
}  // namespace reaperd::scan
