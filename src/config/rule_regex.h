// How a rule's regexes are compiled and matched, by the config's check and the ranker alike.
#pragma once

#include <regex>
#include <string_view>

namespace reaperd::config {

// Compiles a rule's pattern for RuleRegexFinds (throws std::regex_error on a bad one):
// ECMAScript, matched in polynomial time by libstdc++'s breadth-first executor, which takes
// no back-reference (error_complexity). A command line is anyone's to write, and the default
// depth-first matcher backtracks exponentially on a pattern like "(a+)+b" against a line of
// a's: `reaperd rank`, and the daemon's rank at a kill, never returned (session 18).
std::regex CompileRuleRegex(std::string_view pattern);

// Whether the pattern occurs anywhere in text (std::regex_search's answer), in one pass over
// it: the compiled pattern is wrapped in [\s\S]*(?:...)[\s\S]* and matched whole, because
// regex_search starts the breadth-first executor again at every position (quadratic: 285 ms
// for "(a+)+b" against 4000 a's, 0.25 ms wrapped).
bool RuleRegexFinds(const std::regex& re, std::string_view text);

}  // namespace reaperd::config
