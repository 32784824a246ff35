#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace dspsync {

/// A histogram with fixed bucket bounds, as Prometheus exposes one: observations are counted in the
/// first bucket whose upper bound is >= the value (the last bucket, +Inf, takes the rest), with
/// their sum and count. Pure and cheap to copy (an endpoint's status carries two): the bounds are
/// shared between copies, and the counts take no memory until the first observation.
struct fixed_histogram {
  /// Per-bucket counts (not cumulative), `bounds().size() + 1` of them once anything was observed
  /// (empty before); the last is +Inf.
  std::vector<uint64_t> counts;
  double sum = 0;
  uint64_t count = 0;

  fixed_histogram();
  explicit fixed_histogram(std::vector<double> upper_bounds);

  /// Upper bounds, ascending, without +Inf.
  const std::vector<double>& bounds() const { return *bounds_; }

  /// Counts one observation. NaN is ignored; negative values fall into the first bucket.
  void observe(double value);

  /// The cumulative count of bucket `i` (observations <= bounds()[i]; `bounds().size()` gives count).
  uint64_t cumulative(std::size_t i) const;

  /// An estimate of the q-quantile (0..1) by linear interpolation inside the bucket, as
  /// Prometheus' histogram_quantile does; 0 when empty. Above the last bound it answers that bound.
  double quantile(double q) const;

  /// Request latency buckets, seconds: 5 ms to 30 s.
  static fixed_histogram latency_seconds();
  /// Backoff delay buckets, seconds: 100 ms to 1 h (Retry-After can be long).
  static fixed_histogram backoff_seconds();
  /// Ledger commit buckets, seconds: 1 ms to 10 s.
  static fixed_histogram commit_seconds();

 private:
  std::shared_ptr<const std::vector<double>> bounds_;
};

}  // namespace dspsync
