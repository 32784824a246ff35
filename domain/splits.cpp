#include "domain/splits.hpp"

#include <algorithm>
#include <numeric>
#include <string>

namespace dspsync {

expected<std::vector<int64_t>> allocate_largest_remainder(int64_t total,
                                                          const std::vector<int64_t>& weights) {
  if (weights.empty())
    return failure{ec::bad_argument, "split: no parts to allocate " + std::to_string(total) + " to"};
  unsigned __int128 sum = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    if (weights[i] < 0)
      return failure{ec::bad_argument, "split: weight " + std::to_string(i + 1) + " is negative"};
    sum += static_cast<unsigned __int128>(weights[i]);
  }
  if (sum == 0) return failure{ec::bad_argument, "split: the weights sum to 0"};
  if (sum > (static_cast<unsigned __int128>(1) << 63))
    return failure{ec::bad_argument, "split: the weights sum beyond 2^63"};

  // |INT64_MIN| fits unsigned 64 bits.
  const uint64_t magnitude =
      total < 0 ? uint64_t{0} - static_cast<uint64_t>(total) : static_cast<uint64_t>(total);
  std::vector<uint64_t> parts(weights.size());
  std::vector<unsigned __int128> remainders(weights.size());
  uint64_t given = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const unsigned __int128 product =
        static_cast<unsigned __int128>(magnitude) * static_cast<uint64_t>(weights[i]);
    parts[i] = static_cast<uint64_t>(product / sum);
    remainders[i] = product % sum;
    given += parts[i];
  }
  // Fewer than weights.size() units are left over: sum of floors > |total| - n.
  uint64_t left = magnitude - given;
  std::vector<std::size_t> order(weights.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return remainders[a] > remainders[b]; });
  for (std::size_t k = 0; left > 0; ++k, --left) ++parts[order[k]];

  std::vector<int64_t> out(parts.size());
  for (std::size_t i = 0; i < parts.size(); ++i)
    out[i] = total < 0 ? static_cast<int64_t>(uint64_t{0} - parts[i]) : static_cast<int64_t>(parts[i]);
  return out;
}

}  // namespace dspsync
