#include "protocol/har.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <boost/json/parse.hpp>

namespace dspsync {
namespace {

har_entry sample_entry() {
  har_entry e;
  e.method = "POST";
  e.url = "https://api.dsp.example/v1/streams?cursor=a%2Bb&limit=2";
  e.request_headers = {{"Authorization", "Bearer x"}, {"Content-Type", "application/json"}};
  e.request_body = R"({"q":"stream"})";
  e.status = 429;
  e.status_text = "Too Many Requests";
  e.response_headers = {{"Content-Type", "application/json; charset=utf-8"}, {"Retry-After", "7"}};
  e.response_body = "{\"data\":[{\"title\":\"Caf\xC3\xA9\"}],\"next\":null}";
  e.started = "2026-10-01T12:00:00.123Z";
  e.time_ms = 41.5;
  return e;
}

void expect_same(const har_entry& a, const har_entry& b) {
  EXPECT_EQ(a.method, b.method);
  EXPECT_EQ(a.url, b.url);
  ASSERT_EQ(a.request_headers.size(), b.request_headers.size());
  for (std::size_t i = 0; i < a.request_headers.size(); ++i) {
    EXPECT_EQ(a.request_headers[i].name, b.request_headers[i].name);
    EXPECT_EQ(a.request_headers[i].value, b.request_headers[i].value);
  }
  EXPECT_EQ(a.request_body, b.request_body);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.status_text, b.status_text);
  ASSERT_EQ(a.response_headers.size(), b.response_headers.size());
  for (std::size_t i = 0; i < a.response_headers.size(); ++i) {
    EXPECT_EQ(a.response_headers[i].name, b.response_headers[i].name);
    EXPECT_EQ(a.response_headers[i].value, b.response_headers[i].value);
  }
  EXPECT_EQ(a.response_body, b.response_body);
  EXPECT_EQ(a.started, b.started);
  EXPECT_DOUBLE_EQ(a.time_ms, b.time_ms);
}

TEST(har, round_trip) {
  har_archive archive;
  archive.entries.push_back(sample_entry());
  har_entry binary;
  binary.method = "GET";
  binary.url = "https://api.dsp.example/v1/report.gz";
  binary.response_body = std::string("\x1f\x8b\x08\x00\xff\xfe\x00\x01", 8);  // not UTF-8
  archive.entries.push_back(binary);

  const std::string text = write_har(archive);
  auto parsed = parse_har(text, "round.har");
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_EQ(parsed->entries.size(), 2u);
  expect_same(parsed->entries[0], archive.entries[0]);
  EXPECT_EQ(parsed->entries[1].response_body, binary.response_body);
  EXPECT_EQ(parsed->entries[1].status, 200);
}

// Found by the har fuzz target: a query value that percent-decodes to bytes that are not UTF-8 (a
// binary cursor token) made write_har emit invalid JSON, so the recording could not be read back.
TEST(har, a_binary_query_value_or_header_keeps_the_file_readable) {
  har_archive archive;
  har_entry e;
  e.method = "GET";
  e.url = "https://api.dsp.example/v1/streams?cursor=%EE%FFab&limit=5";
  e.response_headers = {{"X-Odd", std::string("caf\xE9", 4)}};
  archive.entries.push_back(e);
  const std::string text = write_har(archive);
  auto parsed = parse_har(text, "binary.har");
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_EQ(parsed->entries.size(), 1u);
  EXPECT_EQ(parsed->entries[0].url, e.url);  // what replay matches on is exact
  EXPECT_EQ(parsed->entries[0].response_headers[0].value, "caf\xEF\xBF\xBD");
  const auto doc = boost::json::parse(text);
  const auto& query = doc.at_pointer("/log/entries/0/request/queryString").as_array();
  ASSERT_EQ(query.size(), 2u);
  EXPECT_EQ(query[0].at("value").as_string(), "%EE%FFab");  // kept encoded
  EXPECT_EQ(query[1].at("value").as_string(), "5");
}

// Found by the har fuzz target in CI: Boost.URL 1.81 read out of bounds iterating the query of
// `https:/?#x.example/p`; the query list is now split by hand.
TEST(har, query_strings_are_listed_from_the_url_whatever_its_shape) {
  auto list = [](const std::string& url) {
    har_archive archive;
    har_entry e;
    e.method = "GET";
    e.url = url;
    archive.entries.push_back(e);
    const auto text = write_har(archive);
    EXPECT_TRUE(parse_har(text, "q.har")) << url;
    std::vector<std::string> out;
    const auto doc = boost::json::parse(text);
    for (const auto& p : doc.at_pointer("/log/entries/0/request/queryString").as_array())
      out.push_back(std::string(p.at("name").as_string()) + "=" + std::string(p.at("value").as_string()));
    return out;
  };
  EXPECT_TRUE(list("https:/?#x.example/p").empty());
  EXPECT_TRUE(list("https://x.example/p#a?b=1").empty());  // after the fragment: not a query
  EXPECT_EQ(list("https://x.example/p?a=1&&b=%7A%zz&c#frag"),
            (std::vector<std::string>{"a=1", "b=z%zz", "c="}));
  EXPECT_EQ(list("/v1/streams?cursor=a%2Bb+c&limit=2"),
            (std::vector<std::string>{"cursor=a+b+c", "limit=2"}));
}

TEST(har, writes_required_har_1_2_fields) {
  har_archive archive;
  archive.entries.push_back(sample_entry());
  const auto doc = boost::json::parse(write_har(archive));
  const auto& log = doc.at("log");
  EXPECT_EQ(log.at("version"), "1.2");
  EXPECT_EQ(log.at("creator").at("name"), "dspsync");
  EXPECT_TRUE(log.at("creator").at("version").is_string());
  EXPECT_EQ(log.as_object().count("pages"), 0u);
  const auto& e = log.at("entries").at(0);
  EXPECT_TRUE(e.at("startedDateTime").is_string());
  EXPECT_TRUE(e.at("time").is_number());
  EXPECT_TRUE(e.at("cache").is_object());
  for (const char* t : {"send", "wait", "receive"}) EXPECT_TRUE(e.at("timings").at(t).is_number()) << t;
  const auto& rq = e.at("request");
  EXPECT_EQ(rq.at("httpVersion"), "HTTP/1.1");
  EXPECT_TRUE(rq.at("cookies").as_array().empty());
  EXPECT_EQ(rq.at("headersSize"), -1);
  EXPECT_EQ(rq.at("bodySize"), 14);
  EXPECT_EQ(rq.at("queryString").at(0).at("name"), "cursor");
  EXPECT_EQ(rq.at("queryString").at(0).at("value"), "a+b");
  EXPECT_EQ(rq.at("postData").at("mimeType"), "application/json");
  const auto& rs = e.at("response");
  EXPECT_EQ(rs.at("status"), 429);
  EXPECT_TRUE(rs.at("cookies").as_array().empty());
  EXPECT_EQ(rs.at("headersSize"), -1);
  EXPECT_TRUE(rs.at("redirectURL").is_string());
  EXPECT_TRUE(rs.at("bodySize").is_number());
  EXPECT_TRUE(rs.at("content").at("size").is_number());
  EXPECT_EQ(rs.at("content").at("mimeType"), "application/json; charset=utf-8");
}

TEST(har, decodes_base64_content_and_tolerates_missing_text) {
  const char* text = R"({"log":{"version":"1.2","creator":{"name":"mitmproxy","version":"10"},"entries":[
    {"startedDateTime":"2026-10-01T00:00:00Z","time":3,
     "request":{"method":"GET","url":"https://a.example/x","headers":[]},
     "response":{"status":200,"statusText":"OK","headers":[{"name":"Content-Type","value":"text/plain"}],
                 "content":{"size":11,"mimeType":"text/plain","text":"aGVsbG8g\r\nd29ybGQ=","encoding":"base64"}}},
    {"startedDateTime":"2026-10-01T00:00:01Z","time":1,
     "request":{"method":"GET","url":"https://a.example/y"},
     "response":{"status":204,"content":{"size":0,"mimeType":""}}}]}})";
  auto parsed = parse_har(text, "mitm.har");
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_EQ(parsed->entries.size(), 2u);
  EXPECT_EQ(parsed->entries[0].response_body, "hello world");
  EXPECT_EQ(parsed->entries[0].response_headers.at(0).value, "text/plain");
  EXPECT_EQ(parsed->entries[1].response_body, "");
  EXPECT_EQ(parsed->entries[1].status, 204);
}

TEST(har, error_names_the_field) {
  const char* text = R"({"log":{"entries":[
    {"request":{"method":"GET","url":"https://a.example/x"},"response":{"status":200}},
    {"request":{"method":"GET","url":"https://a.example/y"},"response":{"status":"200"}}]}})";
  auto parsed = parse_har(text, "bad.har");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ec::bad_har);
  EXPECT_EQ(parsed.error().message, "bad.har: log.entries[1].response.status: expected a number");

  parsed = parse_har(R"({"log":{"entries":[{"request":{"url":"/x"},"response":{"status":200}}]}})", "m.har");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().message, "m.har: log.entries[0].request.method: expected a string");

  parsed = parse_har(R"({"log":{}})", "e.har");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().message, "e.har: log.entries: expected an array");

  parsed = parse_har(
      R"({"log":{"entries":[{"request":{"method":"GET","url":"/x"},"response":{"status":200,
          "content":{"text":"!!!","encoding":"base64"}}}]}})",
      "b.har");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().message, "b.har: log.entries[0].response.content.text: invalid base64");
}

// Found by the har fuzz target: a time of 1e3333 read as infinity, which write_har then wrote as
// `Infinity`, not JSON. It is refused on reading, naming the field.
TEST(har, a_time_beyond_double_range_is_refused_naming_the_field) {
  auto parsed = parse_har(
      R"({"log":{"entries":[{"request":{"method":"GET","url":"https://x.example/a"},"response":{"status":200},)"
      R"("startedDateTime":"2026-01-01T00:00:00Z","time":1.5e3333}]}})",
      "huge.har");
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().message.find("huge.har"), std::string::npos) << parsed.error().message;
  EXPECT_NE(parsed.error().message.find("time"), std::string::npos) << parsed.error().message;
  EXPECT_NE(parsed.error().message.find("finite"), std::string::npos) << parsed.error().message;
}

TEST(har, invalid_json) {
  auto parsed = parse_har(R"({"log":{"entries":[)", "cut.har");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ec::bad_json);
  EXPECT_EQ(parsed.error().message.rfind("cut.har: ", 0), 0u) << parsed.error().message;
}

TEST(har, load_from_file) {
  har_archive archive;
  for (int i = 0; i < 50; ++i) {
    auto e = sample_entry();
    e.url += "&i=" + std::to_string(i);
    e.response_body.append(40'000, 'x');  // several read chunks in total
    archive.entries.push_back(e);
  }
  const std::string path = ::testing::TempDir() + "dspsync_test_har_load.har";
  {
    std::ofstream out(path, std::ios::binary);
    out << write_har(archive);
  }
  auto loaded = load_har(path);
  std::remove(path.c_str());
  ASSERT_TRUE(loaded) << loaded.error().message;
  ASSERT_EQ(loaded->entries.size(), 50u);
  expect_same(loaded->entries[49], archive.entries[49]);

  auto missing = load_har(path);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ec::io_failure);
  EXPECT_NE(missing.error().message.find(path), std::string::npos);
}

}  // namespace
}  // namespace dspsync
