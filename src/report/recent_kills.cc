#include "report/recent_kills.h"

namespace reaperd::report {

nlohmann::json RecentKillsJson(const std::deque<std::string>& texts) {
  nlohmann::json out = nlohmann::json::array();
  for (const std::string& t : texts) {
    nlohmann::json j = nlohmann::json::parse(t, nullptr, /*allow_exceptions=*/false);
    if (!j.is_discarded()) out.push_back(std::move(j));
  }
  return out;
}

}  // namespace reaperd::report
