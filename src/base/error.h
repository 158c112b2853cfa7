// The one error convention of reaperd: std::expected<T, Error>. Error is small and
// trivially copyable so it can be returned from the kill path without allocating.
#pragma once

#include <cstdint>
#include <expected>
#include <string>

namespace reaperd {

enum class Errc : std::uint8_t {
  kSys,          // a syscall failed; errno is in Error::sys_errno
  kParse,        // malformed input
  kMissing,      // a required field or file is absent
  kRange,        // a value out of its allowed range
  kUnsupported,  // the kernel or machine lacks the feature
  kTimeout,      // a bounded wait ran out
  kStale,        // the object changed identity (PID reused, cgroup re-created)
  kInvalid,      // a caller passed something invalid
};

struct Error {
  Errc code = Errc::kInvalid;
  int sys_errno = 0;
  // Static text only: a string literal naming what failed. Never owned.
  const char* context = "";

  static Error Sys(int e, const char* ctx) { return {Errc::kSys, e, ctx}; }
  static Error Parse(const char* ctx) { return {Errc::kParse, 0, ctx}; }
  static Error Missing(const char* ctx) { return {Errc::kMissing, 0, ctx}; }
  static Error Of(Errc c, const char* ctx) { return {c, 0, ctx}; }

  // Human-readable form, for logs and the CLI (allocates; not for the kill path).
  std::string ToString() const;
};

template <class T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> Fail(Error e) { return std::unexpected<Error>(e); }

const char* ErrcName(Errc c) noexcept;

}  // namespace reaperd
