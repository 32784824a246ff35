#pragma once

#include <cstdint>
#include <vector>

#include "domain/expected.hpp"

namespace dspsync {

/// Splits `total` (an integer count of the smallest unit, here 10^-8 of a currency) into parts
/// proportional to `weights` with the largest-remainder rule (Hamilton's method):
///
///   1. each part gets floor(|total| * w_i / W), W = sum of the weights;
///   2. the units left over (fewer than the number of parts) go one each to the parts with the
///      largest remainders |total| * w_i mod W; equal remainders go to the earlier part;
///   3. a negative total is split as its magnitude and every part negated.
///
/// So the parts ALWAYS sum exactly to `total`, every part has the sign of `total` (or is 0), and a
/// part differs from its exact quota by less than one unit. Arithmetic is in 128 bits: exact for
/// every int64 total and weights up to 2^62 each (W up to 2^63). Fails with `bad_argument` when
/// there are no weights, a weight is negative, or they sum to 0 or beyond 2^63.
expected<std::vector<int64_t>> allocate_largest_remainder(int64_t total, const std::vector<int64_t>& weights);

}  // namespace dspsync
