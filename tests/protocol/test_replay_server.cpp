#include "protocol/replay_server.hpp"

#include <gtest/gtest.h>

#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>

namespace dspsync {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

/// A minimal synchronous HTTP/1.1 client on one keep-alive connection.
class client {
 public:
  explicit client(uint16_t port) : stream_(ioc_) {
    stream_.expires_after(std::chrono::seconds(10));
    stream_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  }

  http::response<http::string_body> fetch(const std::string& target, http::verb method = http::verb::get,
                                          bool keep_alive = true) {
    http::request<http::empty_body> req{method, target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.keep_alive(keep_alive);
    stream_.expires_after(std::chrono::seconds(10));
    http::write(stream_, req);
    http::response<http::string_body> res;
    http::read(stream_, buffer_, res);
    return res;
  }

  /// True once the server has closed (or reset) the connection.
  bool closed_by_server() {
    beast::error_code ec;
    char byte;
    stream_.socket().read_some(net::buffer(&byte, 1), ec);
    return ec == net::error::eof || ec == net::error::connection_reset;
  }

 private:
  net::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

std::string text_at(const std::string& json_text, const char* key) {
  return std::string(boost::json::parse(json_text).at(key).as_string());
}

har_entry entry(std::string url, std::string body, int status = 200) {
  har_entry e;
  e.method = "GET";
  e.url = std::move(url);
  e.status = status;
  e.response_headers = {{"Content-Type", "application/json"},
                        {"Content-Length", "999999"},  // stale framing must not be replayed
                        {"Content-Encoding", "gzip"},  // HAR bodies are already decoded
                        {"X-Request-Id", "r-1"}};
  e.response_body = std::move(body);
  return e;
}

har_archive spotify_recording() {
  har_archive a;
  a.entries.push_back(
      entry("https://api.spotify.example/v1/streams?limit=2&cursor=a%2Bb",
            R"({"data":[1,2],"next":"https://api.spotify.example/v1/streams?cursor=c2&limit=2",)"
            R"("escaped":"https:\/\/api.spotify.example\/v1","other":"https://api.spotify.example.org/x"})"));
  a.entries.push_back(entry("https://api.spotify.example/v1/page?n=1", R"({"copy":"first"})"));
  a.entries.push_back(entry("https://api.spotify.example/v1/other", R"({"copy":"interleaved"})"));
  a.entries.push_back(entry("https://api.spotify.example/v1/page?n=1", R"({"copy":"second"})"));
  auto throttled = entry("https://api.spotify.example/v1/throttled", R"({"error":"slow down"})", 429);
  throttled.response_headers.push_back({"Retry-After", "7"});
  a.entries.push_back(throttled);
  return a;
}

std::unique_ptr<replay_server> start_server(std::vector<har_archive> recordings, int threads = 1) {
  replay_options opts;
  opts.threads = threads;
  auto server = replay_server::start(std::move(recordings), opts);
  EXPECT_TRUE(server) << server.error().message;
  return server ? std::move(*server) : nullptr;
}

TEST(replay_server, binds_ephemeral_loopback_port) {
  auto server = start_server({spotify_recording()});
  ASSERT_TRUE(server);
  EXPECT_NE(server->port(), 0);
  EXPECT_EQ(server->origin(), "http://127.0.0.1:" + std::to_string(server->port()));
}

TEST(replay_server, matches_query_in_any_order_and_rewrites_origin) {
  auto server = start_server({spotify_recording()});
  ASSERT_TRUE(server);
  client c(server->port());
  auto res = c.fetch("/v1/streams?cursor=a%2Bb&limit=2");
  ASSERT_EQ(res.result_int(), 200u);
  EXPECT_EQ(res[http::field::content_type], "application/json");
  EXPECT_EQ(res["X-Request-Id"], "r-1");
  EXPECT_EQ(res[http::field::content_encoding], "");
  EXPECT_EQ(res[http::field::content_length], std::to_string(res.body().size()));

  EXPECT_EQ(text_at(res.body(), "next"), server->origin() + "/v1/streams?cursor=c2&limit=2");
  EXPECT_EQ(text_at(res.body(), "escaped"), server->origin() + "/v1");
  EXPECT_EQ(text_at(res.body(), "other"),
            "https://api.spotify.example.org/x");  // another host stays as recorded

  // A cursor that differs only in encoding of '+' is a different request.
  EXPECT_EQ(c.fetch("/v1/streams?limit=2&cursor=a+b").result_int(), 404u);
}

TEST(replay_server, repeated_requests_served_in_recorded_order_then_last) {
  auto server = start_server({spotify_recording()});
  ASSERT_TRUE(server);
  client c(server->port());
  EXPECT_EQ(c.fetch("/v1/page?n=1").body(), R"({"copy":"first"})");
  EXPECT_EQ(c.fetch("/v1/page?n=1").body(), R"({"copy":"second"})");
  EXPECT_EQ(c.fetch("/v1/page?n=1").body(), R"({"copy":"second"})");
  EXPECT_EQ(c.fetch("/v1/other").body(), R"({"copy":"interleaved"})");
}

TEST(replay_server, recorded_status_and_headers) {
  auto server = start_server({spotify_recording()});
  ASSERT_TRUE(server);
  client c(server->port());
  auto res = c.fetch("/v1/throttled");
  EXPECT_EQ(res.result_int(), 429u);
  EXPECT_EQ(res[http::field::retry_after], "7");
}

TEST(replay_server, unknown_request_gets_404_json) {
  auto server = start_server({spotify_recording()});
  ASSERT_TRUE(server);
  client c(server->port());
  auto res = c.fetch("/v1/nothing?x=1");
  EXPECT_EQ(res.result_int(), 404u);
  EXPECT_EQ(text_at(res.body(), "error"), "no recorded response for GET /v1/nothing?x=1");
  EXPECT_EQ(c.fetch("/v1/page?n=1", http::verb::post).result_int(), 404u);  // method is part of the match
}

TEST(replay_server, keep_alive_and_close) {
  auto server = start_server({spotify_recording()});
  ASSERT_TRUE(server);
  client c(server->port());
  auto first = c.fetch("/v1/other");
  EXPECT_TRUE(first.keep_alive());
  auto second = c.fetch("/v1/page?n=1");  // same connection
  EXPECT_EQ(second.result_int(), 200u);
  auto last = c.fetch("/v1/other", http::verb::get, false);
  EXPECT_FALSE(last.keep_alive());
  EXPECT_TRUE(c.closed_by_server());
}

TEST(replay_server, request_log_in_order) {
  auto server = start_server({spotify_recording()});
  ASSERT_TRUE(server);
  const auto before = std::chrono::system_clock::now();
  client c(server->port());
  c.fetch("/v1/page?n=1");
  c.fetch("/v1/missing");
  c.fetch("/v1/throttled");
  EXPECT_EQ(server->requests_served(), 3u);
  const auto log = server->request_log();
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0].method, "GET");
  EXPECT_EQ(log[0].target, "/v1/page?n=1");
  EXPECT_EQ(log[0].status, 200);
  EXPECT_EQ(log[1].target, "/v1/missing");
  EXPECT_EQ(log[1].status, 404);
  EXPECT_EQ(log[2].status, 429);
  EXPECT_GE(log[0].at, before);
  EXPECT_LE(log[0].at, log[1].at);
  EXPECT_LE(log[1].at, log[2].at);
}

TEST(replay_server, several_recordings_and_threads) {
  har_archive apple;
  apple.entries.push_back(entry("https://music.apple.example/v2/sales?page=1", R"({"n":1})"));
  auto server = start_server({spotify_recording(), apple}, 2);
  ASSERT_TRUE(server);
  constexpr int clients = 4;
  constexpr int per_client = 25;
  std::vector<std::thread> threads;
  std::vector<int> ok(clients, 0);
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&, t] {
      client c(server->port());
      for (int i = 0; i < per_client; ++i) {
        if (c.fetch(i % 2 == 0 ? "/v2/sales?page=1" : "/v1/other").result_int() == 200) ++ok[t];
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int t = 0; t < clients; ++t) EXPECT_EQ(ok[t], per_client);
  EXPECT_EQ(server->requests_served(), static_cast<std::size_t>(clients * per_client));
}

TEST(replay_server, stop_is_idempotent_and_closes_the_port) {
  auto server = start_server({spotify_recording()});
  ASSERT_TRUE(server);
  const auto port = server->port();
  {
    client c(port);
    EXPECT_EQ(c.fetch("/v1/other").result_int(), 200u);
    server->stop();
    EXPECT_TRUE(c.closed_by_server());
  }
  server->stop();
  net::io_context ioc;
  tcp::socket s(ioc);
  beast::error_code ec;
  s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  EXPECT_TRUE(ec) << "port still accepting after stop";
}

TEST(replay_server, rejects_bad_address) {
  replay_options opts;
  opts.address = "not-an-address";
  auto server = replay_server::start({}, opts);
  ASSERT_FALSE(server);
  EXPECT_EQ(server.error().code, ec::bad_argument);
}

}  // namespace
}  // namespace dspsync
