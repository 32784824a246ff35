#pragma once

// The Prometheus text exposition format, version 0.0.4: families of samples, each introduced by
// `# HELP` and `# TYPE`, one sample per line (`name{label="value",...} number`). Pure: it only
// builds text.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dspsync {

/// The media type of the format.
inline constexpr std::string_view prometheus_content_type = "text/plain; version=0.0.4; charset=utf-8";

/// Label names and values of one sample, in order.
using prom_labels = std::vector<std::pair<std::string, std::string>>;

/// Builds an exposition. Write each family with `family` and then all of its samples before the next
/// family: the format wants a family's samples together.
class prometheus_writer {
 public:
  /// Starts a family: `type` is counter, gauge, histogram or untyped.
  void family(std::string_view name, std::string_view type, std::string_view help);

  /// One sample of the current family (for histograms use `histogram`).
  void sample(std::string_view name, const prom_labels& labels, double value);
  void sample_int(std::string_view name, const prom_labels& labels, uint64_t value);

  /// The series of one histogram: `<name>_bucket` for every bound (cumulative, `le` label) and
  /// `+Inf`, `<name>_sum` and `<name>_count`. `counts` are per bucket (not cumulative), one more
  /// than `bounds` (the last is +Inf).
  void histogram(std::string_view name, const prom_labels& labels, const std::vector<double>& bounds,
                 const std::vector<uint64_t>& counts, double sum);

  /// The text so far.
  const std::string& text() const { return out_; }

 private:
  void series(std::string_view name, const prom_labels& labels, std::string_view value);
  std::string out_;
};

/// A number as Prometheus writes it: shortest round-trip decimal, `+Inf`, `-Inf`, `NaN`.
std::string prom_number(double v);

/// A label value escaped for the format (backslash, double quote, newline).
std::string prom_escape_label(std::string_view v);

}  // namespace dspsync
