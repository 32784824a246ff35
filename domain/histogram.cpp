#include "domain/histogram.hpp"

#include <algorithm>
#include <cmath>

namespace dspsync {

fixed_histogram::fixed_histogram() : bounds_(std::make_shared<const std::vector<double>>()) {}

fixed_histogram::fixed_histogram(std::vector<double> upper_bounds) {
  std::sort(upper_bounds.begin(), upper_bounds.end());
  bounds_ = std::make_shared<const std::vector<double>>(std::move(upper_bounds));
}

void fixed_histogram::observe(double value) {
  if (std::isnan(value)) return;
  const auto& bounds = *bounds_;
  if (counts.size() != bounds.size() + 1) counts.assign(bounds.size() + 1, 0);
  auto it = std::lower_bound(bounds.begin(), bounds.end(), value);
  ++counts[static_cast<std::size_t>(it - bounds.begin())];
  sum += value;
  ++count;
}

uint64_t fixed_histogram::cumulative(std::size_t i) const {
  uint64_t n = 0;
  for (std::size_t b = 0; b <= i && b < counts.size(); ++b) n += counts[b];
  return n;
}

double fixed_histogram::quantile(double q) const {
  if (count == 0 || counts.empty()) return 0;
  const auto& bounds = *bounds_;
  q = std::clamp(q, 0.0, 1.0);
  const double rank = q * static_cast<double>(count);
  uint64_t below = 0;
  for (std::size_t b = 0; b < counts.size(); ++b) {
    const uint64_t here = counts[b];
    if (here > 0 && static_cast<double>(below + here) >= rank) {
      if (b == bounds.size()) return bounds.empty() ? 0 : bounds.back();
      const double lower = b == 0 ? 0 : bounds[b - 1];
      const double upper = bounds[b];
      return lower + (upper - lower) * (rank - static_cast<double>(below)) / static_cast<double>(here);
    }
    below += here;
  }
  return bounds.empty() ? 0 : bounds.back();
}

fixed_histogram fixed_histogram::latency_seconds() {
  // One set of bounds for every endpoint's histogram.
  static const fixed_histogram shared({0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30});
  return shared;
}

fixed_histogram fixed_histogram::commit_seconds() {
  static const fixed_histogram shared(
      {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
  return shared;
}

fixed_histogram fixed_histogram::backoff_seconds() {
  static const fixed_histogram shared({0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600});
  return shared;
}

}  // namespace dspsync
