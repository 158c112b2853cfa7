// The kill notice for the person whose program died: a desktop notification
// (org.freedesktop.Notifications.Notify) on that user's session bus, sent from a child process
// that takes the user's uid and gid first, since a session bus admits only its own user.
// Bounded: the child gives up after a few seconds (a notification server that hangs holds
// nobody else up). Root's notices go to root's session bus, if it has one.
#pragma once

#include <sys/types.h>

#include <string>

#include "bus/bus_events.h"

namespace reaperd::bus {

// Forks the child (the text: NoticeSummary and NoticeBody of bus_events.h) that sends the notice;
// its pid (reap it), or -1 when there is no session bus at that path or fork failed (why says
// which).
pid_t SendUserNotice(const KillNotice& k, const std::string& bus_path, std::string* why);

}  // namespace reaperd::bus
