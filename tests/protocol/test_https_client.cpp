// HTTPS through the pollers' Beast client, against a TLS server on 127.0.0.1 with a certificate made
// by the test: SNI names the host, the certificate is verified against the configured CA file (and
// refused against the system store, which does not know it), and a certificate issued for another
// host name is refused even when it is trusted.

#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl.hpp>

#include "protocol/fault_plan.hpp"
#include "protocol/http_client.hpp"
#include "protocol/replay_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace dspsync::test {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

struct test_certificate {
  std::string cert_pem;
  std::string key_pem;
};

std::string pem_of(const std::function<int(BIO*)>& write) {
  BIO* bio = BIO_new(BIO_s_mem());
  EXPECT_EQ(write(bio), 1);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

/// A self-signed P-256 certificate for `dns_name`, valid from a minute ago for an hour.
test_certificate make_certificate(const std::string& dns_name) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(dns_name.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, "DNS:" + dns_name},
                            std::pair{NID_basic_constraints, std::string("critical,CA:TRUE")},
                            std::pair{NID_key_usage, std::string("critical,digitalSignature,keyCertSign")}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    EXPECT_NE(ext, nullptr) << value;
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  EXPECT_GT(X509_sign(x, key, EVP_sha256()), 0);
  test_certificate out;
  out.cert_pem = pem_of([&](BIO* b) { return PEM_write_bio_X509(b, x); });
  out.key_pem =
      pem_of([&](BIO* b) { return PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr); });
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

/// A TLS server on 127.0.0.1 (ephemeral port): answers each request with a small JSON body and
/// records the SNI name of every handshake and how many handshakes failed.
class tls_server {
 public:
  explicit tls_server(const test_certificate& cert)
      : ctx_(ssl::context::tls_server),
        acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    ctx_.use_certificate_chain(asio::buffer(cert.cert_pem));
    ctx_.use_private_key(asio::buffer(cert.key_pem), ssl::context::pem);
    SSL_CTX_set_tlsext_servername_callback(ctx_.native_handle(), &tls_server::on_sni);
    SSL_CTX_set_tlsext_servername_arg(ctx_.native_handle(), this);
    thread_ = std::thread([this] { serve(); });
  }

  ~tls_server() {
    stopping_ = true;
    // Wake the blocking accept with one last connection.
    asio::io_context wake;
    tcp::socket s(wake);
    beast::error_code ec;
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port()), ec);
    thread_.join();
  }

  uint16_t port() const { return acceptor_.local_endpoint().port(); }

  std::vector<std::string> sni_names() {
    std::lock_guard<std::mutex> lock(mu_);
    return sni_;
  }
  int failed_handshakes() const { return failed_handshakes_; }
  int requests() const { return requests_; }

 private:
  static int on_sni(SSL* ssl, int*, void* arg) {
    auto* self = static_cast<tls_server*>(arg);
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    std::lock_guard<std::mutex> lock(self->mu_);
    self->sni_.push_back(name ? name : "");
    return SSL_TLSEXT_ERR_OK;
  }

  void serve() {
    for (;;) {
      tcp::socket socket(ioc_);
      beast::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stopping_) return;
      beast::ssl_stream<tcp::socket> stream(std::move(socket), ctx_);
      stream.handshake(ssl::stream_base::server, ec);
      if (ec) {
        ++failed_handshakes_;
        continue;
      }
      beast::flat_buffer buffer;
      http::request<http::string_body> req;
      http::read(stream, buffer, req, ec);
      if (ec) continue;
      ++requests_;
      http::response<http::string_body> res{http::status::ok, 11};
      res.set(http::field::content_type, "application/json");
      res.body() = R"({"data":[],"target":")" + std::string(req.target()) + "\"}";
      res.keep_alive(false);
      res.prepare_payload();
      http::write(stream, res, ec);
      stream.shutdown(ec);
    }
  }

  asio::io_context ioc_;
  ssl::context ctx_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> failed_handshakes_{0};
  std::atomic<int> requests_{0};
  std::mutex mu_;
  std::vector<std::string> sni_;
};

/// One GET through the dspsync client; the answer within 20 s (a deadline, not a sleep).
http_response get(const std::string& origin, const tls_options& tls) {
  network net;
  auto client = make_http_client(net, origin, tls);
  EXPECT_TRUE(client) << client.error().message;
  if (!client) return {};
  std::promise<http_response> answer;
  auto result = answer.get_future();
  http_request req;
  req.target = "/v1/streams?limit=10";
  req.timeout = 10s;
  (*client)->fetch(req, [&answer](http_response r) { answer.set_value(std::move(r)); });
  EXPECT_EQ(result.wait_for(20s), std::future_status::ready);
  auto r = result.get();
  (*client)->close();
  net.stop();
  return r;
}

std::string write_file(const temp_dir& dir, const std::string& name, const std::string& text) {
  std::ofstream(dir.sub(name)) << text;
  return dir.sub(name);
}

TEST(https_client, verifies_against_the_configured_ca_and_sends_sni) {
  temp_dir dir;
  const auto cert = make_certificate("localhost");
  tls_server server(cert);
  tls_options tls;
  tls.ca_file = write_file(dir, "ca.pem", cert.cert_pem);
  auto r = get("https://localhost:" + std::to_string(server.port()), tls);
  ASSERT_FALSE(r.error) << r.error->message;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"data":[],"target":"/v1/streams?limit=10"})");
  auto names = server.sni_names();
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names.front(), "localhost");
  EXPECT_EQ(server.requests(), 1);
}

TEST(https_client, a_certificate_the_system_store_does_not_trust_is_refused) {
  const auto cert = make_certificate("localhost");
  tls_server server(cert);
  auto r = get("https://localhost:" + std::to_string(server.port()), tls_options{});
  ASSERT_TRUE(r.error) << "status " << r.status;
  EXPECT_NE(r.error->message.find("tls"), std::string::npos) << r.error->message;
  EXPECT_EQ(server.requests(), 0);  // no request ever left the client
}

TEST(https_client, a_trusted_certificate_for_another_host_name_is_refused) {
  temp_dir dir;
  const auto cert = make_certificate("dsp.example");
  tls_server server(cert);
  tls_options tls;
  tls.ca_file = write_file(dir, "ca.pem", cert.cert_pem);
  auto r = get("https://localhost:" + std::to_string(server.port()), tls);
  ASSERT_TRUE(r.error) << "status " << r.status;
  EXPECT_EQ(server.requests(), 0);
}

TEST(https_client, a_missing_ca_file_is_refused_when_the_client_is_made) {
  network net;
  tls_options tls;
  tls.ca_file = "/nonexistent/ca.pem";
  auto client = make_http_client(net, "https://localhost:1", tls);
  ASSERT_FALSE(client);
  EXPECT_NE(client.error().message.find("/nonexistent/ca.pem"), std::string::npos) << client.error().message;
  net.stop();
}

/// Fetches `target` through `client`; the answer within 20 s (a deadline, not a sleep).
http_response fetch_now(http_transport& client, const std::string& target,
                        const std::function<void()>& while_in_flight = {}) {
  std::promise<http_response> answer;
  auto result = answer.get_future();
  http_request req;
  req.target = target;
  req.timeout = 10s;
  client.fetch(req, [&answer](http_response r) { answer.set_value(std::move(r)); });
  if (while_in_flight) while_in_flight();
  EXPECT_EQ(result.wait_for(20s), std::future_status::ready);
  return result.get();
}

TEST(http_client, closed_while_idle_it_reconnects_and_closed_mid_exchange_it_fails_that_exchange) {
  har_archive a;
  for (const char* q : {"a", "b", "c"}) {
    har_entry e;
    e.method = "GET";
    e.url = std::string("http://dsp.example/v1/p?page=") + q;
    e.response_body = std::string(R"({"page":")") + q + "\"}";
    a.entries.push_back(e);
  }
  auto plan = parse_fault_plan(R"({"faults": [{"at": [2], "kind": "delay", "delay_ms": 2000}]})", "plan");
  ASSERT_TRUE(plan);
  replay_options opts;
  opts.faults = std::move(*plan);
  auto server = replay_server::start({a}, std::move(opts));
  ASSERT_TRUE(server) << server.error().message;
  network net;
  auto client = make_http_client(net, (*server)->origin());
  ASSERT_TRUE(client) << client.error().message;
  auto first = fetch_now(**client, "/v1/p?page=a");
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.body, R"({"page":"a"})");
  // The second request is held 2 s by the server; closing meanwhile fails that exchange only.
  auto cut = fetch_now(**client, "/v1/p?page=b", [&] {
    ASSERT_TRUE((*server)->wait_for_requests(2, 20s));
    (*client)->close();
  });
  ASSERT_TRUE(cut.error);
  EXPECT_EQ(cut.error->code, ec::transport_failure);
  // Closed while idle (buffers given back), the next fetch connects again.
  (*client)->close();
  auto again = fetch_now(**client, "/v1/p?page=c");
  EXPECT_FALSE(again.error) << again.error->message;
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body, R"({"page":"c"})");
  net.stop();
}

TEST(http_client, bodies_larger_than_a_read_arrive_whole_one_after_another_on_one_connection) {
  // Bodies of several socket reads each (the client reads up to 64 KiB at a time), with content
  // that differs all along, so a byte lost, repeated or reordered between reads shows.
  auto body_of = [](std::size_t size, uint32_t seed) {
    std::string body = "{\"data\":\"";
    uint32_t x = seed;
    while (body.size() + 2 < size) {
      x = x * 1664525u + 1013904223u;
      body += static_cast<char>('a' + (x >> 24) % 26);
    }
    return body + "\"}";
  };
  har_archive a;
  const std::vector<std::pair<std::string, std::string>> pages = {
      {"a", body_of(300'000, 1)}, {"b", body_of(1'000'003, 2)}, {"c", body_of(70'000, 3)}};
  for (const auto& [q, body] : pages) {
    har_entry e;
    e.method = "GET";
    e.url = "http://dsp.example/v1/p?page=" + q;
    e.response_body = body;
    a.entries.push_back(e);
  }
  auto server = replay_server::start({a});
  ASSERT_TRUE(server) << server.error().message;
  network net;
  auto client = make_http_client(net, (*server)->origin());
  ASSERT_TRUE(client) << client.error().message;
  for (const auto& [q, body] : pages) {
    auto got = fetch_now(**client, "/v1/p?page=" + q);
    ASSERT_FALSE(got.error) << got.error->message;
    EXPECT_EQ(got.status, 200);
    EXPECT_EQ(got.body.size(), body.size()) << "page " << q;
    EXPECT_TRUE(got.body == body) << "page " << q << " differs from what was served";
  }
  // A body above the client's limit fails that exchange and names the read.
  auto small = make_http_client(net, (*server)->origin(), tls_options{}, 100'000);
  ASSERT_TRUE(small) << small.error().message;
  auto refused = fetch_now(**small, "/v1/p?page=a");
  ASSERT_TRUE(refused.error);
  EXPECT_EQ(refused.error->code, ec::transport_failure);
  EXPECT_NE(refused.error->message.find("read"), std::string::npos) << refused.error->message;
  net.stop();
}

}  // namespace
}  // namespace dspsync::test
