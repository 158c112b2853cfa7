// ParseConfig and its edges: toml++ throws toml::parse_error (the Debian build has exceptions
// on), so the throw is caught here and nothing past this file sees an exception.
#include "config/config.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "config/toml_reader.h"
#include "sys/unique_fd.h"

namespace reaperd::config {
namespace {

constexpr std::size_t kMaxFileBytes = 1U << 20;

std::unexpected<ConfigError> FileError(const std::string& path, std::string message) {
  return std::unexpected(ConfigError{path, 0, 0, "", std::move(message)});
}

// The text of the file, or why it cannot be had. Plain POSIX calls rather than sys/: config
// sits below policy in the link order and must not pull the syscall layer in.
std::expected<std::string, ConfigError> ReadConfigText(const std::string& path) {
  const auto sys_error = [&](std::string_view what) {
    return FileError(path,
                     fmt::format("cannot {}: {}", what, std::system_category().message(errno)));
  };
  sys::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) return sys_error("open");
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return sys_error("stat");
  // A FIFO or a device could block or never end; a config is a regular file.
  if (!S_ISREG(st.st_mode)) return FileError(path, "not a regular file");
  std::string text;
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("read");
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > kMaxFileBytes) {
      return FileError(path, fmt::format("larger than {} bytes", kMaxFileBytes));
    }
  }
  return text;
}

void DecodeRoot(const toml::table& root, Config& out, ParseContext& ctx) {
  const auto section = [&](std::string_view key) -> const toml::table* {
    ctx.NoteKnown(std::string(key));
    const toml::node* node = root.get(key);
    if (node == nullptr || !ctx.ok()) return nullptr;
    if (const auto* t = node->as_table()) return t;
    ctx.Fail(PositionOf(node->source()), std::string(key),
             fmt::format("expected a table [{}], got {}", key, TypeName(*node)));
    return nullptr;
  };
  if (const auto* t = section("daemon")) DecodeDaemon(*t, out.daemon, ctx);
  if (const auto* t = section("detector")) DecodeDetector(*t, out.detector, ctx);
  if (const auto* t = section("kill")) DecodeKill(*t, out.kill, ctx);
  if (const auto* t = section("rank")) DecodeRank(*t, out.rank, ctx);
  if (const auto* t = section("report")) DecodeReport(*t, out.report, ctx);
  if (const auto* t = section("reclaim")) DecodeReclaim(*t, out.reclaim, ctx);
  if (const auto* t = section("hooks")) DecodeHooks(*t, out.hooks, ctx);
  if (const auto* t = section("watchdog")) DecodeWatchdog(*t, out.watchdog, ctx);

  // Rules sit at the top level as [[rule]] so each reads as a block of its own.
  ctx.NoteKnown("rule");
  if (const toml::node* node = root.get("rule"); node != nullptr && ctx.ok()) {
    const auto* rules = node->as_array();
    if (rules == nullptr || (!rules->empty() && !rules->is_array_of_tables())) {
      ctx.Fail(PositionOf(node->source()), "rule",
               fmt::format("expected an array of tables [[rule]], got {}", TypeName(*node)));
    } else {
      out.rank.rules.resize(rules->size());
      for (std::size_t i = 0; i < rules->size() && ctx.ok(); ++i) {
        DecodeRule(*rules->get(i)->as_table(), i, out.rank.rules[i], ctx);
      }
    }
  }

  for (auto&& [k, node] : root) {
    if (!ctx.ok()) return;
    const std::string_view name = k.str();
    if (name == "daemon" || name == "detector" || name == "kill" || name == "rank" ||
        name == "report" || name == "reclaim" || name == "hooks" || name == "watchdog" ||
        name == "rule") {
      continue;
    }
    const bool is_table = node.is_table() || node.is_array_of_tables();
    ctx.Fail(PositionOf(k.source()), std::string(name),
             is_table ? fmt::format("unknown table [{}]", name) : "unknown key");
  }
  if (ctx.ok()) ValidateConfig(out, ctx);
}

}  // namespace

std::string_view Name(RuleAction a) noexcept {
  switch (a) {
    case RuleAction::kProtect:
      return "protect";
    case RuleAction::kPrefer:
      return "prefer";
    case RuleAction::kAvoid:
      return "avoid";
  }
  return "?";
}

std::string_view Name(Widen w) noexcept {
  switch (w) {
    case Widen::kNone:
      return "none";
    case Widen::kProcessGroup:
      return "process_group";
    case Widen::kCgroup:
      return "cgroup";
  }
  return "?";
}

std::string_view Name(LastResort r) noexcept {
  switch (r) {
    case LastResort::kNone:
      return "none";
    case LastResort::kKernelOom:
      return "kernel";
    case LastResort::kPanic:
      return "panic";
    case LastResort::kReboot:
      return "reboot";
  }
  return "?";
}

std::string ConfigError::ToString() const {
  std::string out = file;
  if (line > 0) {
    out += fmt::format(":{}", line);
    if (column > 0) out += fmt::format(":{}", column);
  }
  out += ": ";
  if (!key.empty()) out += key + ": ";
  out += message;
  return out;
}

std::expected<Config, ConfigError> ParseConfigWithKeys(std::string_view text,
                                                       std::string_view source, KeyReport* keys) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    const Position at = PositionOf(e.source());
    return std::unexpected(
        ConfigError{std::string(source), at.line, at.column, "", std::string(e.description())});
  }
  Config config;
  ParseContext ctx(source);
  DecodeRoot(root, config, ctx);
  if (keys != nullptr) *keys = ctx.keys();
  if (!ctx.ok()) return std::unexpected(ctx.error());
  return config;
}

std::expected<Config, ConfigError> ParseConfig(std::string_view text, std::string_view source) {
  return ParseConfigWithKeys(text, source, nullptr);
}

std::expected<Config, ConfigError> LoadConfigFile(const std::string& path) {
  auto text = ReadConfigText(path);
  if (!text) return std::unexpected(text.error());
  return ParseConfig(*text, path);
}

Config DefaultConfig() { return Config{}; }

std::vector<HookProgram> HookPrograms(const Config& config) {
  std::vector<HookProgram> out;
  const std::pair<const char*, const HookConfig*> hooks[] = {
      {"hooks.warn", &config.hooks.warn},
      {"hooks.pre_kill", &config.hooks.pre_kill},
      {"hooks.post_kill", &config.hooks.post_kill}};
  for (const auto& [key, h] : hooks) {
    if (!h->argv.empty()) out.push_back({key, h->argv[0]});
  }
  for (std::size_t i = 0; i < config.reclaim.notifiers.size(); ++i) {
    const NotifierConfig& n = config.reclaim.notifiers[i];
    if (n.kind == NotifierKind::kHook && !n.argv.empty()) {
      out.push_back({"reclaim.notifier[" + std::to_string(i) + "]", n.argv[0]});
    }
  }
  return out;
}

}  // namespace reaperd::config
