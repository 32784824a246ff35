#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "protocol/har.hpp"

namespace dspsync {

// A synthetic DSP, recorded as a HAR cassette: the test harness, the demo and the benchmarks replay
// it. Generation is deterministic (same options, byte-identical HAR) and every page is requested
// exactly as the poller will request it, because the URLs and cursors come from the same pagination
// functions (`request_target`, `next_page`). The recording carries the counts a correct ingestion
// must reproduce, so `records in = unique + restatements + duplicates + malformed` can be checked.

/// What to generate.
struct recording_options {
  pagination_style style = pagination_style::cursor;
  /// Distinct well-formed base records (each with its own idempotency key).
  std::size_t records = 10000;
  uint64_t seed = 1;
  int page_size = 1000;
  std::string endpoint_name = "gen";
  std::string dsp = "genmusic";
  /// `scheme://host[:port]` the recording claims to come from.
  std::string origin = "https://api.genmusic.example";
  std::string path = "/v1/streams";
  /// Extra rows (as a share of `records`) that repeat an earlier row byte for byte on a later page.
  double duplicate_rate = 0.01;
  /// Extra rows with the key fields of an earlier row and changed revenue and units, on a later page.
  double restatement_rate = 0.005;
  /// Extra rows that must be quarantined; their kinds cycle: bad ISRC, bad currency, missing field
  /// (no isrc), broken number (revenue `"12,5x"`).
  double malformed_rate = 0.002;
  /// Name of the units member in each record (schema drift: `play_count`, ...).
  std::string units_field = "streams";
  /// Reporting period of every record.
  std::string period = "2026-10";
};

/// What a correct ingestion of the recording must count.
struct recording_counts {
  /// HTTP exchanges recorded.
  std::size_t pages = 0;
  /// Every row served on every page, re-served `updated_since` boundary rows included.
  std::size_t records_in = 0;
  /// First sightings of base records.
  std::size_t unique = 0;
  /// First sightings of restated rows.
  std::size_t restatements = 0;
  /// Byte-identical repeats: injected duplicates and re-served boundary rows.
  std::size_t duplicates = 0;
  /// Rows that must be quarantined; the sum of the four kinds below.
  std::size_t malformed = 0;
  std::size_t bad_isrc = 0;
  std::size_t bad_currency = 0;
  std::size_t missing_field = 0;
  std::size_t broken_number = 0;
};

/// A generated recording: the cassette, the endpoint that polls it, and the expected counts.
struct recording {
  har_archive har;
  endpoint_config endpoint;
  recording_counts expected;
};

/// Generates a recording. Deterministic: the same options give a byte-identical `write_har` output
/// (own PRNG, no std distributions, no clock). Throws `std::invalid_argument` for a page size below
/// 1 (below 4 for `updated_since`, whose windows must advance past the rows they serve again) and
/// `std::logic_error` when extra-row rates are so high that an `updated_since` window cannot
/// advance, or if the pagination rules reject a generated page (a bug).
recording generate_recording(const recording_options& opts);

/// One track of a recording, as a catalog would list it.
struct recording_track {
  std::string isrc;
  /// UPC-A of its release, as served (12 digits).
  std::string upc;
  std::string title;
  std::vector<std::string> artists;
};

/// Every track the recording's rows refer to, in track order (deterministic like the recording:
/// the same identifiers, titles and artists the rows carry). The demo builds its catalog from these.
std::vector<recording_track> recording_tracks(const recording_options& opts);

/// The endpoint as a JSON object for a config file's `endpoints` array: name, dsp, base_url, path,
/// pagination, fields (with the units alias) and key_fields. What `dspsync gen-har` prints.
std::string endpoint_config_json(const endpoint_config& ep);

}  // namespace dspsync
