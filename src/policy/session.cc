#include "policy/session.h"

#include <algorithm>

namespace reaperd::policy {

namespace {

// The last component of a cgroup path.
std::string_view Leaf(std::string_view path) noexcept {
  const std::size_t slash = path.find_last_of('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool Named(std::string_view leaf, std::initializer_list<std::string_view> names) noexcept {
  return std::find(names.begin(), names.end(), leaf) != names.end();
}

bool Listed(std::span<const std::string> list, std::string_view comm) noexcept {
  return std::find(list.begin(), list.end(), comm) != list.end();
}

}  // namespace

const char* AvoidReasonName(AvoidReason r) noexcept {
  switch (r) {
    case AvoidReason::kNone:
      return "none";
    case AvoidReason::kSessionSlice:
      return "session service (session.slice)";
    case AvoidReason::kUserManager:
      return "user manager (user@.service)";
    case AvoidReason::kSessionLeader:
      return "session leader (session-N.scope)";
    case AvoidReason::kAudio:
      return "audio server";
    case AvoidReason::kDisplayManager:
      return "display manager";
    case AvoidReason::kConfigComm:
      return "rank.avoid_comm";
  }
  return "?";
}

AvoidReason SessionRole(const Process& p) noexcept {
  const std::string_view cg = p.cgroup;
  const std::string_view leaf = Leaf(cg);
  if (Named(leaf, {"display-manager.service", "gdm.service", "gdm3.service", "sddm.service",
                   "lightdm.service"})) {
    return AvoidReason::kDisplayManager;
  }
  // logind puts each session's processes in session-N.scope (under user-UID.slice); its
  // leader is the process whose pid names the session (login, sshd's, the greeter's worker).
  if (leaf.starts_with("session-") && leaf.ends_with(".scope") && p.session == p.pid) {
    return AvoidReason::kSessionLeader;
  }
  const std::size_t user = cg.find("/user@");
  if (user == std::string_view::npos) return AvoidReason::kNone;
  const std::size_t unit_end = cg.find('/', user + 1);
  if (unit_end == std::string_view::npos) return AvoidReason::kNone;
  const std::string_view unit = cg.substr(user + 1, unit_end - user - 1);
  if (!unit.ends_with(".service")) return AvoidReason::kNone;
  const std::string_view inside = cg.substr(unit_end);
  if (inside == "/init.scope") return AvoidReason::kUserManager;
  if (inside.starts_with("/session.slice/")) return AvoidReason::kSessionSlice;
  if (Named(leaf, {"pipewire.service", "pipewire-pulse.service", "wireplumber.service",
                   "pulseaudio.service"})) {
    return AvoidReason::kAudio;
  }
  return AvoidReason::kNone;
}

AvoidReason AvoidReasonOf(const Process& p, bool session_avoid,
                          std::span<const std::string> avoid_comm,
                          std::span<const std::string> unavoid_comm) noexcept {
  const std::string_view comm = p.comm.view();
  if (Listed(unavoid_comm, comm)) return AvoidReason::kNone;
  if (Listed(avoid_comm, comm)) return AvoidReason::kConfigComm;
  return session_avoid ? SessionRole(p) : AvoidReason::kNone;
}

}  // namespace reaperd::policy
