// A webhook delivery mapped like a polled page, without pagination: records at the webhook's
// pointer, updates marked by the update pointer, corrupt payloads reported as page errors, bad
// records quarantined with their raw bytes.

#include <gtest/gtest.h>

#include <string>

#include "protocol/page_mapper.hpp"

namespace dspsync {
namespace {

endpoint_config make_endpoint() {
  endpoint_config ep;
  ep.name = "hooks";
  ep.dsp = "hookdsp";
  ep.base_url = "https://api.dsp.example";
  ep.pagination.records_pointer = "/data";
  ep.pagination.next_pointer = "/next_cursor";
  ep.fields = default_field_aliases();
  ep.key_fields = default_key_fields();
  return ep;
}

std::string record(const std::string& tx, const std::string& op_member = "") {
  return R"({"isrc":"USRC17607839","upc":"012345678905","territory":"US","period":"2026-10","units":3,)"
         R"("revenue":"1.50","currency":"USD","id":")" +
         tx + "\"" + op_member + "}";
}

ingest_batch map(const std::string& body, const page_mapper::payload_options& o) {
  page_mapper mapper(make_endpoint(), territory_options{});
  ingest_batch b;
  b.source = "hooks/webhook";
  b.request = "POST /webhooks/hooks";
  b.body = body;
  mapper.map_payload(b, o);
  return b;
}

page_mapper::payload_options options(std::string records = "/events/0/rows") {
  page_mapper::payload_options o;
  o.records_pointer = std::move(records);
  o.update_pointer = "/op";
  o.update_value = "update";
  return o;
}

TEST(webhook_payload, maps_records_at_the_webhook_pointer_and_marks_updates) {
  const std::string body = R"({"events":[{"rows":[)" + record("a") + "," + record("b", R"(,"op":"update")") +
                           "," + record("c", R"(,"op":"create")") + "," + record("d", R"(,"op":["update"])") +
                           "]}]}";
  auto b = map(body, options());
  ASSERT_TRUE(b.page_errors.empty()) << b.page_errors.front().message;
  EXPECT_TRUE(b.caught_up);
  EXPECT_EQ(b.cursor_after, b.cursor_before);
  EXPECT_FALSE(b.body_sha256.empty());
  ASSERT_EQ(b.records_in, 4u);
  ASSERT_EQ(b.records.size(), 4u);
  EXPECT_FALSE(b.records[0].update);
  EXPECT_TRUE(b.records[1].update);
  EXPECT_FALSE(b.records[2].update);
  EXPECT_FALSE(b.records[3].update);  // not a string: not the configured value
  EXPECT_EQ(b.records[1].record.transaction_id, "b");
  EXPECT_EQ(b.records[1].record.dsp, "hookdsp");
}

TEST(webhook_payload, updates_are_not_marked_when_the_pointer_is_off) {
  auto o = options("/data");
  o.update_pointer.clear();
  auto b = map(R"({"data":[)" + record("a", R"(,"op":"update")") + "]}", o);
  ASSERT_EQ(b.records.size(), 1u);
  EXPECT_FALSE(b.records[0].update);
}

TEST(webhook_payload, a_corrupt_delivery_is_a_page_error_and_a_bad_record_is_quarantined_raw) {
  auto not_json = map("{\"data\": [", options("/data"));
  ASSERT_EQ(not_json.page_errors.size(), 1u);
  EXPECT_EQ(not_json.page_errors[0].code, ec::bad_json);

  auto no_records = map(R"({"rows":[]})", options("/data"));
  ASSERT_EQ(no_records.page_errors.size(), 1u);
  EXPECT_EQ(no_records.page_errors[0].code, ec::missing_records);

  const std::string bad =
      R"({ "isrc" : "nope", "currency":"USD", "revenue":"1", "period":"2026-10", "id":"x" })";
  auto b = map(R"({"data":[)" + record("a") + ",  " + bad + "]}", options("/data"));
  ASSERT_TRUE(b.page_errors.empty());
  EXPECT_EQ(b.records.size(), 1u);
  ASSERT_EQ(b.quarantined.size(), 1u);
  EXPECT_EQ(b.quarantined[0].raw, bad);
  EXPECT_EQ(b.quarantined[0].position, 1u);
}

}  // namespace
}  // namespace dspsync
