// Metrics in the Prometheus text exposition format: named counters, gauges and histograms
// with labels, rendered for node_exporter's textfile collector or the local HTTP endpoint.
// Families are defined once (name, help, type); values are then added by name, so other
// modules (the reclaim chain, the watchdog) need only this header and a family name.
// Thread-safe: every call takes one mutex; nothing here blocks on I/O except WriteTextfile.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"

namespace reaperd::report {

using Labels = std::vector<std::pair<std::string, std::string>>;

enum class MetricType : unsigned char { kCounter, kGauge, kHistogram };

// Upper bounds (seconds) for the latency histograms: 1 ms to 10 s.
inline const std::vector<double> kLatencyBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                    0.25,  0.5,    1,     2.5,  5,     10};

class Metrics {
 public:
  // Defining a family twice keeps the first definition. Names must match
  // [a-zA-Z_:][a-zA-Z0-9_:]* (checked: a bad name is refused and false returned).
  bool Define(std::string_view name, MetricType type, std::string_view help,
              std::vector<double> buckets = {});
  // Each returns false (and records nothing) if the family is unknown or of another type.
  bool Add(std::string_view name, const Labels& labels, double delta = 1);  // counters
  bool Set(std::string_view name, const Labels& labels, double value);      // gauges
  bool Observe(std::string_view name, const Labels& labels, double value);  // histograms
  // Drops the series with exactly these labels from every gauge family (a removed scope's
  // gauges would otherwise show its last values forever); counters keep their history.
  // Returns how many series went.
  std::size_t RemoveGauges(const Labels& labels);
  // A counter's or gauge's current value (0 when absent), for tests and status.
  double Value(std::string_view name, const Labels& labels) const;

  // The whole exposition, families sorted by name, series by labels.
  std::string Render() const;

 private:
  struct Series {
    double value = 0;
    std::vector<std::uint64_t> counts;  // histograms: per bucket (not cumulative)
    double sum = 0;
    std::uint64_t count = 0;
  };
  struct Family {
    MetricType type = MetricType::kCounter;
    std::string help;
    std::vector<double> buckets;
    std::map<Labels, Series> series;
  };
  Series* Find(std::string_view name, MetricType type, const Labels& labels);

  mutable std::mutex mu_;
  std::map<std::string, Family, std::less<>> families_;
};

// Bounds a label's cardinality: the first `cap` distinct values pass, every later one is
// folded into kOther, so a node that sees thousands of short-lived containers keeps a fixed
// number of series. Not thread-safe (the daemon's loop thread owns it).
class LabelBudget {
 public:
  static constexpr std::string_view kOther = "other";
  explicit LabelBudget(std::size_t cap) : cap_(cap) {}
  // value itself if it was seen before or there is room; kOther otherwise.
  std::string Admit(std::string_view value);
  std::size_t size() const noexcept { return seen_.size(); }

 private:
  std::size_t cap_;
  std::set<std::string, std::less<>> seen_;
};

// Writes text to path through path.tmp and rename(2), so a reader never sees half a file.
// No fsync: a crash may lose the file, never tear it.
Result<void> WriteFileAtomic(const std::string& path, std::string_view text);

// Escapes a label value (backslash, double quote, newline) as the text format requires.
std::string EscapeLabelValue(std::string_view v);

}  // namespace reaperd::report
