#include "protocol/http_client.hpp"

#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>

#include <strings.h>

namespace dspsync {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

std::string_view http_response::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k.size() == name.size() && ::strncasecmp(k.data(), name.data(), name.size()) == 0) return v;
  return {};
}

network::network() : guard_(asio::make_work_guard(ioc_)), thread_([this] { ioc_.run(); }) {}

network::~network() { stop(); }

void network::stop() {
  guard_.reset();
  ioc_.stop();
  if (thread_.joinable()) thread_.join();
}

namespace {

/// Plain TCP or TLS over TCP; the exchange logic is the same for both.
template <class Stream>
class client final : public http_transport, public std::enable_shared_from_this<client<Stream>> {
 public:
  client(asio::io_context& ioc, std::string host, std::string port, std::size_t body_limit,
         std::shared_ptr<ssl::context> tls)
      : strand_(asio::make_strand(ioc)),
        resolver_(strand_),
        host_(std::move(host)),
        port_(std::move(port)),
        body_limit_(body_limit),
        tls_(std::move(tls)) {}

  void fetch(http_request req, std::function<void(http_response)> done) override {
    asio::post(strand_, [self = this->shared_from_this(), req = std::move(req),
                         done = std::move(done)]() mutable { self->start(std::move(req), std::move(done)); });
  }

  void close() override {
    asio::post(strand_, [self = this->shared_from_this()] {
      self->reset_stream();
      if (self->done_) return;  // an exchange in flight ends with a transport failure; it owns the rest
      // Idle: give back what the exchanges kept (the stream, parser, request and read buffer).
      self->x_.reset();
    });
  }

 private:
  using self_ptr = std::shared_ptr<client>;

  void start(http_request req, std::function<void(http_response)> done) {
    if (!x_) x_ = std::make_unique<exchange_state>();
    x_->req = std::move(req);
    done_ = std::move(done);
    started_ = std::chrono::steady_clock::now();
    x_->request = {};
    x_->request.method_string(x_->req.method);
    x_->request.target(x_->req.target);
    x_->request.version(11);
    x_->request.set(http::field::host, host_header());
    x_->request.set(http::field::user_agent, "dspsync/0.1");
    x_->request.set(http::field::accept, "application/json");
    for (const auto& [k, v] : x_->req.headers) x_->request.set(k, v);
    if (x_->stream && connected_)
      write();
    else
      connect();
  }

  std::string host_header() const {
    bool default_port = (is_tls() && port_ == "443") || (!is_tls() && port_ == "80");
    return default_port ? host_ : host_ + ":" + port_;
  }

  /// What one read from the socket may take: kept by the exchange state, which an idle endpoint
  /// drops.
  static constexpr std::size_t read_chunk_bytes = 64 * 1024;

  static constexpr bool is_tls() { return !std::is_same_v<Stream, beast::tcp_stream>; }

  beast::tcp_stream& lowest() { return beast::get_lowest_layer(*x_->stream); }

  void reset_stream() {
    connected_ = false;
    if (!x_) return;
    if (x_->stream) {
      beast::error_code ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
      lowest().close();
    }
    x_->stream.reset();
  }

  void connect() {
    reset_stream();
    make_stream();
    resolver_.async_resolve(host_, port_,
                            [self = this->shared_from_this()](beast::error_code ec, auto results) {
                              if (ec) return self->fail(ec, "resolve");
                              // Closed while resolving: the stream is gone.
                              if (!self->x_->stream)
                                return self->fail(asio::error::operation_aborted, "connect");
                              self->lowest().expires_after(self->x_->req.timeout);
                              self->lowest().async_connect(results, [self](beast::error_code ec2, auto) {
                                if (ec2) return self->fail(ec2, "connect");
                                self->handshake();
                              });
                            });
  }

  void make_stream() {
    if constexpr (is_tls()) {
      x_->stream.emplace(strand_, *tls_);
    } else {
      x_->stream.emplace(strand_);
    }
  }

  void handshake() {
    if constexpr (is_tls()) {
      // SNI, and verify that the certificate names this host.
      if (!SSL_set_tlsext_host_name(x_->stream->native_handle(), host_.c_str()))
        return fail(beast::error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category()),
                    "tls sni");
      x_->stream->set_verify_callback(ssl::host_name_verification(host_));
      lowest().expires_after(x_->req.timeout);
      x_->stream->async_handshake(ssl::stream_base::client,
                                  [self = this->shared_from_this()](beast::error_code ec) {
                                    if (ec) return self->fail(ec, "tls handshake");
                                    self->connected_ = true;
                                    self->write();
                                  });
    } else {
      connected_ = true;
      write();
    }
  }

  void write() {
    lowest().expires_after(x_->req.timeout);
    http::async_write(*x_->stream, x_->request,
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return self->fail(ec, "write");
                        self->read();
                      });
  }

  void read() {
    x_->parser.emplace();
    x_->parser->body_limit(body_limit_);
    x_->buffer.clear();
    // Beast reads at most the buffer's free capacity (512 bytes at least) per read_some, and the
    // parser empties the buffer after each: without room reserved, a 270 KB page took ~450 reads,
    // each with its own timer re-arm and epoll wait (measured: 455k recvmsg for 1,017 pages).
    x_->buffer.reserve(read_chunk_bytes);
    lowest().expires_after(x_->req.timeout);
    http::async_read(*x_->stream, x_->buffer, *x_->parser,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) return self->fail(ec, "read");
                       self->finish();
                     });
  }

  void finish() {
    auto msg = x_->parser->release();
    http_response res;
    res.status = static_cast<int>(msg.result_int());
    for (const auto& f : msg) res.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    res.body = std::move(msg.body());
    res.elapsed = elapsed();
    if (!msg.keep_alive()) reset_stream();
    deliver(std::move(res));
  }

  std::chrono::milliseconds elapsed() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_);
  }

  void fail(beast::error_code ec, const char* what) {
    // No transparent retry, not even for a keep-alive connection the server closed while idle: every
    // request must pass the poller's rate budget and be counted, so the poller decides (a short
    // jittered backoff) and the next fetch reconnects.
    reset_stream();
    http_response res;
    std::string reason = ec == beast::error::timeout ? "timed out" : ec.message();
    res.error = failure{ec::transport_failure, std::string(what) + " " + host_ + ":" + port_ + ": " + reason};
    res.elapsed = elapsed();
    deliver(std::move(res));
  }

  void deliver(http_response res) {
    auto done = std::move(done_);
    done_ = nullptr;
    if (done) done(std::move(res));
  }

  asio::strand<asio::io_context::executor_type> strand_;
  tcp::resolver resolver_;
  std::string host_;
  std::string port_;
  std::size_t body_limit_;
  std::shared_ptr<ssl::context> tls_;
  /// What a connection and its exchanges need; made by the first fetch and dropped by a `close`
  /// while idle, so an endpoint waiting an hour for its next poll holds none of it.
  struct exchange_state {
    std::optional<Stream> stream;
    http_request req;
    http::request<http::empty_body> request;
    std::optional<http::response_parser<http::string_body>> parser;
    beast::flat_buffer buffer;
  };
  std::unique_ptr<exchange_state> x_;
  bool connected_ = false;
  std::function<void(http_response)> done_;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace

expected<std::shared_ptr<http_transport>> make_http_client(network& net, const std::string& base_url,
                                                           const tls_options& tls, std::size_t body_limit) {
  auto parsed = boost::urls::parse_uri(base_url);
  if (!parsed)
    return failure{ec::bad_argument,
                   "base_url: expected http://host[:port] or https://host[:port], got \"" + base_url + "\""};
  std::string scheme(parsed->scheme());
  std::string host(parsed->encoded_host());
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string port(parsed->port());
  if (scheme == "http") {
    if (port.empty()) port = "80";
    return std::shared_ptr<http_transport>(
        std::make_shared<client<beast::tcp_stream>>(net.context(), host, port, body_limit, nullptr));
  }
  if (scheme == "https") {
    if (port.empty()) port = "443";
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    beast::error_code ec;
    if (tls.ca_file.empty())
      ctx->set_default_verify_paths(ec);
    else
      ctx->load_verify_file(tls.ca_file, ec);
    if (ec)
      return failure{ec::transport_failure,
                     "TLS trust store" + (tls.ca_file.empty() ? std::string() : " \"" + tls.ca_file + "\"") +
                         ": " + ec.message()};
    ctx->set_verify_mode(ssl::verify_peer);
    return std::shared_ptr<http_transport>(std::make_shared<client<beast::ssl_stream<beast::tcp_stream>>>(
        net.context(), host, port, body_limit, ctx));
  }
  return failure{ec::bad_argument, "base_url: expected scheme http or https, got \"" + scheme + "\""};
}

}  // namespace dspsync
