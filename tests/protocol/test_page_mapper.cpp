#include "protocol/page_mapper.hpp"

#include "protocol/pagination.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace dspsync {
namespace {

endpoint_config make_endpoint() {
  endpoint_config ep;
  ep.name = "spotify_streams";
  ep.dsp = "spotify";
  ep.base_url = "https://api.dsp.example";
  ep.path = "/v1/streams";
  ep.pagination.style = pagination_style::cursor;
  ep.pagination.records_pointer = "/data";
  ep.fields = default_field_aliases();
  ep.key_fields = default_key_fields();
  return ep;
}

ingest_batch map_page(page_mapper& mapper, const std::string& body, const std::string& cursor = "") {
  ingest_batch b;
  b.source = mapper.endpoint().name;
  b.request = "GET /v1/streams?limit=1000";
  b.cursor_before = cursor;
  b.body = body;
  mapper.map(b);
  return b;
}

ingest_batch map_page(const std::string& body, const std::string& cursor = "") {
  page_mapper mapper(make_endpoint(), territory_options{});
  return map_page(mapper, body, cursor);
}

std::string page_of(const std::vector<std::string>& records, const std::string& next = "null") {
  std::string body = "{\"data\": [\n  ";
  for (std::size_t i = 0; i < records.size(); ++i) body += (i ? ",\n  " : "") + records[i];
  return body + "\n], \"next_cursor\": " + next + "}";
}

const std::string good_record =
    R"({"isrc": "USRC17607839", "upc": "036000291452", "territory": "US", "period": "2026-10",
    "streams": 1200, "revenue": 10.276825, "currency": "USD", "id": "t-1", "title": "Song",
    "artists": ["A", "B"]})";
const std::string pending_record =
    R"({"isrc": "GBAYE0601498", "upc": "036000291453", "territory": "GB", "period": "2026-10",
    "streams": 5, "revenue": "0.01", "currency": "GBP", "id": "t-2"})";
// Odd spacing and a string holding brackets and an escaped quote: the raw bytes must survive as sent.
const std::string corrupt_record =
    "{ \"isrc\" : \"NOT-AN-ISRC\" ,\n      \"note\": \"]} \\\" [\",\"currency\":\"USD\",  \"revenue\": 1.5,"
    "\"period\": \"2026-10\", \"id\": \"t-3\"\t}";

/// A valid record with one member replaced or added (text spliced before the closing brace).
std::string record_with(const std::string& extra) {
  return R"({"isrc": "USRC17607839", "upc": "036000291452", "territory": "US", "period": "2026-10",
    "revenue": "1.00", "currency": "USD", "id": "t-9")" +
         extra + "}";
}

TEST(page_mapper, maps_good_pending_and_corrupt_records) {
  const std::string body = page_of({good_record, pending_record, corrupt_record}, "\"page-2\"");
  auto b = map_page(body);
  ASSERT_TRUE(b.page_errors.empty()) << b.page_errors[0].message;
  EXPECT_EQ(b.records_in, 3u);
  ASSERT_EQ(b.records.size(), 2u);
  ASSERT_EQ(b.quarantined.size(), 1u);
  EXPECT_EQ(b.records_in, b.records.size() + b.quarantined.size());

  const auto& good = b.records[0];
  EXPECT_EQ(good.state, record_state::validated);
  EXPECT_EQ(good.position, 0u);
  EXPECT_TRUE(good.faults.empty()) << good.faults;
  EXPECT_EQ(good.record.isrc, "USRC17607839");
  EXPECT_EQ(good.record.upc, "0036000291452");
  EXPECT_EQ(good.record.dsp, "spotify");
  EXPECT_EQ(good.record.reporting_period, "2026-10");
  EXPECT_EQ(good.record.transaction_id, "t-1");
  EXPECT_EQ(good.record.units, 1200);
  EXPECT_EQ(good.record.revenue.units(), 1'027'682'500);  // exact, never through a double
  EXPECT_EQ(good.record.title, "Song");
  EXPECT_EQ(good.record.artists, (std::vector<std::string>{"A", "B"}));

  const auto& pending = b.records[1];
  EXPECT_EQ(pending.state, record_state::pending_reconciliation);
  EXPECT_EQ(pending.position, 1u);
  EXPECT_NE(pending.faults.find("upc"), std::string::npos) << pending.faults;
  EXPECT_EQ(pending.record.revenue.units(), 1'000'000);

  const auto& bad = b.quarantined[0];
  EXPECT_EQ(bad.position, 2u);
  EXPECT_EQ(bad.raw, corrupt_record);
  ASSERT_FALSE(bad.errors.empty());
  EXPECT_EQ(bad.errors[0].code, ec::bad_isrc);
  key_deriver keys(default_key_fields());
  EXPECT_EQ(bad.key, keys.quarantine_key("spotify_streams", corrupt_record));

  EXPECT_EQ(b.cursor_after, "page-2");
  EXPECT_FALSE(b.caught_up);
}

TEST(page_mapper, keys_are_stable_and_follow_the_normalised_record) {
  const std::string body = page_of({good_record, pending_record, corrupt_record});
  page_mapper mapper(make_endpoint(), territory_options{});
  auto first = map_page(mapper, body);
  auto second = map_page(mapper, body);  // the same mapper again
  auto third = map_page(body);           // a fresh mapper
  ASSERT_EQ(first.records.size(), 2u);
  ASSERT_EQ(second.records.size(), 2u);
  ASSERT_EQ(third.records.size(), 2u);
  key_deriver keys(default_key_fields());
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(first.records[i].key, second.records[i].key) << i;
    EXPECT_EQ(first.records[i].key, third.records[i].key) << i;
    EXPECT_EQ(first.records[i].key, keys.key(first.records[i].record)) << i;
  }
  EXPECT_NE(first.records[0].key, first.records[1].key);
  EXPECT_EQ(first.quarantined[0].key, third.quarantined[0].key);

  // The same record written differently by the DSP (raw forms, aliases, number text) keys the same.
  const std::string restyled =
      R"({"ISRC": "us-rc1-76-07839", "ean": "0036000291452", "country": "USA", "month": "202610",
      "play_count": "1200", "net_revenue": "10.2768250", "currency_code": "usd", "row_id": "t-1"})";
  auto again = map_page(page_of({restyled}));
  ASSERT_EQ(again.records.size(), 1u);
  EXPECT_EQ(again.records[0].key, first.records[0].key);
  // A different transaction id is a different record.
  auto other = map_page(page_of({record_with(R"(, "units": 1)")}));
  ASSERT_EQ(other.records.size(), 1u);
  EXPECT_NE(other.records[0].key, first.records[0].key);
}

TEST(page_mapper, resolves_field_aliases_in_order) {
  struct alias_case {
    const char* extra;
    int64_t units;
  };
  for (const auto& c : {alias_case{R"(, "units": 3)", 3}, alias_case{R"(, "streams": 4)", 4},
                        alias_case{R"(, "play_count": 7)", 7}, alias_case{R"(, "quantity": "8")", 8},
                        alias_case{R"(, "units": 3, "streams": 9)", 3},
                        alias_case{R"(, "play_count": 5, "units": null)", 5}}) {
    auto b = map_page(page_of({record_with(c.extra)}));
    ASSERT_EQ(b.records.size(), 1u) << c.extra;
    EXPECT_EQ(b.records[0].state, record_state::validated) << c.extra << ": " << b.records[0].faults;
    EXPECT_EQ(b.records[0].record.units, c.units) << c.extra;
  }
  // No units under any alias: kept, but pending.
  auto none = map_page(page_of({record_with(R"(, "plays": 3)")}));
  ASSERT_EQ(none.records.size(), 1u);
  EXPECT_EQ(none.records[0].state, record_state::pending_reconciliation);
  EXPECT_NE(none.records[0].faults.find("units"), std::string::npos);
}

TEST(page_mapper, each_record_reads_its_own_members_whatever_their_order) {
  // The mapper first tries a member where the previous record had it: records in another order,
  // missing a member, or repeating one (the last wins) must still read their own values, on this
  // page and the next one through the same mapper.
  page_mapper mapper(make_endpoint(), territory_options{});
  const std::string a =
      R"({"isrc": "USRC17607839", "period": "2026-10", "streams": 1, "revenue": "1.00", "currency": "USD", "id": "a"})";
  const std::string reversed =
      R"({"id": "b", "currency": "EUR", "revenue": "2.00", "streams": 2, "period": "2026-09", "isrc": "GBAYE0601498"})";
  const std::string other_alias =
      R"({"isrc": "USRC17607839", "period": "2026-10", "units": 3, "revenue": "3.00", "currency": "USD", "id": "c"})";
  const std::string repeated =
      R"({"isrc": "USRC17607839", "period": "2026-10", "streams": 4, "revenue": "4.00", "currency": "USD", "id": "d", "streams": 9})";
  const std::string missing =
      R"({"isrc": "USRC17607839", "period": "2026-10", "revenue": "5.00", "id": "e"})";
  for (int round = 0; round < 2; ++round) {
    auto b = map_page(mapper, page_of({a, reversed, other_alias, repeated, missing}));
    ASSERT_EQ(b.records.size() + b.quarantined.size(), 5u);
    std::map<std::string, const keyed_record*> by_id;
    for (const auto& r : b.records) by_id[r.record.transaction_id] = &r;
    ASSERT_EQ(by_id.count("a") + by_id.count("b") + by_id.count("c") + by_id.count("d"), 4u);
    EXPECT_EQ(by_id["a"]->record.units, 1);
    EXPECT_EQ(by_id["a"]->record.currency, "USD");
    EXPECT_EQ(by_id["b"]->record.units, 2);
    EXPECT_EQ(by_id["b"]->record.isrc, "GBAYE0601498");
    EXPECT_EQ(by_id["b"]->record.currency, "EUR");
    EXPECT_EQ(by_id["b"]->record.reporting_period, "2026-09");
    EXPECT_EQ(by_id["c"]->record.units, 3);
    EXPECT_EQ(by_id["d"]->record.units, 9);
    if (by_id.count("e")) {
      EXPECT_NE(by_id["e"]->state, record_state::validated);  // no units, no currency
      EXPECT_TRUE(by_id["e"]->record.currency.empty());
    }
  }
}

TEST(page_mapper, resolves_json_pointer_aliases) {
  auto ep = make_endpoint();
  ep.fields["isrc"] = {"/meta/isrc", "isrc_code"};
  ep.fields["revenue"] = {"/money/0/amount"};
  page_mapper mapper(ep, territory_options{});
  const std::string nested =
      R"({"meta": {"isrc": "GBAYE0601498"}, "isrc": "USRC17607839", "money": [{"amount": 2.5}],
      "upc": "036000291452", "territory": "GB", "period": "2026-10", "units": 1, "currency": "GBP", "id": "n1"})";
  const std::string flat =
      R"({"isrc_code": "FRZ039800212", "money": [{"amount": "-1"}], "upc": "036000291452", "territory": "FR",
      "period": "2026-10", "units": 1, "currency": "EUR", "id": "n2"})";
  const std::string unmapped =
      R"({"isrc": "USRC17607839", "money": [{"amount": 1}], "territory": "US", "period": "2026-10", "units": 1,
      "currency": "USD", "id": "n3"})";
  auto b = map_page(mapper, page_of({nested, flat, unmapped}));
  ASSERT_EQ(b.records.size(), 2u);
  EXPECT_EQ(b.records[0].record.isrc, "GBAYE0601498");
  EXPECT_EQ(b.records[0].record.revenue.units(), 250'000'000);
  EXPECT_EQ(b.records[1].record.isrc, "FRZ039800212");
  EXPECT_EQ(b.records[1].record.revenue.units(), -100'000'000);
  // The configured mapping replaces the defaults: a plain "isrc" member is no longer read.
  ASSERT_EQ(b.quarantined.size(), 1u);
  EXPECT_EQ(b.quarantined[0].position, 2u);
  EXPECT_EQ(b.quarantined[0].errors[0].code, ec::missing_field);
}

TEST(page_mapper, artists_as_array_or_single_string) {
  struct artists_case {
    const char* extra;
    std::vector<std::string> artists;
  };
  for (const auto& c :
       {artists_case{R"(, "units": 1, "artists": ["A", "B", "C"])", {"A", "B", "C"}},
        artists_case{R"(, "units": 1, "artist": "Solo")", {"Solo"}},
        artists_case{R"(, "units": 1, "artists": "Duo A")", {"Duo A"}},
        artists_case{R"(, "units": 1, "artists": [" Padded ", "", 3, "X"])", {"Padded", "3", "X"}},
        artists_case{R"(, "units": 1)", {}}}) {
    auto b = map_page(page_of({record_with(c.extra)}));
    ASSERT_EQ(b.records.size(), 1u) << c.extra;
    EXPECT_EQ(b.records[0].record.artists, c.artists) << c.extra;
  }
}

TEST(page_mapper, records_of_the_wrong_shape_are_quarantined_with_their_bytes) {
  const std::string body = page_of({"42", record_with(R"(, "units": {"n": 1})"), "\"text\"", "[1, 2]"});
  auto b = map_page(body);
  EXPECT_TRUE(b.page_errors.empty());
  EXPECT_EQ(b.records_in, 4u);
  EXPECT_TRUE(b.records.empty());
  ASSERT_EQ(b.quarantined.size(), 4u);
  EXPECT_EQ(b.quarantined[0].raw, "42");
  EXPECT_EQ(b.quarantined[0].errors[0].code, ec::bad_value);
  EXPECT_EQ(b.quarantined[1].raw, record_with(R"(, "units": {"n": 1})"));
  EXPECT_EQ(b.quarantined[1].errors[0].code, ec::bad_value);
  EXPECT_NE(b.quarantined[1].errors[0].message.find("units"), std::string::npos);
  EXPECT_EQ(b.quarantined[2].raw, "\"text\"");
  EXPECT_EQ(b.quarantined[3].raw, "[1, 2]");
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(b.quarantined[i].position, i);
}

TEST(page_mapper, quarantined_raw_bytes_match_the_record_when_the_records_key_repeats) {
  // Duplicate names are legal JSON syntax (RFC 8259 says SHOULD be unique); the parser keeps the last.
  const std::string body = "{\"data\": [" + good_record + "], \"data\": [" + corrupt_record + "]}";
  auto b = map_page(body);
  ASSERT_EQ(b.quarantined.size(), 1u);
  EXPECT_EQ(b.quarantined[0].raw, corrupt_record);
}

TEST(page_mapper, quarantined_raw_bytes_survive_an_escaped_records_key) {
  const std::string body = "{\"d\\u0061ta\": [" + corrupt_record + "]}";
  auto b = map_page(body);
  ASSERT_TRUE(b.page_errors.empty());
  ASSERT_EQ(b.quarantined.size(), 1u);
  EXPECT_EQ(b.quarantined[0].raw, corrupt_record);
}

TEST(page_mapper, quarantined_raw_bytes_from_the_read_ahead_scan_are_the_same_bytes) {
  // The poller hands the validator the record spans its read-ahead scan found; the bytes kept for
  // a bad record must be exactly those a scan of its own would keep.
  const std::vector<std::string> bodies = {
      page_of({good_record, corrupt_record, "42", "[1, 2]", "\"text\""}),
      "{\"data\": [" + good_record + "], \"data\": [" + corrupt_record + ", 7]}",
      "{\"d\\u0061ta\": [" + corrupt_record + "], \"next_cursor\": \"n\"}",
  };
  const auto ep = make_endpoint();
  for (const auto& body : bodies) {
    std::size_t count = 0;
    ingest_batch with_spans;
    with_spans.source = ep.name;
    with_spans.body = body;
    auto step = peek_next_page(ep, "", with_spans.body, count, &with_spans.record_spans);
    ASSERT_TRUE(step) << body;
    ASSERT_EQ(with_spans.record_spans.size(), count);
    const auto spans = with_spans.record_spans;
    page_mapper mapper(ep, territory_options{});
    mapper.map(with_spans);
    auto scanned = map_page(body);
    ASSERT_EQ(with_spans.quarantined.size(), scanned.quarantined.size()) << body;
    ASSERT_FALSE(scanned.quarantined.empty()) << body;
    for (std::size_t i = 0; i < scanned.quarantined.size(); ++i) {
      EXPECT_EQ(with_spans.quarantined[i].raw, scanned.quarantined[i].raw) << body;
      const auto [offset, length] = spans[scanned.quarantined[i].position];
      EXPECT_EQ(with_spans.quarantined[i].raw, body.substr(offset, length)) << body;
    }
  }
}

TEST(page_mapper, missing_or_misplaced_records_array_is_a_page_error) {
  for (const char* body :
       {R"({"items": [], "next_cursor": "x"})", R"({"data": {"a": 1}})", R"({"data": "[]"})", R"([1, 2])"}) {
    auto b = map_page(body, "c0");
    ASSERT_EQ(b.page_errors.size(), 1u) << body;
    EXPECT_EQ(b.page_errors[0].code, ec::missing_records) << body;
    EXPECT_NE(b.page_errors[0].message.find("/data"), std::string::npos) << b.page_errors[0].message;
    EXPECT_EQ(b.records_in, 0u);
    EXPECT_TRUE(b.records.empty());
    EXPECT_TRUE(b.quarantined.empty());
    EXPECT_FALSE(b.body_sha256.empty());
  }
}

TEST(page_mapper, invalid_json_is_a_page_error) {
  for (const char* body : {"{\"data\": [", "<html>502 Bad Gateway</html>", "", "{\"data\": []} trailing"}) {
    auto b = map_page(body, "c0");
    ASSERT_EQ(b.page_errors.size(), 1u) << body;
    EXPECT_EQ(b.page_errors[0].code, ec::bad_json) << body;
    EXPECT_NE(b.page_errors[0].message.find("spotify_streams"), std::string::npos)
        << b.page_errors[0].message;
    EXPECT_EQ(b.records_in, 0u);
    EXPECT_TRUE(b.records.empty());
    EXPECT_TRUE(b.quarantined.empty());
  }
}

TEST(page_mapper, next_cursor_and_caught_up) {
  struct cursor_case {
    const char* next;
    const char* before;
    const char* after;
    bool caught_up;
  };
  for (const auto& c : {cursor_case{"\"abc\"", "", "abc", false}, cursor_case{"\"p3\"", "p2", "p3", false},
                        cursor_case{"12345", "p2", "12345", false}, cursor_case{"null", "p2", "p2", true},
                        cursor_case{"\"\"", "p2", "p2", true}}) {
    auto b = map_page(page_of({good_record}, c.next), c.before);
    ASSERT_TRUE(b.page_errors.empty()) << c.next << ": " << b.page_errors[0].message;
    EXPECT_EQ(b.cursor_after, c.after) << c.next;
    EXPECT_EQ(b.caught_up, c.caught_up) << c.next;
  }
  // Absent altogether: caught up too.
  auto b = map_page("{\"data\": []}", "p9");
  EXPECT_TRUE(b.page_errors.empty());
  EXPECT_TRUE(b.caught_up);
  EXPECT_EQ(b.cursor_after, "p9");
}

TEST(page_mapper, body_sha256_is_the_hex_digest_of_the_exact_body) {
  page_mapper mapper(make_endpoint(), territory_options{});
  auto b = map_page(mapper, R"({"data":[],"next_cursor":null})");
  EXPECT_EQ(b.body_sha256, "bc883835b9a55a57d637fc66300b6e43eecf4a0c7f52561f02162ec2cbf3e1f1");
  // Also for a page that is not JSON, and the hasher is not carried over between pages.
  auto bad = map_page(mapper, "abc");
  EXPECT_EQ(bad.body_sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string body = page_of({good_record, corrupt_record});
  auto full = map_page(mapper, body);
  EXPECT_EQ(full.body_sha256, to_hex(sha256::digest(body)));
  EXPECT_EQ(full.body, body);
}

TEST(page_mapper, reused_mapper_does_not_carry_records_between_pages) {
  page_mapper mapper(make_endpoint(), territory_options{});
  ingest_batch b;
  b.source = "spotify_streams";
  b.request = "GET /v1/streams";
  b.body = page_of({good_record, pending_record, corrupt_record});
  mapper.map(b);
  ASSERT_EQ(b.records.size(), 2u);
  b.body = page_of({pending_record});
  mapper.map(b);
  EXPECT_EQ(b.records_in, 1u);
  ASSERT_EQ(b.records.size(), 1u);
  EXPECT_TRUE(b.quarantined.empty());
  EXPECT_EQ(b.records[0].record.isrc, "GBAYE0601498");
  EXPECT_EQ(b.records[0].position, 0u);
  b.body = "not json";
  mapper.map(b);
  EXPECT_EQ(b.page_errors.size(), 1u);
  EXPECT_TRUE(b.records.empty());
  EXPECT_EQ(b.records_in, 0u);
  b.body = page_of({good_record});
  mapper.map(b);
  EXPECT_TRUE(b.page_errors.empty());
  EXPECT_EQ(b.records.size(), 1u);
}

}  // namespace
}  // namespace dspsync
