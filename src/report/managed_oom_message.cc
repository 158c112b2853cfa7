#include "report/managed_oom_message.h"

#include <nlohmann/json.hpp>
#include <string>

namespace reaperd::report {
namespace {

// A cgroup path as systemd gives it (ControlGroup=): absolute, no "." or ".." component, no
// control characters; a trailing '/' dropped. Empty when it is not one.
std::string CleanPath(const std::string& p) {
  if (p.empty() || p[0] != '/' || p.size() > 1024) return {};
  for (char c : p) {
    if (static_cast<unsigned char>(c) < 0x20) return {};
  }
  std::string out;
  std::size_t i = 0;
  while (i < p.size()) {
    std::size_t j = p.find('/', i + 1);
    if (j == std::string::npos) j = p.size();
    const std::string_view part(p.data() + i + 1, j - i - 1);
    if (part == "." || part == "..") return {};
    if (!part.empty()) {
      out += '/';
      out += part;
    }
    i = j;
  }
  return out;  // "/" alone gives "": the root is never a managed cgroup here
}

}  // namespace

Result<ManagedOomTable> ParseManagedOomMessage(std::string_view json) {
  const auto doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Fail(Error::Of(Errc::kInvalid, "managed-oom: not a JSON object"));
  }
  const auto cgroups = doc.find("cgroups");
  if (cgroups == doc.end() || !cgroups->is_array()) {
    return Fail(Error::Of(Errc::kInvalid, "managed-oom: no \"cgroups\" array"));
  }
  std::uint32_t default_limit = policy::kManagedOomDefaultLimitPermyriad;
  std::int64_t default_duration_ns = policy::kManagedOomDefaultDurationNs;
  if (auto it = doc.find("defaultMemoryPressureLimit"); it != doc.end()) {
    if (!it->is_number_unsigned() || it->get<std::uint64_t>() > 10000) {
      return Fail(
          Error::Of(Errc::kInvalid, "managed-oom: defaultMemoryPressureLimit not 0..10000"));
    }
    if (it->get<std::uint64_t>() > 0) default_limit = it->get<std::uint32_t>();
  }
  if (auto it = doc.find("defaultMemoryPressureDurationUSec"); it != doc.end()) {
    // At most a day: anything longer is a mistake, and the product in ns must not overflow.
    if (!it->is_number_unsigned() || it->get<std::uint64_t>() > 86'400'000'000ULL) {
      return Fail(Error::Of(Errc::kInvalid,
                            "managed-oom: defaultMemoryPressureDurationUSec not 0..86400000000"));
    }
    if (it->get<std::uint64_t>() > 0) {
      default_duration_ns = static_cast<std::int64_t>(it->get<std::uint64_t>()) * 1000;
    }
  }
  ManagedOomTable out;
  for (const auto& c : *cgroups) {
    auto skip = [&] { ++out.skipped; };
    if (!c.is_object()) {
      skip();
      continue;
    }
    const auto mode = c.find("mode");
    const auto path = c.find("path");
    const auto property = c.find("property");
    if (mode == c.end() || path == c.end() || property == c.end() || !mode->is_string() ||
        !path->is_string() || !property->is_string() || *mode != "kill" ||
        *property != "ManagedOOMMemoryPressure") {
      skip();
      continue;
    }
    policy::ManagedOomCgroup g;
    g.path = CleanPath(path->get<std::string>());
    if (g.path.empty()) {
      skip();
      continue;
    }
    std::uint32_t scaled = 0;
    if (auto l = c.find("limit"); l != c.end()) {
      if (!l->is_number_unsigned() || l->get<std::uint64_t>() > 0xffffffffULL) {
        skip();
        continue;
      }
      scaled = l->get<std::uint32_t>();
    }
    g.limit_permyriad = policy::ManagedOomLimitPermyriad(scaled, default_limit);
    g.duration_ns = default_duration_ns;
    if (auto d = c.find("duration"); d != c.end()) {
      // systemd's USEC_INFINITY (unset) keeps the default.
      if (!d->is_number_unsigned()) {
        skip();
        continue;
      }
      const std::uint64_t us = d->get<std::uint64_t>();
      if (us > 0 && us <= 86'400'000'000ULL) g.duration_ns = static_cast<std::int64_t>(us) * 1000;
    }
    if (out.cgroups.size() >= policy::kManagedOomMax) {
      return Fail(Error::Of(Errc::kInvalid, "managed-oom: more cgroups than reaperd follows (64)"));
    }
    out.cgroups.push_back(std::move(g));
  }
  return out;
}

}  // namespace reaperd::report
