#include "config/rule_regex.h"

#include <string>

namespace reaperd::config {

std::regex CompileRuleRegex(std::string_view pattern) {
  std::string wrapped;
  wrapped.reserve(pattern.size() + 24);
  wrapped.append("[\\s\\S]*(?:").append(pattern).append(")[\\s\\S]*");
  // Throws on the pattern alone first, so that an unbalanced ")" is not taken for the end
  // of the wrapping group.
  (void)std::regex(pattern.begin(), pattern.end(),
                   std::regex::ECMAScript | std::regex_constants::__polynomial);
  return std::regex(wrapped, std::regex::ECMAScript | std::regex_constants::__polynomial |
                                 std::regex::nosubs | std::regex::optimize);
}

bool RuleRegexFinds(const std::regex& re, std::string_view text) {
  return std::regex_match(text.begin(), text.end(), re);
}

}  // namespace reaperd::config
