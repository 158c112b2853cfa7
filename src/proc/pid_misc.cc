#include "proc/pid_misc.h"

#include "proc/parse_util.h"

namespace reaperd::proc {

namespace {

Result<int> ParseIntInRange(std::string_view text, int min, int max, const char* context) noexcept {
  std::string_view s = Trim(text);
  if (s.empty()) return Fail(Error::Parse(context));
  auto v = ParseI64Checked(s, context);
  if (!v) return Fail(v.error());
  if (*v < min || *v > max) return Fail(Error::Of(Errc::kRange, context));
  return static_cast<int>(*v);
}

// True if the comma-separated controller list names the memory controller.
bool HasMemoryController(std::string_view list) noexcept {
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    if (list.substr(0, comma) == "memory") return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

Result<Statm> ParseStatm(std::string_view text) noexcept {
  // size resident shared text lib data dt: the kernel always prints all seven.
  std::uint64_t values[7] = {};
  std::string_view field;
  for (std::uint64_t& v : values) {
    if (!NextField(text, field)) return Fail(Error::Parse("statm: fewer than 7 fields"));
    auto n = ParseU64Checked(field, "statm: field");
    if (!n) return Fail(n.error());
    v = *n;
  }
  if (NextField(text, field)) return Fail(Error::Parse("statm: more than 7 fields"));
  Statm s;
  s.size = values[0];
  s.resident = values[1];
  s.shared = values[2];
  s.text = values[3];
  s.data = values[5];
  return s;
}

Result<int> ParseOomScoreAdj(std::string_view text) noexcept {
  return ParseIntInRange(text, -1000, 1000, "oom_score_adj");
}

Result<int> ParseOomScore(std::string_view text) noexcept {
  return ParseIntInRange(text, 0, 2000, "oom_score");
}

std::size_t FormatCmdline(std::string_view raw, std::span<char> out) noexcept {
  while (!raw.empty() && raw.back() == '\0') raw.remove_suffix(1);
  std::size_t n = raw.size() < out.size() ? raw.size() : out.size();
  for (std::size_t i = 0; i < n; ++i) out[i] = raw[i] == '\0' ? ' ' : raw[i];
  return n;
}

Result<PidCgroup> ParsePidCgroup(std::string_view text) noexcept {
  if (Trim(text).empty()) return Fail(Error::Parse("cgroup: empty"));
  PidCgroup cg;
  std::string_view line;
  while (NextLine(text, line)) {
    if (line.empty()) continue;
    // hierarchy-ID:controller-list:path; the path itself may contain ':'.
    std::size_t first = line.find(':');
    std::size_t second = first == std::string_view::npos ? first : line.find(':', first + 1);
    if (second == std::string_view::npos) return Fail(Error::Parse("cgroup: line"));
    auto id = ParseU64Checked(line.substr(0, first), "cgroup: hierarchy id");
    if (!id) return Fail(Error::Parse("cgroup: hierarchy id"));
    std::string_view controllers = line.substr(first + 1, second - first - 1);
    std::string_view path = line.substr(second + 1);
    if (path.empty() || path.front() != '/') return Fail(Error::Parse("cgroup: path"));
    if (*id == 0 && controllers.empty()) {
      cg.v2_path.Assign(path);
      cg.has_v2 = true;
    } else if (HasMemoryController(controllers)) {
      cg.v1_memory_path.Assign(path);
      cg.has_v1_memory = true;
    }
  }
  return cg;
}

}  // namespace reaperd::proc
