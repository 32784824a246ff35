#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "domain/expected.hpp"
#include "protocol/fault_plan.hpp"
#include "protocol/har.hpp"

namespace dspsync {

/// One request the replay server received.
struct replay_request_log_entry {
  /// When the request was read.
  std::chrono::system_clock::time_point at;
  std::string method;
  /// Request target as received (path and query).
  std::string target;
  /// Status code served (404 when nothing was recorded for the request; 0 for a reset).
  int status = 0;
  /// The fault applied (`to_string(fault_kind)`, or `quota` for a 429 over a plan's quota), empty
  /// when none.
  std::string fault;
};

/// Where and how the replay server listens.
struct replay_options {
  std::string address = "127.0.0.1";
  /// 0 picks an ephemeral port; see `replay_server::port()`.
  uint16_t port = 0;
  /// I/O threads.
  int threads = 1;
  /// Faults to inject and quotas to enforce (see protocol/fault_plan.hpp); none when empty.
  std::optional<fault_plan> faults;
};

/// A DSP stand-in that serves recorded HAR responses over HTTP/1.1 (keep-alive) on its own threads.
///
/// A request matches a recorded entry by method, path and query, where the query compares as a
/// multiset of decoded parameters (order does not matter) and headers are ignored; the recorded
/// origin is ignored too. A request recorded several times is answered with the recorded responses
/// in recorded order, one per request, and then with the last one for ever. Unmatched requests get
/// a 404 with `{"error":"no recorded response for GET /path?query"}`. Every recorded origin in the
/// response bodies (and `Location` headers) is rewritten to the server's own origin, so next-page
/// URLs lead back to it.
///
/// With a fault plan, a faulty answer (status, reset, truncated or malformed body, repeated page)
/// does not use up the recorded response it replaces, so the client's retry gets the real page; a
/// delayed answer is the real one, served late on a timer (the I/O thread never blocks).
class replay_server {
 public:
  /// Binds, rewrites the recordings for the bound origin and starts serving.
  static expected<std::unique_ptr<replay_server>> start(std::vector<har_archive> recordings,
                                                        replay_options opts = {});

  replay_server(const replay_server&) = delete;
  replay_server& operator=(const replay_server&) = delete;
  /// Stops the server.
  ~replay_server();

  /// The bound port.
  uint16_t port() const;
  /// `http://ADDRESS:PORT`.
  std::string origin() const;
  /// Stops accepting, closes every connection and joins the I/O threads. Idempotent.
  void stop();
  /// Every request received, in order of arrival, with the time and the status served.
  std::vector<replay_request_log_entry> request_log() const;
  /// Waits until at least `n` requests have been received, or `timeout` passes; true when they
  /// have. Lets a test act at a point of the client's progress without sleeping.
  bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const;
  /// Number of requests answered (matched or not).
  std::size_t requests_served() const;

 private:
  struct impl;
  explicit replay_server(std::unique_ptr<impl> self);
  std::unique_ptr<impl> impl_;
};

}  // namespace dspsync
