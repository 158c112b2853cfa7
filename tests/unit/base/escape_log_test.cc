#include <gtest/gtest.h>

#include "base/escape.h"
#include "base/log.h"
#include "base/small_string.h"

namespace reaperd {
namespace {

TEST(Escape, ControlCharactersAndQuotes) {
  EXPECT_EQ(Escaped("a)b c\nkill pid=1"), "a)b c\\nkill pid=1");
  EXPECT_EQ(Escaped("tab\there"), "tab\\there");
  EXPECT_EQ(Escaped("\x1b[31mred"), "\\x1b[31mred");
  EXPECT_EQ(Escaped("q\"b\\"), "q\\\"b\\\\");
  EXPECT_EQ(Escaped(std::string_view("nul\0x", 5)), "nul\\x00x");
}

TEST(Escape, Utf8KeptInvalidEscaped) {
  EXPECT_EQ(Escaped("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(Escaped("\xe2\x82\xac"), "\xe2\x82\xac");
  EXPECT_EQ(Escaped("bad\xff"), "bad\\xff");
  EXPECT_EQ(Escaped("\xc3"), "\\xc3");                    // truncated sequence
  EXPECT_EQ(Escaped("\xc0\xaf"), "\\xc0\\xaf");           // overlong
  EXPECT_EQ(Escaped("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // surrogate
}

TEST(Log, OneLinePerEventWithEscapedValues) {
  RecordingSink sink;
  Logger log(sink, LogLevel::kInfo);
  log.Log(LogLevel::kDebug, "noise", "x={}", 1);
  log.Log(LogLevel::kNotice, "kill", "pid={} comm={}", 42, Q{"evil\nkill pid=1"});
  auto lines = sink.Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "kill pid=42 comm=\"evil\\nkill pid=1\"");
}

TEST(Log, LevelsParse) {
  LogLevel l;
  ASSERT_TRUE(ParseLogLevel("warning", &l));
  EXPECT_EQ(l, LogLevel::kWarning);
  EXPECT_FALSE(ParseLogLevel("loud", &l));
}

TEST(SmallString, TruncatesAndReports) {
  SmallString<4> s("abcdef");
  EXPECT_EQ(s.view(), "abcd");
  EXPECT_TRUE(s.truncated());
  s.Assign("ab");
  EXPECT_EQ(s.view(), "ab");
  EXPECT_FALSE(s.truncated());
}

}  // namespace
}  // namespace reaperd
