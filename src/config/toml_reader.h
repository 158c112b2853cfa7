// Internal to config/: typed, position-aware reads from a toml++ table, so every error names the
// file, line, column and dotted key, and every key that no decoder asked for is reported as
// unknown. Only config/*.cc and the config tests include this (it pulls in toml++).
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"

namespace reaperd::config {

struct Position {
  int line = 0;  // 1-based; 0 when unknown
  int column = 0;
};
Position PositionOf(const toml::source_region& region) noexcept;

// Which keys a parse knew and met, so a test can check that the documented default file spells
// out every key the parser accepts.
struct KeyReport {
  std::vector<std::string> known;    // every dotted key a decoder asked for, in order asked
  std::vector<std::string> present;  // the dotted keys the text set, in order read
};

// The state of one parse. The first error wins; every later read is a no-op, so a decoder
// reads straight through its keys and checks ok() once at the end.
class ParseContext {
 public:
  explicit ParseContext(std::string_view source) : source_(source) {}

  bool ok() const noexcept { return !error_.has_value(); }
  const ConfigError& error() const { return *error_; }
  void Fail(Position where, std::string key, std::string message);

  void NoteKnown(const std::string& key) { keys_.known.push_back(key); }
  void NotePresent(const std::string& key, Position where);
  // Where the text set key; nullopt when the key kept its default.
  std::optional<Position> Where(std::string_view key) const;
  const KeyReport& keys() const noexcept { return keys_; }

 private:
  std::string source_;
  std::optional<ConfigError> error_;
  std::map<std::string, Position, std::less<>> where_;
  KeyReport keys_;
};

// Reads the keys of one table. prefix is the table's dotted key ("kill", "rule[2]"), put in
// front of every key it reports. Every Read* leaves out untouched when the key is absent.
class TableReader {
 public:
  TableReader(const toml::table& table, std::string prefix, ParseContext& ctx)
      : table_(table), prefix_(std::move(prefix)), ctx_(ctx) {}

  void Int(std::string_view key, int& out, int lo, int hi);
  void Uint32(std::string_view key, std::uint32_t& out, std::uint32_t lo, std::uint32_t hi);
  void Uint32(std::string_view key, std::optional<std::uint32_t>& out, std::uint32_t lo,
              std::uint32_t hi);
  void Double(std::string_view key, double& out, double lo, double hi);
  void Bool(std::string_view key, bool& out);
  void String(std::string_view key, std::string& out);
  void String(std::string_view key, std::optional<std::string>& out);
  void StringArray(std::string_view key, std::vector<std::string>& out);
  void Uint32Array(std::string_view key, std::vector<std::uint32_t>& out, std::uint32_t lo,
                   std::uint32_t hi);
  // A string that must be one of names; index is the position of the match in names.
  void Choice(std::string_view key, std::span<const std::string_view> names, std::size_t& index);
  // Reports the first key of the table that no read above asked for.
  void RejectUnknown();

  std::string Dotted(std::string_view key) const;

 private:
  // Notes the key as known; returns its node if present and no error happened yet.
  const toml::node* Find(std::string_view key);
  std::optional<std::int64_t> Integer(std::string_view key, const toml::node& node, std::int64_t lo,
                                      std::int64_t hi);
  void WrongType(std::string_view key, const toml::node& node, std::string_view expected);

  const toml::table& table_;
  std::string prefix_;
  ParseContext& ctx_;
  std::vector<std::string> asked_;
};

// "an integer", "a string", ...: for "expected X, got Y" messages.
std::string_view TypeName(const toml::node& node) noexcept;

// The section decoders (sections.cc). Each reads its table and validates what lies within it.
void DecodeDaemon(const toml::table& table, DaemonConfig& out, ParseContext& ctx);
void DecodeDetector(const toml::table& table, DetectorConfig& out, ParseContext& ctx);
void DecodeKill(const toml::table& table, KillConfig& out, ParseContext& ctx);
void DecodeRank(const toml::table& table, RankConfig& out, ParseContext& ctx);
void DecodeRule(const toml::table& table, std::size_t index, Rule& out, ParseContext& ctx);
// reclaim_sections.cc: [reclaim] with its [[reclaim.notifier]] steps, [hooks], [watchdog].
void DecodeReclaim(const toml::table& table, ReclaimConfig& out, ParseContext& ctx);
void DecodeHooks(const toml::table& table, HooksConfig& out, ParseContext& ctx);
void DecodeWatchdog(const toml::table& table, WatchdogConfig& out, ParseContext& ctx);
// report_section.cc
void DecodeReport(const toml::table& table, ReportConfig& out, ParseContext& ctx);
// Checks across sections and across keys (e.g. rules matching cmdline need rank.cmdline_max >
// 0); run once everything is read.
void ValidateConfig(const Config& config, ParseContext& ctx);

// ParseConfig that also reports which keys it knew and met.
std::expected<Config, ConfigError> ParseConfigWithKeys(std::string_view text,
                                                       std::string_view source, KeyReport* keys);

}  // namespace reaperd::config
