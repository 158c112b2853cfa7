// What holds a login or a desktop together, found from the systemd and logind layout of the
// cgroup tree (issue 15): such processes are avoided, i.e. chosen only when nothing else in
// the scope is killable, where a hand-kept list of names could only protect them outright
// (and any process can take a protected name). Plain functions of a Process: no I/O.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "policy/snapshot.h"

namespace reaperd::policy {

enum class AvoidReason : std::uint8_t {
  kNone,
  kSessionSlice,    // in user@UID.service/session.slice: the session's essential services
                    // (systemd.special(7): the compositor, the shell, settings daemons)
  kUserManager,     // user@UID.service/init.scope: the systemd --user manager
  kSessionLeader,   // the leader of a logind session-N.scope (login, sshd's, the greeter's)
  kAudio,           // pipewire, pipewire-pulse, wireplumber or pulseaudio's user service
  kDisplayManager,  // display-manager, gdm, sddm or lightdm's service
  kConfigComm,      // rank.avoid_comm names it
};
const char* AvoidReasonName(AvoidReason r) noexcept;

// The layout's reason to avoid p, or kNone.
AvoidReason SessionRole(const Process& p) noexcept;

// The reason to avoid p: rank.unavoid_comm names clear it, rank.avoid_comm names set it,
// else (with session_avoid) the layout decides.
AvoidReason AvoidReasonOf(const Process& p, bool session_avoid,
                          std::span<const std::string> avoid_comm,
                          std::span<const std::string> unavoid_comm) noexcept;

}  // namespace reaperd::policy
