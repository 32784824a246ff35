#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "domain/expected.hpp"

namespace dspsync {

/// One GET (or other) request to the client's origin.
struct http_request {
  std::string method = "GET";
  /// Path and query.
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds timeout{30'000};
};

/// What came back: a status with headers and body, or a transport failure.
struct http_response {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// Set when no complete response arrived (connect, TLS, timeout, reset, truncated body).
  std::optional<failure> error;
  std::chrono::milliseconds elapsed{0};

  /// The first header of that name (case-insensitive), or empty.
  std::string_view header(std::string_view name) const;
};

/// TLS settings for https origins.
struct tls_options {
  /// CA bundle to trust instead of the system store (for private DSP gateways and tests).
  std::string ca_file;
};

/// The asynchronous transport the pollers use. Tests substitute a simulated DSP.
class http_transport {
 public:
  virtual ~http_transport() = default;
  /// Starts one exchange; `done` runs exactly once, on a network thread, never inline.
  virtual void fetch(http_request req, std::function<void(http_response)> done) = 0;
  /// Drops the connection (the next fetch reconnects) and, when no exchange is in flight, the
  /// buffers the last one left.
  virtual void close() = 0;
};

/// Owns the asio event loop the HTTP clients run on (one thread: network I/O is not the
/// bottleneck; parsing and validation run in the validator actors).
class network {
 public:
  network();
  ~network();
  network(const network&) = delete;
  network& operator=(const network&) = delete;
  boost::asio::io_context& context() { return ioc_; }
  /// Stops the loop and joins its thread; idempotent.
  void stop();

 private:
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

/// Makes a Beast client for one origin (`http://host:port` or `https://host`): one keep-alive
/// connection, one exchange at a time, a timeout on every operation, SNI and certificate
/// verification (system store or `tls.ca_file`) for https. A response body above `body_limit`
/// bytes is a transport failure, so a hostile server cannot grow memory without bound.
expected<std::shared_ptr<http_transport>> make_http_client(network& net, const std::string& base_url,
                                                           const tls_options& tls = {},
                                                           std::size_t body_limit = 256u << 20);

}  // namespace dspsync
