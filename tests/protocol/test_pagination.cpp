#include "protocol/pagination.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace dspsync {
namespace {

endpoint_config make_endpoint(pagination_style style) {
  endpoint_config ep;
  ep.name = "spotify_streams";
  ep.base_url = "https://api.dsp.example";
  ep.path = "/v1/streams";
  ep.query = {{"territory", "US"}};
  ep.pagination.style = style;
  ep.pagination.page_size = 100;
  return ep;
}

boost::json::value page(std::string_view text) { return boost::json::parse(text); }

// --- initial cursor and request target --------------------------------------------------------

TEST(pagination, initial_cursor_per_style) {
  EXPECT_EQ(initial_cursor(make_endpoint(pagination_style::offset)), "0");
  EXPECT_EQ(initial_cursor(make_endpoint(pagination_style::cursor)), "");
  EXPECT_EQ(initial_cursor(make_endpoint(pagination_style::next_url)), "");
  auto ep = make_endpoint(pagination_style::updated_since);
  EXPECT_EQ(initial_cursor(ep), "1970-01-01T00:00:00Z");
  ep.pagination.initial_since = "2026-01-01T00:00:00Z";
  EXPECT_EQ(initial_cursor(ep), "2026-01-01T00:00:00Z");
}

TEST(pagination, offset_target_sorts_parameters) {
  const auto ep = make_endpoint(pagination_style::offset);
  EXPECT_EQ(request_target(ep, "0"), "/v1/streams?limit=100&offset=0&territory=US");
  EXPECT_EQ(request_target(ep, "200"), "/v1/streams?limit=100&offset=200&territory=US");
}

TEST(pagination, cursor_target_omits_cursor_on_first_request) {
  auto ep = make_endpoint(pagination_style::cursor);
  ep.query.clear();
  EXPECT_EQ(request_target(ep, ""), "/v1/streams?limit=100");
  EXPECT_EQ(request_target(ep, "abc"), "/v1/streams?cursor=abc&limit=100");
}

TEST(pagination, cursor_is_percent_encoded) {
  auto ep = make_endpoint(pagination_style::cursor);
  ep.query = {{"report type", "a&b"}};
  EXPECT_EQ(request_target(ep, "a+b/c="), "/v1/streams?cursor=a%2Bb%2Fc%3D&limit=100&report%20type=a%26b");
  EXPECT_EQ(request_target(ep, "A-z0.9_~"), "/v1/streams?cursor=A-z0.9_~&limit=100&report%20type=a%26b");
}

TEST(pagination, next_url_target_is_the_cursor) {
  const auto ep = make_endpoint(pagination_style::next_url);
  EXPECT_EQ(request_target(ep, ""), "/v1/streams?limit=100&territory=US");
  EXPECT_EQ(request_target(ep, "/v1/streams?page=2&x=a+b"), "/v1/streams?page=2&x=a+b");
}

TEST(pagination, updated_since_target) {
  auto ep = make_endpoint(pagination_style::updated_since);
  ep.pagination.since_param = "since";
  EXPECT_EQ(request_target(ep, "2026-01-01T00:00:00Z"),
            "/v1/streams?limit=100&since=2026-01-01T00%3A00%3A00Z&territory=US");
}

// --- offset -----------------------------------------------------------------------------------

TEST(pagination, offset_advances_by_record_count) {
  const auto ep = make_endpoint(pagination_style::offset);
  auto step = next_page(ep, "200", page("{}"), 100);
  ASSERT_TRUE(step) << step.error().message;
  EXPECT_FALSE(step->done);
  EXPECT_EQ(step->next_cursor, "300");

  step = next_page(ep, "300", page("{}"), 42);
  ASSERT_TRUE(step);
  EXPECT_TRUE(step->done);
  EXPECT_EQ(step->next_cursor, "342");

  step = next_page(ep, "342", page("{}"), 0);
  ASSERT_TRUE(step);
  EXPECT_TRUE(step->done);
  EXPECT_EQ(step->next_cursor, "342");
}

TEST(pagination, offset_done_at_total) {
  auto ep = make_endpoint(pagination_style::offset);
  ep.pagination.total_pointer = "/meta/total";
  auto step = next_page(ep, "100", page(R"({"meta":{"total":200}})"), 100);
  ASSERT_TRUE(step);
  EXPECT_TRUE(step->done);
  EXPECT_EQ(step->next_cursor, "200");

  step = next_page(ep, "0", page(R"({"meta":{"total":"250"}})"), 100);  // numbers kept as text
  ASSERT_TRUE(step);
  EXPECT_FALSE(step->done);

  step = next_page(ep, "0", page(R"({"meta":{}})"), 100);  // absent total: rely on the page size
  ASSERT_TRUE(step);
  EXPECT_FALSE(step->done);

  step = next_page(ep, "0", page(R"({"meta":{"total":true}})"), 100);
  ASSERT_FALSE(step);
  EXPECT_EQ(step.error().code, ec::bad_value);
  EXPECT_NE(step.error().message.find("/meta/total"), std::string::npos) << step.error().message;
}

TEST(pagination, offset_rejects_bad_cursor) {
  const auto ep = make_endpoint(pagination_style::offset);
  auto step = next_page(ep, "ten", page("{}"), 100);
  ASSERT_FALSE(step);
  EXPECT_EQ(step.error().code, ec::bad_value);
}

// --- cursor -----------------------------------------------------------------------------------

TEST(pagination, cursor_follows_next_cursor) {
  const auto ep = make_endpoint(pagination_style::cursor);
  auto step = next_page(ep, "", page(R"({"data":[],"next_cursor":"a+b/c="})"), 100);
  ASSERT_TRUE(step) << step.error().message;
  EXPECT_FALSE(step->done);
  EXPECT_EQ(step->next_cursor, "a+b/c=");
}

TEST(pagination, cursor_done_keeps_current_cursor) {
  const auto ep = make_endpoint(pagination_style::cursor);
  for (const char* doc : {R"({"next_cursor":null})", R"({})", R"({"next_cursor":""})"}) {
    auto step = next_page(ep, "abc", page(doc), 100);
    ASSERT_TRUE(step) << doc;
    EXPECT_TRUE(step->done) << doc;
    EXPECT_EQ(step->next_cursor, "abc") << doc;
  }
}

TEST(pagination, cursor_custom_pointer_and_bad_type) {
  auto ep = make_endpoint(pagination_style::cursor);
  ep.pagination.next_pointer = "/paging/next";
  auto step = next_page(ep, "", page(R"({"paging":{"next":"p2"}})"), 100);
  ASSERT_TRUE(step);
  EXPECT_EQ(step->next_cursor, "p2");

  step = next_page(ep, "", page(R"({"paging":{"next":{"token":"p2"}}})"), 100);
  ASSERT_FALSE(step);
  EXPECT_EQ(step.error().code, ec::bad_value);
  EXPECT_NE(step.error().message.find("/paging/next"), std::string::npos) << step.error().message;
}

// --- next_url ---------------------------------------------------------------------------------

TEST(pagination, next_url_absolute_same_origin) {
  const auto ep = make_endpoint(pagination_style::next_url);
  auto step =
      next_page(ep, "", page(R"({"next":"https://API.dsp.example:443/v1/streams?page=2&limit=100"})"), 100);
  ASSERT_TRUE(step) << step.error().message;
  EXPECT_FALSE(step->done);
  EXPECT_EQ(step->next_cursor, "/v1/streams?page=2&limit=100");
  EXPECT_EQ(request_target(ep, step->next_cursor), "/v1/streams?page=2&limit=100");
}

TEST(pagination, next_url_path_only) {
  const auto ep = make_endpoint(pagination_style::next_url);
  auto step = next_page(ep, "", page(R"({"next":"/v1/streams?page=3"})"), 100);
  ASSERT_TRUE(step);
  EXPECT_EQ(step->next_cursor, "/v1/streams?page=3");
}

TEST(pagination, next_url_foreign_origin_rejected) {
  const auto ep = make_endpoint(pagination_style::next_url);
  for (const char* doc :
       {R"({"next":"https://evil.example/v1/streams?page=2"})",
        R"({"next":"http://api.dsp.example/v1/streams?page=2"})",
        R"({"next":"https://api.dsp.example:8443/v1/streams"})", R"({"next":"//evil.example/v1/streams"})"}) {
    auto step = next_page(ep, "", page(doc), 100);
    ASSERT_FALSE(step) << doc;
    EXPECT_EQ(step.error().code, ec::bad_value);
    EXPECT_NE(step.error().message.find("/next"), std::string::npos) << step.error().message;
  }
}

TEST(pagination, next_url_done) {
  const auto ep = make_endpoint(pagination_style::next_url);
  for (const char* doc : {R"({"next":null})", R"({})", R"({"next":""})"}) {
    auto step = next_page(ep, "/v1/streams?page=9", page(doc), 3);
    ASSERT_TRUE(step) << doc;
    EXPECT_TRUE(step->done);
    EXPECT_EQ(step->next_cursor, "/v1/streams?page=9");
  }
  auto step = next_page(ep, "", page(R"({"next":42})"), 3);
  ASSERT_FALSE(step);
  EXPECT_EQ(step.error().code, ec::bad_value);
}

// --- updated_since ----------------------------------------------------------------------------

TEST(pagination, updated_since_subtracts_lookback) {
  auto ep = make_endpoint(pagination_style::updated_since);
  ep.schedule.lookback = std::chrono::hours(1);
  auto step =
      next_page(ep, "2026-01-01T00:00:00Z", page(R"({"high_water_mark":"2026-01-02T00:00:00Z"})"), 100);
  ASSERT_TRUE(step) << step.error().message;
  EXPECT_FALSE(step->done);
  EXPECT_EQ(step->next_cursor, "2026-01-01T23:00:00Z");
}

TEST(pagination, updated_since_uses_mark_when_lookback_would_not_advance) {
  auto ep = make_endpoint(pagination_style::updated_since);
  ep.schedule.lookback = std::chrono::hours(2);
  auto step =
      next_page(ep, "2026-01-01T23:00:00Z", page(R"({"high_water_mark":"2026-01-02T00:00:00Z"})"), 100);
  ASSERT_TRUE(step) << step.error().message;
  EXPECT_FALSE(step->done);
  EXPECT_EQ(step->next_cursor, "2026-01-02T00:00:00Z");
}

TEST(pagination, updated_since_not_advancing_is_an_error) {
  auto ep = make_endpoint(pagination_style::updated_since);
  auto step =
      next_page(ep, "2026-01-02T00:00:00Z", page(R"({"high_water_mark":"2026-01-02T00:00:00Z"})"), 100);
  ASSERT_FALSE(step);
  EXPECT_EQ(step.error().code, ec::bad_value);
  EXPECT_NE(step.error().message.find("updated_since window did not advance"), std::string::npos);
  EXPECT_NE(step.error().message.find("/high_water_mark"), std::string::npos);

  step = next_page(ep, "2026-01-02T00:00:00Z", page(R"({})"), 100);  // a full page without a mark
  ASSERT_FALSE(step);
  EXPECT_EQ(step.error().code, ec::bad_value);
}

TEST(pagination, updated_since_done_on_short_page) {
  auto ep = make_endpoint(pagination_style::updated_since);
  ep.schedule.lookback = std::chrono::minutes(10);
  auto step =
      next_page(ep, "2026-01-01T00:00:00Z", page(R"({"high_water_mark":"2026-01-01T06:00:00+02:00"})"), 7);
  ASSERT_TRUE(step) << step.error().message;
  EXPECT_TRUE(step->done);
  EXPECT_EQ(step->next_cursor, "2026-01-01T03:50:00Z");

  step = next_page(ep, "2026-01-01T00:00:00Z", page(R"({"data":[]})"), 0);
  ASSERT_TRUE(step);
  EXPECT_TRUE(step->done);
  EXPECT_EQ(step->next_cursor, "2026-01-01T00:00:00Z");

  step = next_page(ep, "2026-01-01T00:00:00Z", page(R"({"high_water_mark":"yesterday"})"), 7);
  ASSERT_FALSE(step);
  EXPECT_EQ(step.error().code, ec::bad_value);
}

// --- url_origin -------------------------------------------------------------------------------

TEST(pagination, url_origin_normalises) {
  EXPECT_EQ(url_origin("HTTPS://Api.DSP.example:443/v1?x=1"), "https://api.dsp.example");
  EXPECT_EQ(url_origin("http://127.0.0.1:80/"), "http://127.0.0.1");
  EXPECT_EQ(url_origin("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
  EXPECT_EQ(url_origin("https://user:pw@host.example:8443/p"), "https://host.example:8443");
  EXPECT_EQ(url_origin("http://[::1]:9000/x"), "http://[::1]:9000");
  EXPECT_EQ(url_origin("/v1/streams"), "");
  EXPECT_EQ(url_origin("not a url"), "");
}

}  // namespace
}  // namespace dspsync
