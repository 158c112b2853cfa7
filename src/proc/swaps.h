// Swap devices (/proc/swaps) and what swap on zram is worth as memory (/sys/block/zramN/
// mm_stat). A page swapped to zram is compressed into RAM: the device frees memory only by
// the compression, and its free space is not free memory. MemAvailable already counts the RAM
// zram holds as used; what SwapFree says of a zram device is corrected here to the RAM that
// filling it would still free.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/error.h"
#include "base/small_string.h"

namespace reaperd::proc {

struct SwapDevice {
  SmallString<64> name;  // "/dev/zram0", "/swapfile" (as /proc/swaps writes it)
  std::uint64_t size_bytes = 0;
  std::uint64_t used_bytes = 0;
  // The zram device's number when the name is /dev/zramN, else -1.
  int zram = -1;
};

// The first kMaxSwapDevices devices; more are counted in `more` and left as ordinary swap.
inline constexpr std::size_t kMaxSwapDevices = 8;
struct SwapList {
  std::array<SwapDevice, kMaxSwapDevices> dev{};
  std::size_t n = 0;
  std::size_t more = 0;
};
Result<SwapList> ParseSwaps(std::string_view text) noexcept;

// /sys/block/zramN/mm_stat, its first four fields (bytes).
struct ZramStat {
  std::uint64_t orig_bytes = 0;       // data stored, uncompressed
  std::uint64_t compr_bytes = 0;      // compressed
  std::uint64_t mem_used_bytes = 0;   // RAM the device holds, its allocator's overhead included
  std::uint64_t mem_limit_bytes = 0;  // 0: none
};
Result<ZramStat> ParseZramMmStat(std::string_view text) noexcept;

// The compression assumed while a device stores too little to measure its own (1 MiB): 2:1,
// below what lzo-rle and zstd reach on typical anonymous memory.
inline constexpr double kZramAssumedRatio = 2.0;

// What a zram swap device is worth as memory: total, the RAM it would free if filled from
// empty; free, what it still would from where it is (its free space at the measured ratio,
// within its mem_limit). Without a stat (unreadable), nothing.
struct SwapWorth {
  std::uint64_t total_bytes = 0;
  std::uint64_t free_bytes = 0;
};
SwapWorth ZramWorth(const SwapDevice& dev, const ZramStat* stat) noexcept;

}  // namespace reaperd::proc
