#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "domain/expected.hpp"

namespace dspsync {

/// One request to the service's HTTP port.
struct service_request {
  std::string method;
  /// Path and query as received.
  std::string target;
  std::string content_type;
  /// Every header as received (webhooks read their signature and timestamp headers).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  /// The first header of that name (case-insensitive); nullopt when absent.
  std::optional<std::string_view> header(std::string_view name) const;
};

/// The answer to it.
struct service_response {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

/// What the service's HTTP port serves. Handlers run on a worker thread of the server, never on its
/// I/O thread, so a handler that asks actors (with a timeout) does not hold up other connections.
struct service_routes {
  /// `GET /metrics`.
  std::function<service_response()> metrics;
  /// `/webhooks/{endpoint}`, with the endpoint name, for any method (the handler answers 404 for an
  /// endpoint without webhooks before 405 for a method other than POST); while unset the path
  /// answers 404.
  std::function<service_response(const std::string& endpoint, const service_request&)> webhook;
};

/// Where and how the service port listens.
struct service_options {
  std::string address = "127.0.0.1";
  /// 0 picks an ephemeral port; see `service_server::port()`.
  uint16_t port = 0;
  /// Largest request body accepted (webhooks).
  std::size_t body_limit = 1u << 20;
  /// A connection that sends nothing (or takes no answer) for this long is closed.
  std::chrono::seconds io_timeout{30};
};

/// The service's HTTP/1.1 port (Boost.Beast): `/metrics` for Prometheus and `/webhooks/{endpoint}`.
/// One I/O thread and one worker thread of its own.
class service_server {
 public:
  /// Binds and starts serving; fails with a message naming the address when it cannot listen.
  static expected<std::unique_ptr<service_server>> start(service_options opts, service_routes routes);
  ~service_server();
  service_server(const service_server&) = delete;
  service_server& operator=(const service_server&) = delete;

  /// The bound port.
  uint16_t port() const;
  /// `http://ADDRESS:PORT`.
  std::string origin() const;
  /// Stops accepting, closes every connection and joins the threads; idempotent.
  void stop();

 private:
  struct impl;
  explicit service_server(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace dspsync
