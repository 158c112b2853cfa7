// The recent kill reports, as `reaperd status` shows them: KillReports keeps each as its
// one-line JSON text (a tenth of the tree's heap), and the status parses them back. Parsing
// is the status socket's work, not the kill path's: this file is outside the hot section
// (cmake/hot.ld), so nlohmann's parser is not locked with the kill path's code.
#pragma once

#include <deque>
#include <nlohmann/json.hpp>
#include <string>

namespace reaperd::report {

// A JSON array of the reports, oldest first; a text that does not parse (never written so) is
// left out.
nlohmann::json RecentKillsJson(const std::deque<std::string>& texts);

}  // namespace reaperd::report
