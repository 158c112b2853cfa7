// Fuzzes config::ParseConfig (reaperd.toml: toml++, then validation and the rule regexes).
// The parse must return a value or a ConfigError; an escaped exception aborts the fuzzer.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)reaperd::config::ParseConfig(text, "fuzz");
  return 0;
}
