#include "scan/cgroup_namespace.h"

#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "base/small_string.h"
#include "proc/cgroup_path.h"
#include "proc/parse_util.h"
#include "proc/pid_misc.h"

namespace reaperd::scan {

namespace {

// The root field of the last cgroup or cgroup2 mount at mount_point in mountinfo text
// ("ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS... - FSTYPE SOURCE SUPEROPTIONS").
bool MountRoot(std::string_view text, std::string_view mount_point, std::string& root) {
  bool found = false;
  std::string_view line;
  while (proc::NextLine(text, line)) {
    std::string_view rest = line, f[5];
    bool ok = true;
    for (auto& field : f) ok = ok && proc::NextField(rest, field);
    if (!ok || f[4] != mount_point) continue;
    std::size_t dash = rest.find(" - ");
    if (dash == std::string_view::npos) continue;
    std::string_view tail = rest.substr(dash + 3), fstype;
    if (!proc::NextField(tail, fstype) || (fstype != "cgroup" && fstype != "cgroup2")) continue;
    root.assign(f[3]);
    found = true;
  }
  return found;
}

bool ListsPid(std::string_view text, pid_t pid) {
  std::string_view line;
  while (proc::NextLine(text, line)) {
    auto n = proc::ParseU64(proc::Trim(line));
    if (n && *n == static_cast<std::uint64_t>(pid)) return true;
  }
  return false;
}

// Without the leading '/': paths under a view root are relative.
std::string_view Rel(std::string_view p) {
  while (!p.empty() && p.front() == '/') p.remove_prefix(1);
  return p;
}

}  // namespace

CgroupNamespace FindCgroupNamespace(sys::SystemView& view, pid_t self) {
  CgroupNamespace ns;
  // Left unwritten: only the bytes read are touched (the daemon's peak RSS is measured).
  constexpr std::size_t kBuf = 256 * 1024;
  const auto mem = std::make_unique_for_overwrite<char[]>(kBuf);
  const std::span<char> buf(mem.get(), kBuf);
  auto mi = view.Read(sys::Root::kProc, "self/mountinfo", buf);
  if (!mi) return ns;  // no mountinfo (a fixture without one): paths as they are
  std::string root;
  if (!MountRoot(std::string_view(buf.data(), mi->size), view.cgroup_root_path(), root)) {
    return ns;  // not a mount point (a fixture tree): paths as they are
  }
  ns.levels = proc::MountLevelsAbove(root);
  if (ns.levels == 0) return ns;
  if (ns.levels < 0) {
    ns.levels = 0;
    ns.problem = "the cgroup mount's root " + root + " lies below the cgroup namespace's root";
    return ns;
  }
  auto sc = view.Read(sys::Root::kProc, "self/cgroup", buf);
  if (!sc) {
    ns.problem = "cannot read self/cgroup: " + sc.error().ToString();
    return ns;
  }
  auto own = proc::ParsePidCgroup(std::string_view(buf.data(), sc->size));
  if (!own) {
    ns.problem = "cannot parse self/cgroup: " + own.error().ToString();
    return ns;
  }
  const bool v1 = view.cgroup_version() == sys::CgroupVersion::kV1;
  std::string_view self_path = v1 ? own->v1_memory_path.view() : own->v2_path.view();
  SmallString<512> check;
  if (!proc::RebaseCgroupPath(self_path, "", check)) {
    ns.problem = "reaperd's own cgroup " + std::string(self_path) + " is outside its namespace";
    return ns;
  }
  // Every cgroup `levels` deep under the mount, breadth first (bounded: a node has hundreds).
  constexpr std::size_t kMaxCgroups = 20000;
  std::vector<std::string> level{""}, next, names;
  std::size_t seen = 0;
  for (int d = 0; d < ns.levels && !level.empty(); ++d) {
    next.clear();
    for (const auto& dir : level) {
      names.clear();
      if (!view.ListDirs(sys::Root::kCgroup, Rel(dir), names)) continue;
      for (auto& n : names) next.push_back(dir + "/" + n);
      seen += names.size();
    }
    if (seen > kMaxCgroups) {
      ns.problem = "more than 20000 cgroups to search for reaperd's own";
      return ns;
    }
    level.swap(next);
  }
  std::vector<std::string> found;
  for (const auto& cand : level) {
    SmallString<512> mine;
    if (!proc::RebaseCgroupPath(self_path, cand, mine)) continue;
    auto procs =
        view.Read(sys::Root::kCgroup, std::string(Rel(mine.view())) + "/cgroup.procs", buf);
    if (procs && ListsPid(std::string_view(buf.data(), procs->size), self)) found.push_back(cand);
  }
  if (found.size() == 1) {
    ns.base = found.front();
  } else {
    ns.problem = found.empty() ? "reaperd's own cgroup not found " + std::to_string(ns.levels) +
                                     " levels below the cgroup mount"
                               : "reaperd's pid is listed in more than one cgroup";
  }
  return ns;
}

}  // namespace reaperd::scan
