// The [report] section: where kill reports, metrics and the status socket go. Paths must be
// absolute (the daemon's working directory is no place for them); the HTTP endpoint may only
// listen on loopback, since metrics tell an attacker what runs on the machine.
#include <fmt/format.h>

#include <charconv>
#include <string>
#include <string_view>

#include "config/toml_reader.h"

namespace reaperd::config {
namespace {

void CheckPath(ParseContext& ctx, const TableReader& r, std::string_view key,
               const std::string& path) {
  if (!ctx.ok() || path.empty() || path.front() == '/') return;
  const std::string dotted = r.Dotted(key);
  ctx.Fail(ctx.Where(dotted).value_or(Position{}), dotted,
           fmt::format("\"{}\" is not an absolute path (or \"\" to turn it off)", path));
}

}  // namespace

bool ParseLoopbackAddress(std::string_view text, std::uint32_t* addr_host_order,
                          std::uint16_t* port) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string_view host = text.substr(0, colon);
  std::string_view port_text = text.substr(colon + 1);
  unsigned p = 0;
  auto [pend, pec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), p);
  if (pec != std::errc() || pend != port_text.data() + port_text.size() || p == 0 || p > 65535) {
    return false;
  }
  std::uint32_t a = 0;
  for (int i = 0; i < 4; ++i) {
    unsigned octet = 0;
    auto [end, ec] = std::from_chars(host.data(), host.data() + host.size(), octet);
    if (ec != std::errc() || octet > 255 || end == host.data()) return false;
    a = (a << 8) | octet;
    host.remove_prefix(static_cast<std::size_t>(end - host.data()));
    if (i < 3) {
      if (host.empty() || host.front() != '.') return false;
      host.remove_prefix(1);
    }
  }
  if (!host.empty() || (a >> 24) != 127) return false;
  *addr_host_order = a;
  *port = static_cast<std::uint16_t>(p);
  return true;
}

void DecodeReport(const toml::table& table, ReportConfig& out, ParseContext& ctx) {
  TableReader r(table, "report", ctx);
  r.String("kill_report_path", out.kill_report_path);
  r.Uint32("kill_report_max_bytes", out.kill_report_max_bytes, 4096, 1U << 30);
  r.Int("kill_report_keep", out.kill_report_keep, 0, 100);
  r.String("metrics_textfile_path", out.metrics_textfile_path);
  r.Int("metrics_interval_ms", out.metrics_interval_ms, 1000, 3600000);
  r.String("metrics_listen", out.metrics_listen);
  r.String("status_socket", out.status_socket);
  r.String("pod_logs_dir", out.pod_logs_dir);
  r.RejectUnknown();
  CheckPath(ctx, r, "kill_report_path", out.kill_report_path);
  CheckPath(ctx, r, "metrics_textfile_path", out.metrics_textfile_path);
  CheckPath(ctx, r, "status_socket", out.status_socket);
  CheckPath(ctx, r, "pod_logs_dir", out.pod_logs_dir);
  std::uint32_t addr = 0;
  std::uint16_t port = 0;
  if (ctx.ok() && !out.metrics_listen.empty() &&
      !ParseLoopbackAddress(out.metrics_listen, &addr, &port)) {
    const std::string dotted = r.Dotted("metrics_listen");
    ctx.Fail(ctx.Where(dotted).value_or(Position{}), dotted,
             fmt::format("\"{}\" is not 127.x.y.z:PORT (the endpoint listens on loopback only)",
                         out.metrics_listen));
  }
}

}  // namespace reaperd::config
