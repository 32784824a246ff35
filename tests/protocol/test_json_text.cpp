#include "protocol/json_text.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <fstream>
#include <string>
#include <vector>

namespace dspsync {
namespace {

namespace json = boost::json;

std::string text_at(const json::value& doc, const char* pointer) {
  json::error_code ec;
  const json::value* v = doc.find_pointer(pointer, ec);
  if (v == nullptr) return "<missing " + std::string(pointer) + ">";
  if (!v->is_string()) return "<not a string: " + json::serialize(*v) + ">";
  return std::string(v->get_string());
}

// --- numbers stay text ------------------------------------------------------------------------------

TEST(json_text_parser, keeps_every_number_as_its_exact_text) {
  json_text_parser parser;
  const std::string doc =
      R"({"revenue": 10.276825, "small": 1e-3, "negzero": -0, "big": 12345678901234567890123,
    "trailing": 12.30, "exp": -2.5E+10, "int": 42, "neg": -7, "u64": 18446744073709551615,
    "list": [0.1, 0.2, 1.0000000000000000000001], "nested": {"x": [{"y": 3.14159265358979323846}]},
    "str": "12.30", "t": true, "n": null})";
  auto parsed = parser.parse(doc, "numbers.json");
  ASSERT_TRUE(parsed) << parsed.error().message;
  const json::value& v = **parsed;
  struct number_case {
    const char* pointer;
    const char* text;
  };
  for (const auto& c :
       {number_case{"/revenue", "10.276825"}, number_case{"/small", "1e-3"}, number_case{"/negzero", "-0"},
        number_case{"/big", "12345678901234567890123"}, number_case{"/trailing", "12.30"},
        number_case{"/exp", "-2.5E+10"}, number_case{"/int", "42"}, number_case{"/neg", "-7"},
        number_case{"/u64", "18446744073709551615"}, number_case{"/list/0", "0.1"},
        number_case{"/list/2", "1.0000000000000000000001"},
        number_case{"/nested/x/0/y", "3.14159265358979323846"}, number_case{"/str", "12.30"}}) {
    EXPECT_EQ(text_at(v, c.pointer), c.text) << c.pointer;
  }
  EXPECT_TRUE(v.at("t").is_bool());
  EXPECT_TRUE(v.at("n").is_null());
  EXPECT_EQ(v.at("list").as_array().size(), 3u);
}

TEST(json_text_parser, strings_with_escapes_are_decoded) {
  json_text_parser parser;
  auto parsed = parser.parse(R"({"k\"ey": "a\"b\\c\u00e9\n"})", "s");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(std::string((*parsed)->at("k\"ey").as_string()), "a\"b\\c\xc3\xa9\n");
}

// --- reuse ------------------------------------------------------------------------------------------

/// A page of `n` records, about 200 bytes each.
std::string big_page(int n, int seed) {
  std::string out = "{\"data\": [";
  for (int i = 0; i < n; ++i) {
    if (i) out += ",\n";
    out += "{\"isrc\": \"USRC176" + std::to_string(10'000 + (i + seed) % 90'000) +
           "\", \"units\": " + std::to_string(i * 7 + seed) + ", \"revenue\": " + std::to_string(i + seed) +
           "." + std::to_string(100'000 + i % 900'000) + ", \"title\": \"A fairly long track title number " +
           std::to_string(i) + "\", \"artists\": [\"Someone\", \"Someone Else\"], \"period\": \"2026-10\"}";
  }
  out += "], \"next_cursor\": \"seed-" + std::to_string(seed) + "\"}";
  return out;
}

// AddressSanitizer holds freed memory in quarantine, so resident size says nothing under it.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool rss_is_meaningful = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool rss_is_meaningful = false;
#else
constexpr bool rss_is_meaningful = true;
#endif
#else
constexpr bool rss_is_meaningful = true;
#endif

long resident_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

TEST(json_text_parser, one_parser_reused_over_many_large_documents) {
  json_text_parser parser;
  constexpr int records = 1'000;
  long rss_after_warmup = 0;
  for (int round = 0; round < 150; ++round) {
    const std::string doc = big_page(records, round);
    ASSERT_GT(doc.size(), 150'000u);
    auto parsed = parser.parse(doc, "page");
    ASSERT_TRUE(parsed) << "round " << round << ": " << parsed.error().message;
    const json::value& v = **parsed;
    ASSERT_EQ(v.at("data").as_array().size(), static_cast<std::size_t>(records)) << round;
    EXPECT_EQ(text_at(v, "/data/999/units"), std::to_string(999 * 7 + round)) << round;
    EXPECT_EQ(text_at(v, "/next_cursor"), "seed-" + std::to_string(round));
    // A failing document in between must not poison the next one.
    if (round % 10 == 5) {
      auto bad = parser.parse(doc.substr(0, doc.size() / 2), "truncated");
      EXPECT_FALSE(bad);
    }
    if (round == 20) rss_after_warmup = resident_kib();
  }
  const long rss_end = resident_kib();
  if (rss_is_meaningful && rss_after_warmup > 0 && rss_end > 0) {
    EXPECT_LT(rss_end - rss_after_warmup, 64 * 1024) << "memory grows with every parse";
  }
}

// --- errors -----------------------------------------------------------------------------------------

TEST(json_text_parser, error_names_source_line_and_column) {
  json_text_parser parser;
  struct error_case {
    std::string text;
    std::string expect;
  };
  const std::vector<error_case> cases = {
      {"{\n  \"a\": 1,\n  \"b\": ]\n}", "line 3 column 8"},
      {"[1, 2,,]", "line 1 column 7"},
      {"{\"a\": tru}", "line 1"},
      {"{\"a\": 1} x", "line 1"},
      {"", "line 1 column 1"},
      {"{\"a\": [1, 2", "line 1"},
  };
  for (const auto& c : cases) {
    auto r = parser.parse(c.text, "spotify GET /v1/streams");
    ASSERT_FALSE(r) << c.text;
    EXPECT_EQ(r.error().code, ec::bad_json);
    EXPECT_EQ(r.error().message.rfind("spotify GET /v1/streams", 0), 0u) << r.error().message;
    EXPECT_NE(r.error().message.find(c.expect), std::string::npos) << c.text << " -> " << r.error().message;
  }
  // And the parser still works afterwards.
  auto ok = parser.parse("[1.50]", "s");
  ASSERT_TRUE(ok);
  EXPECT_EQ(std::string((*ok)->as_array()[0].as_string()), "1.50");
}

// --- raw element spans ------------------------------------------------------------------------------

TEST(array_element_spans, returns_exact_raw_bytes_of_each_element) {
  const std::string text =
      "{\"meta\": {\"note\": \"[not, this]\", \"data\": [9]},\n"
      " \"data\" : [ {\"a\":  \"x]y\",\n   \"b\": [1, [2, 3]]} ,\t\"q\\\"]}\" ,12.50,\n [ ] ,"
      "{\"n\":null, \"s\": \"{[\\\\\"}  ,-1e-3, true,null]}";
  const auto spans = array_element_spans(text, "/data");
  const std::vector<std::string> expected = {
      "{\"a\":  \"x]y\",\n   \"b\": [1, [2, 3]]}", "\"q\\\"]}\"", "12.50", "[ ]",
      "{\"n\":null, \"s\": \"{[\\\\\"}",           "-1e-3",       "true",  "null",
  };
  ASSERT_EQ(spans.size(), expected.size());
  for (std::size_t i = 0; i < spans.size(); ++i) {
    EXPECT_EQ(std::string(spans[i]), expected[i]) << i;
    // Views into the original text, not copies.
    EXPECT_GE(spans[i].data(), text.data());
    EXPECT_LE(spans[i].data() + spans[i].size(), text.data() + text.size());
  }
}

TEST(array_element_spans, follows_nested_and_indexed_pointers) {
  struct pointer_case {
    const char* text;
    const char* pointer;
    std::vector<std::string> expected;
  };
  const std::vector<pointer_case> cases = {
      {R"({"a": {"z": [0], "b": [ 1 , "two" ]}})", "/a/b", {"1", "\"two\""}},
      {R"({"a": [[0], [ "x" , {"k": [1]} ]]})", "/a/1", {"\"x\"", "{\"k\": [1]}"}},
      {R"({"x": 1, "a/b": [true], "m~n": [false]})", "/a~1b", {"true"}},
      {R"({"x": 1, "a/b": [true], "m~n": [false]})", "/m~0n", {"false"}},
      {R"([[1, 2], [3]])", "", {"[1, 2]", "[3]"}},
      {R"({"data": []})", "/data", {}},
      {R"({"data": {"0": 1}})", "/data", {}},
      {R"({"data": "[1, 2]"})", "/data", {}},
      {R"({"items": [1]})", "/data", {}},
      {R"({"a": {"b": 1}})", "/a/b/c", {}},
      {R"({"data": [1, 2)", "/data", {}},
      {"not json", "/data", {}},
  };
  for (const auto& c : cases) {
    auto spans = array_element_spans(c.text, c.pointer);
    std::vector<std::string> got(spans.begin(), spans.end());
    EXPECT_EQ(got, c.expected) << c.text << " at \"" << c.pointer << "\"";
  }
}

TEST(array_element_spans, agrees_with_the_parser_on_a_large_page) {
  const std::string doc = big_page(500, 3);
  const auto spans = array_element_spans(doc, "/data");
  json_text_parser parser;
  auto parsed = parser.parse(doc, "page");
  ASSERT_TRUE(parsed);
  const auto& arr = (*parsed)->at("data").as_array();
  ASSERT_EQ(spans.size(), arr.size());
  json_text_parser one;
  for (std::size_t i = 0; i < spans.size(); i += 37) {
    auto element = one.parse(spans[i], "element");
    ASSERT_TRUE(element) << i << ": " << element.error().message;
    EXPECT_EQ(**element, arr[i]) << i;
  }
}

// --- several pointers in one pass ---------------------------------------------------------------------

TEST(raw_values_at, agrees_with_one_pointer_at_a_time) {
  // Escaped quotes after backslash runs of every parity, repeated keys (the last wins), escaped
  // keys, nested and indexed pointers, non-object roots and malformed text.
  const std::vector<std::string> docs = {
      R"({"data": [1, "a\\", "b\\\"]", "c\\\\\"}"], "next": "x\\\"y", "meta": {"total": 3, "t": [0]}})",
      R"({"next": 1, "data": [2], "next": "last", "meta": {"total": 1}, "meta": {"total": 9}})",
      R"({"d\u0061ta": ["esc"], "n\"ext": 5, "a/b": {"m~n": [true]}})",
      R"({"data": [{"x": "}]\"[{"}, [[], {}]], "next": null})",
      R"([{"data": [1]}, 2])",
      R"({"data": [1, 2], "next": "unterminated)",
      R"({"data": [1, 2]] "next": 1})",
      R"(  {  }  )",
      "",
  };
  const std::vector<std::string_view> pointers = {"/data", "/next",   "/meta/total", "/meta/t/0", "/n\"ext",
                                                  "",      "/a~1b",   "/a~1b/m~0n",  "/0/data",   "/missing",
                                                  "data",  "/data/1", "/meta"};
  for (const auto& doc : docs) {
    auto together = raw_values_at(doc, pointers);
    ASSERT_EQ(together.size(), pointers.size());
    for (std::size_t k = 0; k < pointers.size(); ++k) {
      auto alone = raw_value_at(doc, pointers[k]);
      EXPECT_EQ(together[k], alone) << doc << " at \"" << pointers[k] << "\"";
    }
  }
  // And they find what they should, not merely the same nothing.
  auto values = raw_values_at(docs[1], {"/data", "/next", "/meta/total"});
  EXPECT_EQ(values[0].value_or("<none>"), "[2]");
  EXPECT_EQ(values[1].value_or("<none>"), "\"last\"");
  EXPECT_EQ(values[2].value_or("<none>"), "9");
  values = raw_values_at(docs[0], {"/data", "/next"});
  EXPECT_EQ(values[0].value_or("<none>"), R"([1, "a\\", "b\\\"]", "c\\\\\"}"])");
  EXPECT_EQ(values[1].value_or("<none>"), R"("x\\\"y")");
}

TEST(array_elements, spans_of_an_array_or_nothing) {
  auto spans = array_elements(R"([ "a\\" , {"b": "]"}, [1,2] ,3 ])");
  ASSERT_TRUE(spans);
  EXPECT_EQ(std::vector<std::string>(spans->begin(), spans->end()),
            (std::vector<std::string>{R"("a\\")", R"({"b": "]"})", "[1,2]", "3"}));
  spans = array_elements("[ ]");
  ASSERT_TRUE(spans);
  EXPECT_TRUE(spans->empty());
  EXPECT_FALSE(array_elements(R"({"a": 1})"));
  EXPECT_FALSE(array_elements("[1 2]"));
  EXPECT_FALSE(array_elements("[1, \"2]"));
  EXPECT_FALSE(array_elements(""));
}

}  // namespace
}  // namespace dspsync
