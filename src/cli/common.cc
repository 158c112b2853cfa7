#include "cli/common.h"

#include <unistd.h>

#include <cstdio>

#include "sys/system_view.h"
#include "sys/trust.h"

namespace reaperd::cli {

bool ConfigTrusted(const std::string& path) {
  // The owner may also be the user running an unprivileged reaperd (rank, check-config):
  // such a run cannot signal anyone else's processes anyway.
  auto trusted = sys::CheckTrustedFile(path, ::geteuid());
  if (trusted) return true;
  const Error& e = trusted.error();
  std::fprintf(stderr,
               "reaperd: refusing config %s: %s (it and every directory above it must be "
               "owned by root and not writable by group or others)\n",
               path.c_str(), e.code == Errc::kSys ? e.ToString().c_str() : e.context);
  return false;
}

bool HooksTrusted(const config::Config& config) {
  bool ok = true;
  for (const auto& h : config::HookPrograms(config)) {
    auto trusted = sys::CheckTrustedFile(h.path, ::geteuid());
    if (trusted) continue;
    const Error& e = trusted.error();
    std::fprintf(stderr,
                 "reaperd: refusing %s program %s: %s (it and every directory above it must be "
                 "owned by root and not writable by group or others)\n",
                 h.key.c_str(), h.path.c_str(),
                 e.code == Errc::kSys ? e.ToString().c_str() : e.context);
    ok = false;
  }
  return ok;
}

std::optional<Loaded> LoadCommon(const CommonOptions& options) {
  Loaded l;
  if (options.config_path.empty()) {
    l.config = config::DefaultConfig();
  } else {
    if (!ConfigTrusted(options.config_path)) return std::nullopt;
    auto cfg = config::LoadConfigFile(options.config_path);
    if (!cfg) {
      std::fprintf(stderr, "reaperd: %s\n", cfg.error().ToString().c_str());
      return std::nullopt;
    }
    l.config = std::move(*cfg);
  }
  if (!ResolveScope(options.scope, &l.scope, "system or cgroup:PATH")) return std::nullopt;
  return l;
}

namespace {

// The memory hierarchy as the daemon will see it; opened once, on first use.
sys::RealSystemView* View() {
  static std::optional<sys::RealSystemView> view = [] {
    auto v = sys::RealSystemView::Open();
    return v ? std::optional<sys::RealSystemView>(std::move(*v)) : std::nullopt;
  }();
  return view ? &*view : nullptr;
}

std::string_view Mount() {
  sys::RealSystemView* v = View();
  return v != nullptr && v->cgroup_version() != sys::CgroupVersion::kNone ? v->cgroup_root_path()
                                                                          : std::string_view{};
}

// Whether the memory hierarchy holds `path` ("/a/b"); prints why not.
bool CgroupExists(std::string_view typed, const std::string& path, const char* what) {
  if (path == "/") return true;
  sys::RealSystemView* v = View();
  const std::string mount(Mount());
  if (v == nullptr || mount.empty()) {
    std::fprintf(stderr,
                 "reaperd: %s '%.*s': no cgroup memory controller found under /sys/fs/cgroup\n",
                 what, static_cast<int>(typed.size()), typed.data());
    return false;
  }
  if (auto dir = v->OpenDir(sys::Root::kCgroup, std::string_view(path).substr(1)); !dir) {
    std::fprintf(stderr,
                 "reaperd: %s '%.*s': no such cgroup %s%s (%s); give its path under %s or "
                 "from the hierarchy's root, as /proc/PID/cgroup shows it\n",
                 what, static_cast<int>(typed.size()), typed.data(), mount.c_str(), path.c_str(),
                 dir.error().ToString().c_str(), mount.c_str());
    return false;
  }
  return true;
}

}  // namespace

bool ResolveScope(std::string_view text, policy::Scope* out, const char* want) {
  if (!policy::ParseScope(text, out, Mount())) {
    std::fprintf(stderr, "reaperd: invalid scope '%.*s' (want %s)\n", static_cast<int>(text.size()),
                 text.data(), want);
    return false;
  }
  return out->kind == policy::ScopeKind::kSystem || CgroupExists(text, out->cgroup, "scope");
}

std::optional<std::string> ResolveCgroup(std::string_view typed, const char* what) {
  std::string path = policy::NormalizeCgroupPath(typed.empty() ? "/" : typed, Mount());
  if (path.empty()) {
    std::fprintf(stderr, "reaperd: invalid %s '%.*s' (a cgroup path, no '..')\n", what,
                 static_cast<int>(typed.size()), typed.data());
    return std::nullopt;
  }
  if (!CgroupExists(typed, path, what)) return std::nullopt;
  return path;
}

void WarnIfUnprivileged(const policy::Snapshot& snapshot) {
  if (::geteuid() == 0) return;
  std::fprintf(stderr,
               "reaperd: warning: not running as root: %d per-process files were unreadable "
               "(exe links and status of other users' processes), so their figures are "
               "incomplete; killing, reaping and PSI triggers need root\n",
               snapshot.unreadable);
}

}  // namespace reaperd::cli
