#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

#include "config/config.hpp"
#include "domain/expected.hpp"

namespace dspsync {

// Pagination rules shared by the poller (which follows them) and the recording generator (which
// must produce exactly the requests the poller will make, so that a replay matches).
//
// The cursor of an endpoint is one string whose meaning depends on the style:
//   offset         decimal offset of the next page ("0" at start)
//   cursor         opaque token for the next page ("" at start: the first request has no cursor)
//   next_url       request target (path + query) of the next page ("" at start: path + limit)
//   updated_since  RFC 3339 lower bound of the next window (initial_since or 1970-01-01T00:00:00Z)

/// Appends `text` percent-encoded for a query component (RFC 3986 unreserved characters kept).
void append_percent_encoded(std::string& out, std::string_view text);

/// Appends the query parameter `name=value` to a request target, both percent-encoded, after `?`
/// when the target has no query yet and after `&` otherwise.
void append_query_param(std::string& target, std::string_view name, std::string_view value);

/// The cursor an endpoint starts from.
std::string initial_cursor(const endpoint_config& ep);

/// The request target (path and query, e.g. `/v1/streams?cursor=abc&limit=1000`) for the page at
/// `cursor`. Query parameters: the endpoint's fixed `query` plus the style's own, sorted by name,
/// percent-encoded (RFC 3986 unreserved characters kept).
std::string request_target(const endpoint_config& ep, std::string_view cursor);

/// What a fetched page says about the next one.
struct page_step {
  /// True when this page was the last one (the endpoint is caught up).
  bool done = false;
  /// The cursor of the next page; when `done`, the cursor to resume from on the next schedule.
  std::string next_cursor;
};

/// Works out the next cursor from a parsed page. `page` is the whole response document; values at
/// the pointers may be JSON numbers or strings holding a number's text (dspsync's page parser keeps
/// numbers as text). `record_count` is the size of the records array. Fails with `bad_value` naming
/// the pointer when a present value has the wrong type, or when a `next_url` points to another
/// origin than the endpoint's `base_url` (a token must never leave for another host), or when an
/// `updated_since` high-water mark does not move forward (the endpoint would loop).
expected<page_step> next_page(const endpoint_config& ep, std::string_view cursor,
                              const boost::json::value& page, std::size_t record_count);

/// The same decision as `next_page`, taken from the raw body by a structural scan (the records
/// array is counted, not parsed), so the poller can ask for the next page while validators are
/// still mapping this one. Fails when the body cannot be scanned (the validator then reports why).
/// `record_count` receives the size of the records array and, when given and the scan succeeds,
/// `record_spans` the offset and length in `body` of each record's raw bytes (what
/// `ingest_batch::record_spans` holds).
expected<page_step> peek_next_page(const endpoint_config& ep, std::string_view cursor, std::string_view body,
                                   std::size_t& record_count,
                                   std::vector<std::pair<std::size_t, std::size_t>>* record_spans = nullptr);

/// Origin (`scheme://host[:port]`, lower-case, default port omitted) of a URL; empty if unparsable.
std::string url_origin(std::string_view url);

}  // namespace dspsync
