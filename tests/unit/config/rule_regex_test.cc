// A rule's regex answers what std::regex_search answers (anywhere in the text, anchors at
// the text's ends), in one pass over the text whatever the pattern.
#include "config/rule_regex.h"

#include <gtest/gtest.h>

#include <string>

namespace reaperd::config {
namespace {

bool Finds(const char* pattern, const std::string& text) {
  return RuleRegexFinds(CompileRuleRegex(pattern), text);
}

TEST(RuleRegex, AnswersAsASearchDoes) {
  EXPECT_TRUE(Finds("--type=renderer", "/usr/lib/chromium --type=renderer --x"));
  EXPECT_FALSE(Finds("--type=renderer", "/usr/lib/chromium --type=gpu"));
  EXPECT_TRUE(Finds("^firefox$", "firefox"));
  EXPECT_FALSE(Finds("^firefox$", "firefox-esr"));
  EXPECT_FALSE(Finds("^esr", "firefox-esr"));
  EXPECT_TRUE(Finds("esr$", "firefox-esr"));
  // A top-level alternation stays one: each branch anywhere, each anchor at its end.
  EXPECT_TRUE(Finds("^java|python", "/usr/bin/python3"));
  EXPECT_FALSE(Finds("^java|^python", "/usr/bin/python3"));
  EXPECT_TRUE(Finds("a\\nb", "x a\nb y"));  // a newline in the text is a character like any
  EXPECT_TRUE(Finds("^$", ""));
  EXPECT_FALSE(Finds("x", ""));
}

TEST(RuleRegex, ABadPatternThrowsAsItselfNotAsTheWrapping) {
  EXPECT_THROW(CompileRuleRegex("a)"), std::regex_error);  // would close the wrapping group
  EXPECT_THROW(CompileRuleRegex("(a"), std::regex_error);
  EXPECT_THROW(CompileRuleRegex("a)[\\s\\S]*(?:b"), std::regex_error);
  try {
    CompileRuleRegex("(a)\\1");
    ADD_FAILURE() << "a back-reference compiled";
  } catch (const std::regex_error& e) {
    EXPECT_EQ(e.code(), std::regex_constants::error_complexity);
  }
}

// "(a+)+b" against 4000 a's: 2^4000 steps depth-first; std::regex_search breadth-first
// restarts at each of the 4000 positions. Here it returns (a hang fails at ctest's timeout).
TEST(RuleRegex, ABacktrackingPatternOnAHostileLineReturns) {
  const std::string as(4000, 'a');
  EXPECT_FALSE(Finds("(a+)+b", as));
  EXPECT_TRUE(Finds("(a+)+b", as + "b"));
  EXPECT_TRUE(Finds("(a|aa)*c", as + "c"));
}

}  // namespace
}  // namespace reaperd::config
