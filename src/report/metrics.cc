#include "report/metrics.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>

#include "sys/unique_fd.h"

namespace reaperd::report {
namespace {

bool ValidName(std::string_view n) {
  if (n.empty()) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    const bool digit = c >= '0' && c <= '9';
    if (!alpha && !(digit && i > 0)) return false;
  }
  return true;
}

// Prometheus floats: Go's ParseFloat spellings; fmt's shortest form is one of them.
std::string Number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

void AppendLabels(std::string& out, const Labels& labels, const char* le = nullptr) {
  if (labels.empty() && le == nullptr) return;
  out.push_back('{');
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out.push_back(',');
    first = false;
    out += k;
    out += "=\"";
    out += EscapeLabelValue(v);
    out.push_back('"');
  }
  if (le != nullptr) {
    if (!first) out.push_back(',');
    out += "le=\"";
    out += le;
    out.push_back('"');
  }
  out.push_back('}');
}

std::string EscapeHelp(std::string_view h) {
  std::string out;
  for (char c : h) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

const char* TypeName(MetricType t) {
  switch (t) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool Metrics::Define(std::string_view name, MetricType type, std::string_view help,
                     std::vector<double> buckets) {
  if (!ValidName(name)) return false;
  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  if (it != families_.end()) return it->second.type == type;
  Family f;
  f.type = type;
  f.help = std::string(help);
  f.buckets = std::move(buckets);
  families_.emplace(std::string(name), std::move(f));
  return true;
}

Metrics::Series* Metrics::Find(std::string_view name, MetricType type, const Labels& labels) {
  auto it = families_.find(name);
  if (it == families_.end() || it->second.type != type) return nullptr;
  for (const auto& [k, v] : labels) {
    if (!ValidName(k) || k == "le" || k.starts_with("__")) return nullptr;
  }
  Series& s = it->second.series[labels];
  if (type == MetricType::kHistogram && s.counts.empty()) {
    s.counts.assign(it->second.buckets.size(), 0);
  }
  return &s;
}

bool Metrics::Add(std::string_view name, const Labels& labels, double delta) {
  if (!(delta >= 0)) return false;  // counters only go up (and NaN is refused)
  std::lock_guard lock(mu_);
  Series* s = Find(name, MetricType::kCounter, labels);
  if (s == nullptr) return false;
  s->value += delta;
  return true;
}

bool Metrics::Set(std::string_view name, const Labels& labels, double value) {
  std::lock_guard lock(mu_);
  Series* s = Find(name, MetricType::kGauge, labels);
  if (s == nullptr) return false;
  s->value = value;
  return true;
}

std::size_t Metrics::RemoveGauges(const Labels& labels) {
  std::lock_guard lock(mu_);
  std::size_t n = 0;
  for (auto& [name, f] : families_) {
    if (f.type == MetricType::kGauge) n += f.series.erase(labels);
  }
  return n;
}

bool Metrics::Observe(std::string_view name, const Labels& labels, double value) {
  if (std::isnan(value)) return false;
  std::lock_guard lock(mu_);
  Series* s = Find(name, MetricType::kHistogram, labels);
  if (s == nullptr) return false;
  const auto& buckets = families_.find(name)->second.buckets;
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    if (value <= buckets[i]) {
      ++s->counts[i];
      break;
    }
  }
  s->sum += value;
  ++s->count;
  return true;
}

double Metrics::Value(std::string_view name, const Labels& labels) const {
  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  if (it == families_.end()) return 0;
  auto s = it->second.series.find(labels);
  return s == it->second.series.end() ? 0 : s->second.value;
}

std::string Metrics::Render() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, EscapeHelp(f.help), name,
                       TypeName(f.type));
    for (const auto& [labels, s] : f.series) {
      if (f.type != MetricType::kHistogram) {
        out += name;
        AppendLabels(out, labels);
        out += " " + Number(s.value) + "\n";
        continue;
      }
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < f.buckets.size(); ++i) {
        cumulative += s.counts[i];
        out += name + "_bucket";
        AppendLabels(out, labels, Number(f.buckets[i]).c_str());
        out += fmt::format(" {}\n", cumulative);
      }
      out += name + "_bucket";
      AppendLabels(out, labels, "+Inf");
      out += fmt::format(" {}\n", s.count);
      out += name + "_sum";
      AppendLabels(out, labels);
      out += " " + Number(s.sum) + "\n";
      out += name + "_count";
      AppendLabels(out, labels);
      out += fmt::format(" {}\n", s.count);
    }
  }
  return out;
}

std::string LabelBudget::Admit(std::string_view value) {
  if (seen_.contains(value)) return std::string(value);
  if (seen_.size() >= cap_) return std::string(kOther);
  seen_.emplace(value);
  return std::string(value);
}

Result<void> WriteFileAtomic(const std::string& path, std::string_view text) {
  const std::string tmp = path + ".tmp";
  sys::UniqueFd fd(
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!fd) return Fail(Error::Sys(errno, "open metrics tmp file"));
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::unlink(tmp.c_str());
      return Fail(Error::Sys(e, "write metrics tmp file"));
    }
    done += static_cast<std::size_t>(n);
  }
  fd.Reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return Fail(Error::Sys(e, "rename metrics file"));
  }
  return {};
}

}  // namespace reaperd::report
