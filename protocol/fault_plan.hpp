#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "domain/expected.hpp"
#include "domain/rate_budget.hpp"

namespace dspsync {

// A fault plan tells the replay server which requests to answer badly, so that tests (and users
// of `dspsync replay-server --faults FILE`) can check that a client survives throttling, outages
// and broken pages. It is a JSON document:
//
//   { "seed": 42,
//     "faults": [
//       {"at": [3, 7], "kind": "status", "status": 429, "headers": {"Retry-After": "2"}},
//       {"at": [5], "kind": "status", "status": 429, "retry_after_date_s": 3},
//       {"probability": 0.05, "kind": "status", "status": 503},
//       {"at": [9], "kind": "delay", "delay_ms": 1500},
//       {"at": [11], "kind": "reset"},
//       {"at": [13], "kind": "truncate", "keep_bytes": 100},
//       {"at": [15], "kind": "malformed_json"},
//       {"at": [17], "kind": "repeat_previous"},
//       {"probability": 0.01, "kind": "reset", "path_prefix": "/v1/spotify"}
//     ],
//     "quotas": [
//       {"path_prefix": "/v1/spotify", "requests_per_second": 10, "burst": 5}
//     ] }
//
// Each fault has exactly one trigger:
// - `at`: 1-based ordinals of the requests the server receives. With `path_prefix`, the ordinal
//   counts only requests under that prefix (so `"at": [2]` is the second request to that
//   endpoint, whatever other endpoints do meanwhile);
// - `probability` in [0, 1]: drawn from a splitmix64 stream seeded by `seed` (default 0), the
//   request's ordinal (per prefix when given) and the fault's position in the list, so the same
//   plan and the same requests give the same faults, run after run.
// `path_prefix` (optional) limits a fault to targets under it, on segment boundaries
// (`/v1/spotify` covers `/v1/spotify`, `/v1/spotify/x` and `/v1/spotify?q`, not `/v1/spotifyx`).
// When several faults fire for one request, the first in the list wins. `comment` (a string) is
// allowed anywhere an object is, and ignored.
//
// Kinds and their fields:
// - `status`: `status` (400..599) and optional `headers` (an object of strings) and
//   `retry_after_date_s` (serve `Retry-After` as an IMF-fixdate that many seconds from now);
// - `delay`: `delay_ms` (0..600000): the response is served that much later;
// - `reset`: the connection is reset (TCP RST) without a response;
// - `truncate`: `keep_bytes` (optional; default half the body): the full Content-Length is
//   declared, fewer bytes are sent, then the connection closes;
// - `malformed_json`: a 200 whose body is cut in the middle and followed by `}}garbage`;
// - `repeat_previous`: the previous response served for the same method and path (query
//   ignored: the previous page) is served again instead of the next; the client sees the same
//   records twice. Before anything was served on that path it has nothing to repeat, and the
//   request is answered normally (and logged without a fault).
//
// `quotas` (optional) are request budgets the server enforces, the way a DSP does: each is a token
// bucket of `requests_per_second` (> 0) refilling up to `burst` (>= 1; default 1) requests, full
// when the server starts, covering the targets under `path_prefix` (all targets when absent).
// Several endpoints under one prefix share its quota. A request that finds a covering quota empty
// is answered `429` with `Retry-After` (the whole seconds until a token, at least 1) and takes
// nothing from any quota; otherwise it takes one token from each quota covering it. An answer over
// quota wins over any fault the plan draws for the request, and is logged as fault `quota`.

/// What a fault does to a response.
enum class fault_kind { status, delay, reset, truncate, malformed_json, repeat_previous };

/// The kind's name as written in a plan, e.g. `malformed_json`.
const char* to_string(fault_kind kind);

/// One fault of a plan: its trigger and what it does.
struct fault {
  fault_kind kind = fault_kind::status;
  /// Trigger: ordinals (1-based), or a probability. Exactly one is set.
  std::vector<uint64_t> at;
  std::optional<double> probability;
  /// Only targets under this prefix (empty: all).
  std::string path_prefix;
  /// `status`: the code served, extra headers, and `Retry-After` as a date this far ahead.
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<int64_t> retry_after_date_s;
  /// `delay`: how long to wait before serving.
  std::chrono::milliseconds delay{0};
  /// `truncate`: body bytes sent; nullopt for half the body.
  std::optional<std::size_t> keep_bytes;
};

/// A request budget the server enforces (see `quotas` above).
struct quota {
  /// Targets covered (empty: all).
  std::string path_prefix;
  double requests_per_second = 1.0;
  double burst = 1.0;
};

/// A parsed fault plan. `decide` keeps the per-prefix request counts, so it is called once per
/// request received, in order of arrival; `enforce_quotas` likewise keeps the quotas' buckets.
class fault_plan {
 public:
  uint64_t seed = 0;
  std::vector<fault> faults;
  std::vector<quota> quotas;

  /// The fault to apply to the `ordinal`-th request received (1-based), whose target is `target`;
  /// nullopt for none.
  std::optional<fault> decide(uint64_t ordinal, std::string_view target);

  /// For a request for `target` received at `now_ns` (a monotonic clock in nanoseconds): the 429
  /// to answer when a quota covering it is spent (nothing taken), otherwise nullopt with one token
  /// taken from every covering quota. Buckets start full at the first call.
  std::optional<fault> enforce_quotas(std::string_view target, int64_t now_ns);

 private:
  /// Requests seen per fault, for faults with a path prefix.
  std::vector<uint64_t> seen_;
  /// One bucket per quota, made at the first `enforce_quotas`.
  std::vector<token_bucket> buckets_;
};

/// True when `target` is `prefix` or lies under it on a path-segment boundary.
bool under_path_prefix(std::string_view target, std::string_view prefix);

/// Parses a fault plan. `source` names the input in errors, which name the field:
/// `faults.json: faults[2].kind: expected one of status|delay|reset|truncate|malformed_json|
/// repeat_previous, got "x"`. Fails with `bad_json` for text that is not JSON and `bad_value` for
/// a plan that does not fit the format.
expected<fault_plan> parse_fault_plan(std::string_view json_text, std::string_view source);

/// Reads and parses a fault plan file; `io_failure` when it cannot be read.
expected<fault_plan> load_fault_plan(const std::string& path);

}  // namespace dspsync
