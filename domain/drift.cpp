#include "domain/drift.hpp"

#include <algorithm>
#include <cmath>

namespace dspsync {

const char* to_string(drift_kind kind) {
  switch (kind) {
    case drift_kind::title_change:
      return "title_change";
    case drift_kind::upc_mismatch:
      return "upc_mismatch";
    case drift_kind::isrc_reissue:
      return "isrc_reissue";
    case drift_kind::rights_reassignment:
      return "rights_reassignment";
    case drift_kind::revenue_outlier:
      return "revenue_outlier";
  }
  return "unknown";
}

robust_stats median_mad(std::vector<int64_t> values) {
  robust_stats out;
  out.n = values.size();
  if (values.empty()) return out;
  auto lower_middle = [](std::vector<int64_t>& v) {
    auto mid = v.begin() + static_cast<std::ptrdiff_t>((v.size() - 1) / 2);
    std::nth_element(v.begin(), mid, v.end());
    return *mid;
  };
  out.median = lower_middle(values);
  for (auto& v : values) v = v >= out.median ? v - out.median : out.median - v;
  out.mad = lower_middle(values);
  return out;
}

std::optional<int64_t> revenue_per_unit(money revenue, int64_t units) {
  if (units == 0) return std::nullopt;
  const __int128 n = revenue.units(), d = units;
  __int128 q = n / d, r = n % d;
  if (r < 0) r = -r;
  const __int128 ad = d < 0 ? -d : d;
  if (2 * r >= ad) q += ((n < 0) != (d < 0)) ? -1 : 1;
  return static_cast<int64_t>(q);
}

std::vector<outlier> find_outliers(const std::vector<int64_t>& values, const outlier_options& opts) {
  std::vector<outlier> out;
  if (values.size() < opts.min_group || values.empty()) return out;
  const auto stats = median_mad(values);
  double scale = 0.6745 / static_cast<double>(stats.mad);
  if (stats.mad == 0) {
    long double sum = 0;
    for (auto v : values) sum += std::fabs(static_cast<long double>(v) - stats.median);
    const double mean_ad = static_cast<double>(sum / values.size());
    if (mean_ad == 0) return out;
    scale = 0.7979 / mean_ad;
  }
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double z = std::fabs(static_cast<double>(values[i]) - static_cast<double>(stats.median)) * scale;
    if (z > opts.threshold) out.push_back({i, z});
  }
  return out;
}

}  // namespace dspsync
