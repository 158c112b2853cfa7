// A fixed-capacity string that lives inline, so snapshots and victims can carry names
// without heap allocation. Longer input is truncated, never rejected.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>

namespace reaperd {

template <std::size_t N>
class SmallString {
 public:
  SmallString() = default;
  explicit SmallString(std::string_view s) { Assign(s); }

  void Assign(std::string_view s) noexcept {
    size_ = std::min(s.size(), N);
    std::copy_n(s.data(), size_, data_.data());
    truncated_ = s.size() > N;
  }
  std::string_view view() const noexcept { return {data_.data(), size_}; }
  operator std::string_view() const noexcept { return view(); }  // NOLINT: implicit by design
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  bool truncated() const noexcept { return truncated_; }
  static constexpr std::size_t capacity() noexcept { return N; }

  friend bool operator==(const SmallString& a, std::string_view b) noexcept {
    return a.view() == b;
  }

 private:
  std::array<char, N> data_{};
  std::size_t size_ = 0;
  bool truncated_ = false;
};

}  // namespace reaperd
