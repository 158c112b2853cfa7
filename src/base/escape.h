// Escaping of untrusted text (process names, command lines) before it reaches a log line,
// a terminal or a report: control characters, backslashes, quotes and invalid UTF-8 become
// visible escapes, so a process cannot forge log lines or terminal sequences.
#pragma once

#include <string>
#include <string_view>

namespace reaperd {

// Appends the escaped form of in to out: \n \t \\ \" and \xHH for other control bytes,
// DEL and bytes that are not part of valid UTF-8.
void AppendEscaped(std::string_view in, std::string& out);
std::string Escaped(std::string_view in);

}  // namespace reaperd
