#include "kill/trigger.h"

#include "kill/path_util.h"
#include "proc/cgroup_memory.h"
#include "proc/meminfo.h"

namespace reaperd::kill {

namespace {

Result<std::uint64_t> ReadValue(sys::SystemView& view, std::string_view cgroup,
                                std::string_view name) noexcept {
  char path[512];
  char buf[64];
  auto p = CgroupPath(cgroup, name, path);
  if (p.empty()) return Fail(Error::Of(Errc::kInvalid, "cgroup path too long"));
  auto r = view.Read(sys::Root::kCgroup, p, buf);
  if (!r) return Fail(r.error());
  return proc::ParseCgroupValue(std::string_view(buf, r->size));
}

}  // namespace

Result<ScopeUsage> ReadScopeUsage(sys::SystemView& view, policy::ScopeKind kind,
                                  std::string_view cgroup) noexcept {
  ScopeUsage u;
  if (kind == policy::ScopeKind::kSystem) {
    char buf[4096];
    auto r = view.Read(sys::Root::kProc, "meminfo", buf);
    if (!r) return Fail(r.error());
    auto mi = proc::ParseMemInfo(std::string_view(buf, r->size));
    if (!mi) return Fail(mi.error());
    u.limit = mi->mem_total;
    u.usage = mi->mem_total > mi->mem_available ? mi->mem_total - mi->mem_available : 0;
    return u;
  }
  bool v1 = view.cgroup_version() == sys::CgroupVersion::kV1;
  auto usage = ReadValue(view, cgroup, v1 ? "memory.usage_in_bytes" : "memory.current");
  if (!usage) return Fail(usage.error());
  auto limit = ReadValue(view, cgroup, v1 ? "memory.limit_in_bytes" : "memory.max");
  if (!limit) return Fail(limit.error());
  u.usage = *usage;
  u.limit = *limit;
  return u;
}

bool OverThreshold(const ScopeUsage& u, double share) noexcept {
  if (u.limit == 0 || u.limit == proc::kUnlimited) return false;
  return static_cast<double>(u.usage) > share * static_cast<double>(u.limit);
}

}  // namespace reaperd::kill
