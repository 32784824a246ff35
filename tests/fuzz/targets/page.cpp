// Page mapping and validation: the first byte picks the pagination style, the rest is a DSP's page.
// For any page: nothing vanishes (every element of the records array is either a keyed record or a
// quarantined item with its raw bytes and a reason); mapping is deterministic (the same page through
// the same, reused mapper gives the same keys); and the poller's read-ahead scan never disagrees
// with the parser about the next cursor (a disagreement makes the poller start over on that page).

#include "protocol/page_mapper.hpp"
#include "protocol/pagination.hpp"
#include "tests/fuzz/fuzz_targets.hpp"

namespace dspsync::fuzz {

namespace {

endpoint_config make_endpoint(pagination_style style) {
  endpoint_config ep;
  ep.name = "fuzz";
  ep.dsp = "spotify";
  ep.base_url = "https://api.genmusic.example";  // as `dspsync gen-har` records, so its pages are seeds
  ep.path = "/v1/streams";
  ep.pagination.style = style;
  ep.pagination.page_size = 5;
  ep.pagination.records_pointer = "/data";
  ep.pagination.next_pointer = style == pagination_style::cursor          ? "/next_cursor"
                               : style == pagination_style::next_url      ? "/next"
                               : style == pagination_style::updated_since ? "/high_water_mark"
                                                                          : "";
  if (style == pagination_style::offset) ep.pagination.total_pointer = "/total";
  ep.fields = default_field_aliases();
  ep.key_fields = default_key_fields();
  return ep;
}

struct summary {
  std::vector<record_key> keys;
  std::vector<record_key> quarantine_keys;
  std::string cursor_after;
  bool caught_up = false;
  std::size_t page_errors = 0;
};

summary map_once(page_mapper& mapper, std::string_view body, const std::string& cursor) {
  ingest_batch b;
  b.source = "fuzz";
  b.request = "GET /v1/streams";
  b.cursor_before = cursor;
  b.body = std::string(body);
  mapper.map(b);
  summary s;
  s.page_errors = b.page_errors.size();
  s.cursor_after = b.cursor_after;
  s.caught_up = b.caught_up;
  if (b.page_errors.empty()) {
    FUZZ_CHECK("page", b.records.size() + b.quarantined.size() == b.records_in,
               std::to_string(b.records_in) + " records in, " + std::to_string(b.records.size()) +
                   " mapped + " + std::to_string(b.quarantined.size()) + " quarantined");
  } else {
    FUZZ_CHECK("page", b.records.empty() && b.quarantined.empty() && b.records_in == 0,
               "a failed page still mapped records");
    FUZZ_CHECK("page", !b.page_errors.front().message.empty(), "a page error without a message");
  }
  for (const auto& q : b.quarantined) {
    FUZZ_CHECK("page", !q.raw.empty(), "a quarantined record without its raw bytes");
    FUZZ_CHECK("page", !q.errors.empty(), "a quarantined record without a reason");
    s.quarantine_keys.push_back(q.key);
  }
  for (const auto& r : b.records) s.keys.push_back(r.key);
  return s;
}

}  // namespace

int fuzz_page(const uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const pagination_style styles[] = {pagination_style::offset, pagination_style::cursor,
                                     pagination_style::next_url, pagination_style::updated_since};
  const auto ep = make_endpoint(styles[data[0] % 4]);
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::string cursor = initial_cursor(ep);

  page_mapper mapper(ep, territory_options{});
  const summary first = map_once(mapper, body, cursor);
  const summary second = map_once(mapper, body, cursor);
  FUZZ_CHECK("page",
             first.keys == second.keys && first.quarantine_keys == second.quarantine_keys &&
                 first.cursor_after == second.cursor_after && first.page_errors == second.page_errors,
             "mapping the same page twice gave different results");

  std::size_t count = 0;
  auto peek = peek_next_page(ep, cursor, body, count);
  if (peek && first.page_errors == 0) {
    FUZZ_CHECK("page", peek->next_cursor == first.cursor_after,
               "read-ahead scan says next cursor \"" + peek->next_cursor + "\", the parser \"" +
                   first.cursor_after + "\"");
    FUZZ_CHECK("page", peek->done == first.caught_up, "read-ahead scan and parser disagree on the last page");
    FUZZ_CHECK("page", count == first.keys.size() + first.quarantine_keys.size(),
               "read-ahead scan counted " + std::to_string(count) + " records, the parser " +
                   std::to_string(first.keys.size() + first.quarantine_keys.size()));
  }
  return 0;
}

}  // namespace dspsync::fuzz

DSPSYNC_FUZZ_ENTRY(fuzz_page)
