// /proc/swaps, zram's mm_stat, and what swap on zram is worth as memory.
#include "proc/swaps.h"

#include <gtest/gtest.h>

namespace reaperd::proc {
namespace {

constexpr std::uint64_t kMiB = 1 << 20;

// As a Fedora desktop has it (zram-generator: zram0 of 8 GiB) plus a swap file.
const char* const kSwaps =
    "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
    "/dev/zram0                              partition\t8388604\t\t1048576\t\t100\n"
    "/swapfile                               file\t\t65532\t\t0\t\t-2\n";

TEST(Swaps, ParsesDevicesAndKnowsZram) {
  auto s = ParseSwaps(kSwaps);
  ASSERT_TRUE(s) << s.error().ToString();
  ASSERT_EQ(s->n, 2u);
  EXPECT_EQ(s->dev[0].name, "/dev/zram0");
  EXPECT_EQ(s->dev[0].zram, 0);
  EXPECT_EQ(s->dev[0].size_bytes, 8388604ull * 1024);
  EXPECT_EQ(s->dev[0].used_bytes, 1024 * kMiB);
  EXPECT_EQ(s->dev[1].zram, -1);
  EXPECT_EQ(s->dev[1].size_bytes, 65532ull * 1024);
  // No swap at all: the header alone.
  auto none = ParseSwaps("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->n, 0u);
  EXPECT_FALSE(ParseSwaps("garbage\n"));
  EXPECT_FALSE(ParseSwaps("Filename Type Size Used Priority\n/dev/sda2 partition x 0 -2\n"));
  // /dev/zramx is no zram device's number.
  auto odd = ParseSwaps("Filename Type Size Used Priority\n/dev/zramx partition 4 0 1\n");
  ASSERT_TRUE(odd);
  EXPECT_EQ(odd->dev[0].zram, -1);
}

TEST(Swaps, ParsesMmStat) {
  auto z = ParseZramMmStat(
      "1073741824 268435456 285212672        0 285212672     1000        0        0\n");
  ASSERT_TRUE(z);
  EXPECT_EQ(z->orig_bytes, 1024 * kMiB);
  EXPECT_EQ(z->compr_bytes, 256 * kMiB);
  EXPECT_EQ(z->mem_used_bytes, 272 * kMiB);
  EXPECT_EQ(z->mem_limit_bytes, 0u);
  EXPECT_FALSE(ParseZramMmStat("12 34\n"));
}

TEST(Swaps, ZramIsWorthWhatCompressionFrees) {
  SwapDevice d;
  d.zram = 0;
  d.size_bytes = 8192 * kMiB;
  d.used_bytes = 1024 * kMiB;
  // 1 GiB stored in 256 MiB of RAM: 4:1, each byte stored frees 3/4 of a byte.
  ZramStat st{1024 * kMiB, 240 * kMiB, 256 * kMiB, 0};
  SwapWorth w = ZramWorth(d, &st);
  EXPECT_EQ(w.total_bytes, 6144 * kMiB);
  EXPECT_EQ(w.free_bytes, 7168 * kMiB / 4 * 3);
  // A limit of 512 MiB of RAM: 256 MiB left, 1 GiB more at 4:1, 768 MiB freed.
  st.mem_limit_bytes = 512 * kMiB;
  w = ZramWorth(d, &st);
  EXPECT_EQ(w.free_bytes, 768 * kMiB);
  // Nothing stored yet: the assumed 2:1.
  d.used_bytes = 0;
  ZramStat empty{0, 0, 0, 0};
  w = ZramWorth(d, &empty);
  EXPECT_EQ(w.total_bytes, 4096 * kMiB);
  EXPECT_EQ(w.free_bytes, 4096 * kMiB);
  // Incompressible data (1:1): it frees nothing.
  ZramStat flat{1024 * kMiB, 1024 * kMiB, 1024 * kMiB, 0};
  d.used_bytes = 1024 * kMiB;
  w = ZramWorth(d, &flat);
  EXPECT_EQ(w.total_bytes, 0u);
  EXPECT_EQ(w.free_bytes, 0u);
  // Unreadable stat: worth nothing rather than its size.
  w = ZramWorth(d, nullptr);
  EXPECT_EQ(w.total_bytes, 0u);
}

}  // namespace
}  // namespace reaperd::proc
