#include "protocol/fault_plan.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>

#include "domain/timefmt.hpp"
#include "protocol/replay_server.hpp"

namespace dspsync {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// --- parsing -------------------------------------------------------------------------------------

constexpr const char* documented_example = R"({ "seed": 42,
  "faults": [
    {"at": [3, 7], "kind": "status", "status": 429, "headers": {"Retry-After": "2"}},
    {"at": [5], "kind": "status", "status": 429, "retry_after_date_s": 3},
    {"probability": 0.05, "kind": "status", "status": 503},
    {"at": [9], "kind": "delay", "delay_ms": 1500},
    {"at": [11], "kind": "reset"},
    {"at": [13], "kind": "truncate", "keep_bytes": 100},
    {"at": [15], "kind": "malformed_json"},
    {"at": [17], "kind": "repeat_previous"},
    {"probability": 0.01, "kind": "reset", "path_prefix": "/v1/spotify"}
  ] })";

TEST(fault_plan, parses_the_documented_example) {
  auto plan = parse_fault_plan(documented_example, "faults.json");
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->seed, 42u);
  ASSERT_EQ(plan->faults.size(), 9u);
  const auto& f = plan->faults;
  EXPECT_EQ(f[0].kind, fault_kind::status);
  EXPECT_EQ(f[0].at, (std::vector<uint64_t>{3, 7}));
  EXPECT_EQ(f[0].status, 429);
  ASSERT_EQ(f[0].headers.size(), 1u);
  EXPECT_EQ(f[0].headers[0], (std::pair<std::string, std::string>{"Retry-After", "2"}));
  EXPECT_EQ(f[1].retry_after_date_s, 3);
  EXPECT_EQ(f[2].probability, 0.05);
  EXPECT_TRUE(f[2].at.empty());
  EXPECT_EQ(f[3].kind, fault_kind::delay);
  EXPECT_EQ(f[3].delay, std::chrono::milliseconds(1500));
  EXPECT_EQ(f[4].kind, fault_kind::reset);
  EXPECT_EQ(f[5].kind, fault_kind::truncate);
  EXPECT_EQ(f[5].keep_bytes, 100u);
  EXPECT_EQ(f[6].kind, fault_kind::malformed_json);
  EXPECT_EQ(f[7].kind, fault_kind::repeat_previous);
  EXPECT_EQ(f[8].path_prefix, "/v1/spotify");
  EXPECT_STREQ(to_string(fault_kind::malformed_json), "malformed_json");
}

TEST(fault_plan, errors_name_the_field) {
  auto plan = parse_fault_plan(
      R"({"faults":[{"at":[1],"kind":"status","status":429},{"at":[2],"kind":"reset"},{"at":[3],"kind":"x"}]})",
      "plan.json");
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().code, ec::bad_value);
  EXPECT_EQ(plan.error().message,
            "plan.json: faults[2].kind: expected one of "
            "status|delay|reset|truncate|malformed_json|repeat_previous, got \"x\"");

  struct bad_case {
    const char* json;
    const char* message;
  };
  const bad_case cases[] = {
      {R"([])", "p: (document): expected an object"},
      {R"({})", "p: faults: expected an array"},
      {R"({"faults":[], "sed": 1})", "p: sed: unknown field"},
      {R"({"seed": -1, "faults":[]})", "p: seed: expected an integer in 0..9223372036854775807, got -1"},
      {R"({"faults":[{"kind":"reset"}]})", "p: faults[0]: expected exactly one of \"at\""},
      {R"({"faults":[{"at":[1],"probability":0.5,"kind":"reset"}]})",
       "p: faults[0]: expected exactly one of"},
      {R"({"faults":[{"probability":1.5,"kind":"reset"}]})",
       "p: faults[0].probability: expected a number in [0, 1]"},
      {R"({"faults":[{"at":[],"kind":"reset"}]})", "p: faults[0].at: expected a non-empty array"},
      {R"({"faults":[{"at":[2, 0],"kind":"reset"}]})", "p: faults[0].at[1]: expected an integer in 1.."},
      {R"({"faults":[{"at":[1]}]})", "p: faults[0].kind: required: one of status|delay"},
      {R"({"faults":[{"at":[1],"kind":"status"}]})", "p: faults[0].status: required for kind status"},
      {R"({"faults":[{"at":[1],"kind":"status","status":200}]})",
       "p: faults[0].status: expected an integer in 400..599"},
      {R"({"faults":[{"at":[1],"kind":"status","status":429,"headers":{"Retry-After":2}}]})",
       "p: faults[0].headers.Retry-After: expected a string on one line"},
      {R"({"faults":[{"at":[1],"kind":"status","status":429,"headers":{"Bad Name":"x"}}]})",
       "p: faults[0].headers.Bad Name: not a valid header name"},
      {R"({"faults":[{"at":[1],"kind":"delay"}]})", "p: faults[0].delay_ms: required for kind delay"},
      {R"({"faults":[{"at":[1],"kind":"delay","delay_ms":600001}]})",
       "p: faults[0].delay_ms: expected an integer"},
      {R"({"faults":[{"at":[1],"kind":"reset","keep_bytes":3}]})",
       "p: faults[0].keep_bytes: only allowed for kind truncate"},
      {R"({"faults":[{"at":[1],"kind":"reset","statuss":3}]})", "p: faults[0].statuss: unknown field"},
      {R"({"faults":[{"at":[1],"kind":"reset","path_prefix":"v1"}]})",
       "p: faults[0].path_prefix: expected a path starting with \"/\""},
  };
  for (const auto& c : cases) {
    auto p = parse_fault_plan(c.json, "p");
    ASSERT_FALSE(p) << c.json;
    EXPECT_EQ(p.error().message.rfind(c.message, 0), 0u) << c.json << "\n  got: " << p.error().message;
  }

  auto not_json = parse_fault_plan("{\"faults\": [", "p");
  ASSERT_FALSE(not_json);
  EXPECT_EQ(not_json.error().code, ec::bad_json);
  auto missing = load_fault_plan("/nonexistent/faults.json");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ec::io_failure);
}

TEST(fault_plan, quotas_parse_and_errors_name_the_field) {
  auto plan = parse_fault_plan(R"({"faults":[], "quotas":[
      {"path_prefix":"/v1/spotify", "requests_per_second":10, "burst":5},
      {"requests_per_second":0.5, "comment":"the whole server"}]})",
                               "q.json");
  ASSERT_TRUE(plan) << plan.error().message;
  ASSERT_EQ(plan->quotas.size(), 2u);
  EXPECT_EQ(plan->quotas[0].path_prefix, "/v1/spotify");
  EXPECT_EQ(plan->quotas[0].requests_per_second, 10.0);
  EXPECT_EQ(plan->quotas[0].burst, 5.0);
  EXPECT_EQ(plan->quotas[1].path_prefix, "");
  EXPECT_EQ(plan->quotas[1].burst, 1.0);

  const std::pair<const char*, const char*> cases[] = {
      {R"({"faults":[], "quotas":{}})", "q: quotas: expected an array"},
      {R"({"faults":[], "quotas":[3]})", "q: quotas[0]: expected an object"},
      {R"({"faults":[], "quotas":[{"burst":2}]})",
       "q: quotas[0].requests_per_second: expected a number above 0, got nothing"},
      {R"({"faults":[], "quotas":[{"requests_per_second":0}]})",
       "q: quotas[0].requests_per_second: expected a number in"},
      {R"({"faults":[], "quotas":[{"requests_per_second":"5"}]})",
       "q: quotas[0].requests_per_second: expected a number in"},
      {R"({"faults":[], "quotas":[{"requests_per_second":5, "burst":0.5}]})",
       "q: quotas[0].burst: expected a number in 1"},
      {R"({"faults":[], "quotas":[{"requests_per_second":5, "path_prefix":"v1"}]})",
       "q: quotas[0].path_prefix: expected a path starting with \"/\""},
      {R"({"faults":[], "quotas":[{"requests_per_second":5, "rate":1}]})",
       "q: quotas[0].rate: unknown field"},
  };
  for (const auto& [json, message] : cases) {
    auto p = parse_fault_plan(json, "q");
    ASSERT_FALSE(p) << json;
    EXPECT_EQ(p.error().message.rfind(message, 0), 0u) << json << "\n  got: " << p.error().message;
  }
}

TEST(fault_plan, quotas_grant_the_budget_and_answer_429_beyond_it) {
  auto plan = parse_fault_plan(R"({"faults":[], "quotas":[
      {"path_prefix":"/v1/a", "requests_per_second":2, "burst":3},
      {"path_prefix":"/v1/shared", "requests_per_second":1, "burst":1}]})",
                               "q");
  ASSERT_TRUE(plan);
  constexpr int64_t s = 1'000'000'000;
  const int64_t t0 = 5 * s;
  // The burst first, then nothing until a token accrues (0.5 s at 2/s): Retry-After rounds up to 1.
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(plan->enforce_quotas("/v1/a?page=" + std::to_string(i), t0)) << i;
  auto over = plan->enforce_quotas("/v1/a?page=3", t0);
  ASSERT_TRUE(over);
  EXPECT_EQ(over->kind, fault_kind::status);
  EXPECT_EQ(over->status, 429);
  ASSERT_EQ(over->headers.size(), 1u);
  EXPECT_EQ(over->headers[0], (std::pair<std::string, std::string>{"Retry-After", "1"}));
  EXPECT_TRUE(plan->enforce_quotas("/v1/a", t0 + s / 2 - 1));  // a refused request takes nothing
  EXPECT_FALSE(plan->enforce_quotas("/v1/a", t0 + s / 2));
  EXPECT_TRUE(plan->enforce_quotas("/v1/a", t0 + s / 2));
  // Over 10 s at the rate: exactly rate * 10 more granted.
  int granted = 0;
  for (int64_t t = t0 + s / 2; t <= t0 + s / 2 + 10 * s; t += s / 100)
    if (!plan->enforce_quotas("/v1/a", t)) ++granted;
  EXPECT_EQ(granted, 20);
  // Other paths are not covered; two endpoints under one prefix share its quota.
  EXPECT_FALSE(plan->enforce_quotas("/v1/b", t0));
  EXPECT_FALSE(plan->enforce_quotas("/v1/shared/x", t0));
  auto shared = plan->enforce_quotas("/v1/shared/y", t0);
  ASSERT_TRUE(shared);
  EXPECT_EQ(shared->headers[0].second, "1");
  // A slow quota says how many whole seconds to wait.
  auto slow = parse_fault_plan(R"({"faults":[], "quotas":[{"requests_per_second":0.25}]})", "q");
  ASSERT_TRUE(slow);
  EXPECT_FALSE(slow->enforce_quotas("/x", t0));
  auto wait = slow->enforce_quotas("/x", t0 + s);
  ASSERT_TRUE(wait);
  EXPECT_EQ(wait->headers[0].second, "3");
}

TEST(fault_plan, path_prefix_matches_on_segment_boundaries) {
  EXPECT_TRUE(under_path_prefix("/v1/spotify", "/v1/spotify"));
  EXPECT_TRUE(under_path_prefix("/v1/spotify/streams", "/v1/spotify"));
  EXPECT_TRUE(under_path_prefix("/v1/spotify?cursor=x", "/v1/spotify"));
  EXPECT_FALSE(under_path_prefix("/v1/spotifyx", "/v1/spotify"));
  EXPECT_FALSE(under_path_prefix("/v1/apple", "/v1/spotify"));
  EXPECT_TRUE(under_path_prefix("/v1/anything", "/v1/"));
}

TEST(fault_plan, ordinals_count_per_prefix_and_first_fault_wins) {
  auto plan = parse_fault_plan(R"({"faults":[
      {"at":[2], "kind":"reset", "path_prefix":"/a"},
      {"at":[2, 3], "kind":"status", "status":503}]})",
                               "p");
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_FALSE(plan->decide(1, "/b"));
  auto second = plan->decide(2, "/a");  // 1st under /a; global ordinal 2
  ASSERT_TRUE(second);
  EXPECT_EQ(second->kind, fault_kind::status);
  auto third = plan->decide(3, "/a?x=1");  // 2nd under /a: the reset comes first in the list
  ASSERT_TRUE(third);
  EXPECT_EQ(third->kind, fault_kind::reset);
  EXPECT_FALSE(plan->decide(4, "/a"));
}

/// Decisions for requests 1..n alternating between two paths: the kind index or -1.
std::vector<int> decisions(fault_plan plan, int n, bool interleave) {
  std::vector<int> out;
  uint64_t ordinal = 0;
  for (int i = 0; i < n; ++i) {
    if (interleave) plan.decide(++ordinal, "/other");
    auto f = plan.decide(++ordinal, "/v1/spotify/streams");
    out.push_back(f ? static_cast<int>(f->kind) : -1);
  }
  return out;
}

TEST(fault_plan, probabilistic_decisions_are_seeded_and_reproducible) {
  const char* text = R"({"seed": 7, "faults":[{"probability":0.3, "kind":"status", "status":503}]})";
  auto plan = parse_fault_plan(text, "p");
  ASSERT_TRUE(plan);
  const auto first = decisions(*plan, 2000, false);
  EXPECT_EQ(decisions(*plan, 2000, false), first);
  const auto fired = std::count(first.begin(), first.end(), static_cast<int>(fault_kind::status));
  EXPECT_GT(fired, 500);
  EXPECT_LT(fired, 700);

  auto reseeded =
      parse_fault_plan(R"({"seed": 8, "faults":[{"probability":0.3, "kind":"status", "status":503}]})", "p");
  ASSERT_TRUE(reseeded);
  EXPECT_NE(decisions(*reseeded, 2000, false), first);

  auto never = parse_fault_plan(R"({"faults":[{"probability":0, "kind":"reset"}]})", "p");
  auto always = parse_fault_plan(R"({"faults":[{"probability":1, "kind":"reset"}]})", "p");
  ASSERT_TRUE(never && always);
  EXPECT_EQ(decisions(*never, 100, false), std::vector<int>(100, -1));
  EXPECT_EQ(decisions(*always, 100, false), std::vector<int>(100, static_cast<int>(fault_kind::reset)));

  // With a path prefix, the draws follow that endpoint's own requests: other traffic in between
  // changes nothing.
  auto scoped = parse_fault_plan(
      R"({"seed": 3, "faults":[{"probability":0.5, "kind":"reset", "path_prefix":"/v1/spotify"}]})", "p");
  ASSERT_TRUE(scoped);
  EXPECT_EQ(decisions(*scoped, 500, true), decisions(*scoped, 500, false));
}

// --- faults seen from a client -------------------------------------------------------------------

/// A minimal synchronous HTTP/1.1 client on one keep-alive connection; errors are returned, not
/// thrown, since several faults are transport errors.
class client {
 public:
  explicit client(uint16_t port) : stream_(ioc_) {
    stream_.expires_after(std::chrono::seconds(10));
    stream_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  }

  void send(const std::string& target) {
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "127.0.0.1");
    stream_.expires_after(std::chrono::seconds(10));
    http::write(stream_, req);
  }

  /// Reads one response; on error, what arrived of it stays in `parser`.
  beast::error_code receive() {
    parser.emplace();
    parser->body_limit(1 << 20);
    beast::error_code ec;
    stream_.expires_after(std::chrono::seconds(10));
    http::read(stream_, buffer_, *parser, ec);
    return ec;
  }

  const http::response<http::string_body>& response() const { return parser->get(); }

  /// Sends and reads one request; the response, which must be complete.
  http::response<http::string_body> fetch(const std::string& target) {
    send(target);
    const auto ec = receive();
    EXPECT_FALSE(ec) << target << ": " << ec.message();
    return parser->get();
  }

  /// True when the server has sent bytes not yet read.
  bool has_pending_bytes() { return stream_.socket().available() > 0; }

  std::optional<http::response_parser<http::string_body>> parser;

 private:
  net::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

har_entry page(const std::string& query, std::string body) {
  har_entry e;
  e.method = "GET";
  e.url = "https://api.spotify.example/v1/streams?" + query;
  e.response_headers = {{"Content-Type", "application/json"}};
  e.response_body = std::move(body);
  return e;
}

const std::string page1 = R"({"data":[1,2],"next":"page=2"})";
const std::string page2 = R"({"data":[3,4],"next":"page=3"})";
const std::string page3 = R"({"data":[5]})";

std::unique_ptr<replay_server> start_with(const std::string& plan_json) {
  har_archive a;
  a.entries = {page("page=1", page1), page("page=2", page2), page("page=3", page3)};
  har_entry other;
  other.method = "GET";
  other.url = "https://api.spotify.example/v1/other";
  other.response_body = R"({"other":true})";
  a.entries.push_back(other);
  auto plan = parse_fault_plan(plan_json, "test plan");
  EXPECT_TRUE(plan) << plan.error().message;
  replay_options opts;
  if (plan) opts.faults = std::move(*plan);
  auto server = replay_server::start({a}, std::move(opts));
  EXPECT_TRUE(server) << server.error().message;
  return server ? std::move(*server) : nullptr;
}

TEST(replay_faults, status_fault_with_retry_after_keeps_the_page_for_the_retry) {
  auto server = start_with(R"({"faults":[
      {"at":[1], "kind":"status", "status":429, "headers":{"Retry-After":"2", "X-RateLimit-Remaining":"0"}},
      {"at":[3], "kind":"status", "status":429, "retry_after_date_s":3},
      {"at":[4], "kind":"status", "status":503}]})");
  ASSERT_TRUE(server);
  client c(server->port());
  auto throttled = c.fetch("/v1/streams?page=1");
  EXPECT_EQ(throttled.result_int(), 429u);
  EXPECT_EQ(throttled[http::field::retry_after], "2");
  EXPECT_EQ(throttled["X-RateLimit-Remaining"], "0");
  EXPECT_EQ(throttled[http::field::content_type], "application/json");
  EXPECT_TRUE(boost::json::parse(throttled.body()).as_object().contains("error"));
  EXPECT_EQ(c.fetch("/v1/streams?page=1").body(), page1);  // same connection, the real page

  const auto before =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  auto dated = c.fetch("/v1/streams?page=2");
  EXPECT_EQ(dated.result_int(), 429u);
  const auto at = parse_http_date(std::string(dated[http::field::retry_after]));
  ASSERT_TRUE(at) << dated[http::field::retry_after];
  EXPECT_GE(*at, before + 3);
  EXPECT_LE(*at, before + 5);
  EXPECT_EQ(c.fetch("/v1/streams?page=2").result_int(), 503u);
  EXPECT_EQ(c.fetch("/v1/streams?page=2").body(), page2);

  const auto log = server->request_log();
  ASSERT_EQ(log.size(), 5u);
  EXPECT_EQ(log[0].status, 429);
  EXPECT_EQ(log[0].fault, "status");
  EXPECT_EQ(log[1].status, 200);
  EXPECT_EQ(log[1].fault, "");
  EXPECT_EQ(log[3].status, 503);
  EXPECT_EQ(log[4].fault, "");
}

TEST(replay_faults, a_quota_answers_429_beyond_its_budget_and_wins_over_faults) {
  // A rate of one request per 1000 s: after the burst of 2, nothing more within the test.
  auto server = start_with(R"({"faults":[{"at":[3], "kind":"status", "status":503}],
      "quotas":[{"path_prefix":"/v1/streams", "requests_per_second":0.001, "burst":2}]})");
  ASSERT_TRUE(server);
  client c(server->port());
  EXPECT_EQ(c.fetch("/v1/streams?page=1").body(), page1);
  EXPECT_EQ(c.fetch("/v1/streams?page=2").body(), page2);
  auto over = c.fetch("/v1/streams?page=3");
  EXPECT_EQ(over.result_int(), 429u);
  EXPECT_EQ(over[http::field::retry_after], "1000");
  EXPECT_EQ(c.fetch("/v1/other").body(), R"({"other":true})");  // not under the quota
  const auto log = server->request_log();
  ASSERT_EQ(log.size(), 4u);
  EXPECT_EQ(log[2].status, 429);
  EXPECT_EQ(log[2].fault, "quota");
  EXPECT_EQ(log[3].fault, "");
}

TEST(replay_faults, delay_serves_late_without_blocking_other_connections) {
  auto server = start_with(R"({"faults":[{"at":[1], "kind":"delay", "delay_ms":1000}]})");
  ASSERT_TRUE(server);
  client slow(server->port());
  client fast(server->port());
  const auto sent = std::chrono::steady_clock::now();
  slow.send("/v1/streams?page=1");
  // Wait until the server has logged the delayed request, so that the fast one is the second.
  const auto deadline = sent + std::chrono::seconds(10);
  while (server->requests_served() < 1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  ASSERT_EQ(server->requests_served(), 1u);
  // One I/O thread: the other connection is answered while the first waits on its timer.
  EXPECT_EQ(fast.fetch("/v1/other").body(), R"({"other":true})");
  EXPECT_FALSE(slow.has_pending_bytes());
  ASSERT_FALSE(slow.receive());
  EXPECT_GE(std::chrono::steady_clock::now() - sent, std::chrono::milliseconds(1000));
  EXPECT_EQ(slow.response().body(), page1);
  EXPECT_EQ(slow.fetch("/v1/streams?page=1").body(), page1);  // a delayed answer is the real one: used up
  EXPECT_EQ(slow.fetch("/v1/streams?page=2").body(), page2);

  const auto log = server->request_log();
  ASSERT_EQ(log.size(), 4u);
  EXPECT_EQ(log[0].fault, "delay");
  EXPECT_EQ(log[0].status, 200);
  EXPECT_LE(log[0].at, log[1].at);  // logged when received, not when served
}

TEST(replay_faults, reset_closes_without_response) {
  auto server = start_with(R"({"faults":[{"at":[1], "kind":"reset"}]})");
  ASSERT_TRUE(server);
  {
    client c(server->port());
    c.send("/v1/streams?page=1");
    EXPECT_EQ(c.receive(), net::error::connection_reset);
  }
  client again(server->port());
  EXPECT_EQ(again.fetch("/v1/streams?page=1").body(), page1);
  const auto log = server->request_log();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].status, 0);
  EXPECT_EQ(log[0].fault, "reset");
}

TEST(replay_faults, truncate_declares_the_full_length_and_sends_less) {
  auto server = start_with(R"({"faults":[
      {"at":[1], "kind":"truncate", "keep_bytes":5},
      {"at":[2], "kind":"truncate"},
      {"at":[3], "kind":"truncate", "keep_bytes":100000}]})");
  ASSERT_TRUE(server);
  for (std::size_t kept : {std::size_t{5}, page1.size() / 2, page1.size()}) {
    client c(server->port());
    c.send("/v1/streams?page=1");
    EXPECT_EQ(c.receive(), http::error::partial_message) << kept;
    EXPECT_EQ(c.response().result_int(), 200u);
    EXPECT_EQ(c.response().body(), page1.substr(0, kept));
    EXPECT_EQ(c.parser->content_length_remaining().value_or(0), std::max(page1.size(), kept + 1) - kept);
  }
  client again(server->port());
  EXPECT_EQ(again.fetch("/v1/streams?page=1").body(), page1);
  EXPECT_EQ(server->request_log()[0].fault, "truncate");
}

TEST(replay_faults, malformed_json_is_a_200_that_does_not_parse) {
  auto server = start_with(R"({"faults":[{"at":[1], "kind":"malformed_json"}]})");
  ASSERT_TRUE(server);
  client c(server->port());
  auto bad = c.fetch("/v1/streams?page=1");
  EXPECT_EQ(bad.result_int(), 200u);
  EXPECT_EQ(bad.body(), page1.substr(0, page1.size() / 2) + "}}garbage");
  boost::system::error_code ec;
  boost::json::parse(bad.body(), ec);
  EXPECT_TRUE(ec);
  EXPECT_EQ(c.fetch("/v1/streams?page=1").body(), page1);
  EXPECT_EQ(server->request_log()[0].fault, "malformed_json");
}

TEST(replay_faults, repeat_previous_serves_the_previous_page_again) {
  auto server = start_with(R"({"faults":[{"at":[1, 3], "kind":"repeat_previous"}]})");
  ASSERT_TRUE(server);
  client c(server->port());
  EXPECT_EQ(c.fetch("/v1/streams?page=1").body(), page1);  // nothing to repeat yet
  EXPECT_EQ(c.fetch("/v1/streams?page=2").body(), page2);
  EXPECT_EQ(c.fetch("/v1/streams?page=3").body(), page2);  // the duplicate page
  EXPECT_EQ(c.fetch("/v1/streams?page=3").body(), page3);
  const auto log = server->request_log();
  ASSERT_EQ(log.size(), 4u);
  EXPECT_EQ(log[0].fault, "");
  EXPECT_EQ(log[2].fault, "repeat_previous");
  EXPECT_EQ(log[2].status, 200);
}

TEST(replay_faults, probabilistic_faults_are_the_same_on_every_run) {
  const std::string plan = R"({"seed": 11, "faults":[{"probability":0.4, "kind":"status", "status":503}]})";
  std::vector<int> runs[2];
  for (auto& statuses : runs) {
    auto server = start_with(plan);
    ASSERT_TRUE(server);
    client c(server->port());
    for (int i = 0; i < 40; ++i) statuses.push_back(static_cast<int>(c.fetch("/v1/other").result_int()));
  }
  EXPECT_EQ(runs[0], runs[1]);
  EXPECT_GT(std::count(runs[0].begin(), runs[0].end(), 503), 5);
  EXPECT_GT(std::count(runs[0].begin(), runs[0].end(), 200), 5);
}

}  // namespace
}  // namespace dspsync
