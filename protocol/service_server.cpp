#include "protocol/service_server.hpp"

#include <atomic>
#include <optional>
#include <thread>
#include <utility>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "protocol/log.hpp"

namespace dspsync {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr std::string_view webhook_prefix = "/webhooks/";

/// The routes and the worker that runs their handlers, shared by all sessions.
struct service_core {
  service_routes routes;
  service_options opts;
  net::thread_pool workers{1};
};

service_response plain(unsigned status, std::string body) {
  service_response r;
  r.status = status;
  r.body = std::move(body);
  r.body += '\n';
  return r;
}

/// Decides a request; the handler part runs on a worker.
service_response route(const service_core& core, const service_request& req) {
  std::string_view path(req.target);
  if (auto q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
  if (path == "/metrics") {
    if (req.method != "GET" && req.method != "HEAD") return plain(405, "use GET /metrics");
    if (!core.routes.metrics) return plain(404, "metrics are not served here");
    return core.routes.metrics();
  }
  if (path.substr(0, webhook_prefix.size()) == webhook_prefix) {
    std::string endpoint(path.substr(webhook_prefix.size()));
    if (!core.routes.webhook || endpoint.empty() || endpoint.find('/') != std::string::npos)
      return plain(404, "no webhook receiver for " + std::string(path));
    return core.routes.webhook(endpoint, req);
  }
  if (path == "/") return plain(200, "dspsync: GET /metrics (Prometheus), POST /webhooks/{endpoint}");
  return plain(404, "not found: " + std::string(path));
}

/// One HTTP/1.1 connection: read a request, answer it (after the worker computed it), repeat while
/// the client keeps the connection alive.
class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket&& socket, std::shared_ptr<service_core> core)
      : stream_(std::move(socket)), core_(std::move(core)) {}

  void run() {
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(&session::do_read, shared_from_this()));
  }

 private:
  void do_read() {
    parser_.emplace();
    parser_->body_limit(core_->opts.body_limit);
    stream_.expires_after(core_->opts.io_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream) return do_close();
    if (ec == http::error::body_limit) {
      keep_alive_ = false;
      return write(plain(413, "request body above " + std::to_string(core_->opts.body_limit) + " bytes"));
    }
    if (ec) return;  // timeout, reset or garbage: this connection ends, the others go on
    auto msg = parser_->release();
    keep_alive_ = msg.keep_alive();
    head_ = msg.method() == http::verb::head;
    version_ = msg.version();
    auto req = std::make_shared<service_request>();
    req->method = std::string(msg.method_string());
    req->target = std::string(msg.target());
    req->content_type = std::string(msg[http::field::content_type]);
    for (const auto& field : msg)
      req->headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    req->body = std::move(msg.body());
    // The handler may ask actors and wait for them: it runs on the worker, the answer is written
    // back on this connection's strand.
    net::post(core_->workers, [self = shared_from_this(), req] {
      service_response res;
      try {
        res = route(*self->core_, *req);
      } catch (const std::exception& e) {
        log_event(log_level::error, "http.handler_failed", {{"target", req->target}, {"reason", e.what()}});
        res = plain(500, "internal error");
      }
      net::post(self->stream_.get_executor(),
                [self, res = std::move(res)]() mutable { self->write(std::move(res)); });
    });
  }

  void write(service_response r) {
    res_ = {};
    res_.version(version_);
    res_.result(r.status);
    res_.set(http::field::server, "dspsync");
    res_.set(http::field::content_type, r.content_type);
    res_.body() = std::move(r.body);
    res_.keep_alive(keep_alive_);
    res_.prepare_payload();
    if (head_) res_.body().clear();
    stream_.expires_after(core_->opts.io_timeout);
    http::async_write(stream_, res_, beast::bind_front_handler(&session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec) return;
    if (!keep_alive_) return do_close();
    do_read();
  }

  void do_close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  std::shared_ptr<service_core> core_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  bool keep_alive_ = true;
  bool head_ = false;
  unsigned version_ = 11;
};

class listener : public std::enable_shared_from_this<listener> {
 public:
  listener(net::io_context& ioc, std::shared_ptr<service_core> core)
      : ioc_(ioc), acceptor_(net::make_strand(ioc)), core_(std::move(core)) {}

  beast::error_code listen(const tcp::endpoint& endpoint) {
    beast::error_code ec;
    if (acceptor_.open(endpoint.protocol(), ec)) return ec;
    if (acceptor_.set_option(net::socket_base::reuse_address(true), ec)) return ec;
    if (acceptor_.bind(endpoint, ec)) return ec;
    if (acceptor_.listen(net::socket_base::max_listen_connections, ec)) return ec;
    return ec;
  }

  uint16_t port() const {
    beast::error_code ec;
    return acceptor_.local_endpoint(ec).port();
  }

  void run() { do_accept(); }

 private:
  void do_accept() {
    acceptor_.async_accept(net::make_strand(ioc_),
                           beast::bind_front_handler(&listener::on_accept, shared_from_this()));
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;
    if (!ec) std::make_shared<session>(std::move(socket), core_)->run();
    do_accept();
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  std::shared_ptr<service_core> core_;
};

}  // namespace

std::optional<std::string_view> service_request::header(std::string_view name) const {
  for (const auto& [n, v] : headers)
    if (beast::iequals(n, name)) return std::string_view(v);
  return std::nullopt;
}

struct service_server::impl {
  std::shared_ptr<service_core> core;
  std::unique_ptr<net::io_context> ioc;
  std::thread thread;
  uint16_t port = 0;
  std::string origin;
  std::atomic<bool> stopped{false};
};

service_server::service_server(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

service_server::~service_server() { stop(); }

expected<std::unique_ptr<service_server>> service_server::start(service_options opts, service_routes routes) {
  beast::error_code err;
  std::string host = opts.address == "localhost" ? "127.0.0.1" : opts.address;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const auto address = net::ip::make_address(host, err);
  if (err) return failure{ec::bad_argument, "http.listen: not an IP address: \"" + opts.address + "\""};
  auto p = std::make_unique<impl>();
  p->core = std::make_shared<service_core>();
  p->core->routes = std::move(routes);
  p->core->opts = opts;
  p->ioc = std::make_unique<net::io_context>(1);
  auto l = std::make_shared<listener>(*p->ioc, p->core);
  if (auto e = l->listen(tcp::endpoint(address, opts.port)))
    return failure{ec::transport_failure, "http: cannot listen on " + opts.address + ":" +
                                              std::to_string(opts.port) + ": " + e.message()};
  p->port = l->port();
  const std::string shown = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  p->origin = "http://" + shown + ":" + std::to_string(p->port);
  l->run();
  p->thread = std::thread([ioc = p->ioc.get()] { ioc->run(); });
  return std::unique_ptr<service_server>(new service_server(std::move(p)));
}

uint16_t service_server::port() const { return impl_->port; }

std::string service_server::origin() const { return impl_->origin; }

void service_server::stop() {
  if (!impl_ || impl_->stopped.exchange(true)) return;
  // The I/O loop stops first, so nothing new reaches the worker; handlers still running finish
  // (they may be asking actors) and their answers are dropped with their connections when the loop
  // is destroyed.
  impl_->ioc->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->core->workers.join();
  impl_->ioc.reset();
}

}  // namespace dspsync
