#include "proc/parse_util.h"

#include <gtest/gtest.h>

#include <limits>
#include <string_view>

namespace reaperd::proc {
namespace {

constexpr std::uint64_t kU64Max = std::numeric_limits<std::uint64_t>::max();

TEST(ParseUtil, U64AcceptsOnlyWholeNumbers) {
  EXPECT_EQ(ParseU64("0"), 0u);
  EXPECT_EQ(ParseU64("18446744073709551615"), kU64Max);
  EXPECT_FALSE(ParseU64("18446744073709551616"));
  EXPECT_FALSE(ParseU64(""));
  EXPECT_FALSE(ParseU64("12abc"));
  EXPECT_FALSE(ParseU64(" 12"));
  EXPECT_FALSE(ParseU64("-1"));
  EXPECT_FALSE(ParseU64("+1"));
}

TEST(ParseUtil, I64TakesTheSign) {
  EXPECT_EQ(ParseI64("-1000"), -1000);
  EXPECT_EQ(ParseI64("9223372036854775807"), std::numeric_limits<std::int64_t>::max());
  EXPECT_FALSE(ParseI64("9223372036854775808"));
  EXPECT_FALSE(ParseI64("-"));
}

TEST(ParseUtil, CheckedSaysRangeForOverflowAndParseForWords) {
  EXPECT_EQ(ParseU64Checked("18446744073709551616", "t").error().code, Errc::kRange);
  EXPECT_EQ(ParseU64Checked("-5", "t").error().code, Errc::kRange);
  EXPECT_EQ(ParseU64Checked("5x", "t").error().code, Errc::kParse);
  EXPECT_EQ(ParseU64Checked("", "t").error().code, Errc::kParse);
  EXPECT_EQ(ParseI64Checked("-9223372036854775809", "t").error().code, Errc::kRange);
  EXPECT_EQ(ParseI64Checked("abc", "t").error().code, Errc::kParse);
  EXPECT_EQ(*ParseI64Checked("-42", "t"), -42);
}

TEST(ParseUtil, DecimalWithoutLocale) {
  EXPECT_DOUBLE_EQ(*ParseDecimal("12.34"), 12.34);
  EXPECT_DOUBLE_EQ(*ParseDecimal("0.00"), 0.0);
  EXPECT_DOUBLE_EQ(*ParseDecimal("7"), 7.0);
  EXPECT_FALSE(ParseDecimal("12,34"));
  EXPECT_FALSE(ParseDecimal("inf"));
  EXPECT_FALSE(ParseDecimal("nan"));
  EXPECT_FALSE(ParseDecimal("1e5"));
  EXPECT_FALSE(ParseDecimal("1."));
  EXPECT_FALSE(ParseDecimal(".5"));
  EXPECT_FALSE(ParseDecimal(""));
}

TEST(ParseUtil, LinesAndFields) {
  std::string_view text = "a b\n\n  c\td  \nlast";
  std::string_view line;
  ASSERT_TRUE(NextLine(text, line));
  EXPECT_EQ(line, "a b");
  ASSERT_TRUE(NextLine(text, line));
  EXPECT_EQ(line, "");
  ASSERT_TRUE(NextLine(text, line));
  std::string_view field;
  ASSERT_TRUE(NextField(line, field));
  EXPECT_EQ(field, "c");
  ASSERT_TRUE(NextField(line, field));
  EXPECT_EQ(field, "d");
  EXPECT_FALSE(NextField(line, field));
  ASSERT_TRUE(NextLine(text, line));
  EXPECT_EQ(line, "last");
  EXPECT_FALSE(NextLine(text, line));
  EXPECT_EQ(Trim(" \t x y \n"), "x y");
}

TEST(ParseUtil, KibSaturates) {
  EXPECT_EQ(KibToBytes(4), 4096u);
  EXPECT_EQ(KibToBytes(kU64Max / 1024), (kU64Max / 1024) * 1024);
  EXPECT_EQ(KibToBytes(kU64Max / 1024 + 1), kU64Max);
  EXPECT_EQ(*ParseKibValue("   1832 kB", "t"), 1832u * 1024);
  EXPECT_EQ(ParseKibValue("   18", "t").error().code, Errc::kParse);
  EXPECT_EQ(ParseKibValue("18 MB", "t").error().code, Errc::kParse);
}

}  // namespace
}  // namespace reaperd::proc
