#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "domain/expected.hpp"
#include "domain/money.hpp"
#include "protocol/http_client.hpp"

namespace dspsync {

// A DSP's own totals of a period, as its totals endpoint serves them (config: `endpoints[].totals`):
//
//   GET /v1/streams/totals?period=2026-10
//   {"totals": [{"period": "2026-10", "currency": "EUR", "revenue": 1234.56789, "units": 987654,
//                "records": 4321}, ...]}
//
// `dspsync fetch-totals` stores them; the statements' reconciliation report compares them with the
// ledger. Revenue is exact: parsed from the number's text, never through a binary float.

/// One row of a DSP's totals.
struct dsp_total {
  std::string period;
  std::string currency;
  money revenue;
  int64_t units = 0;
  uint64_t records = 0;
};

/// The request target of an endpoint's totals for `period` (YYYY-MM): the path and the query with
/// `{period}` replaced, parameters percent-encoded and sorted by name.
std::string totals_target(const totals_config& t, const std::string& period);

/// Parses a totals response. All or nothing: any bad row fails the whole response with an error
/// naming `source`, the row's JSON pointer, the field and what was expected, e.g.
/// `totals of spotify: /totals/2/revenue: expected a decimal number, got "n/a"`.
expected<std::vector<dsp_total>> parse_totals(const totals_config& t, std::string_view body,
                                              const std::string& source);

/// GETs an endpoint's totals for `period` with the endpoint's credentials (one request, no
/// retries: an error status is reported with its Retry-After, for the operator to run again) and
/// parses them. Only the rows of `period` are returned; other periods are ignored.
expected<std::vector<dsp_total>> fetch_totals(network& net, const endpoint_config& ep,
                                              const std::string& period);

}  // namespace dspsync
