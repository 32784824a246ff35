#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "actors/console_commands.hpp"
#include "domain/expected.hpp"

namespace dspsync {

/// Where and how the operator console listens.
struct console_options {
  std::string address = "127.0.0.1";
  /// 0 picks an ephemeral port; see `console_server::port()`.
  uint16_t port = 0;
  /// The token a session must present with `auth TOKEN` first; empty: no authentication (allowed
  /// on loopback only).
  std::string token;
  /// A session that sends nothing for this long is closed.
  std::chrono::milliseconds idle_timeout{300'000};
  /// Threads that run commands, so the I/O thread never waits for an actor or a long read.
  int workers = 2;
  /// A session is closed after this many failed `auth` attempts.
  int max_auth_failures = 10;
  /// Sessions open at once; a connection beyond them is answered `ERR too many console sessions`
  /// and closed.
  int max_sessions = 16;
};

/// The operator console: a telnet-like TCP server (protocol/console_protocol.hpp) on an asio
/// thread of its own. Sessions read lines (at most 4096 bytes; longer ones are refused and
/// skipped), authenticate when a token is configured (constant-time comparison; every failure
/// answers later than the one before, on a timer), and hand each command to a worker that asks the
/// engine's actors with a timeout. Idle sessions are closed.
class console_server {
 public:
  /// Binds and starts. Refuses a non-loopback address without a token (safe by default).
  static expected<std::unique_ptr<console_server>> start(console_options opts, console_context ctx);
  ~console_server();
  console_server(const console_server&) = delete;
  console_server& operator=(const console_server&) = delete;

  /// The bound port.
  uint16_t port() const;
  /// `ADDRESS:PORT` as bound.
  std::string address() const;
  /// Closes the listener and every session, waits for running commands, joins the threads.
  /// Idempotent.
  void stop();

 private:
  struct impl;
  explicit console_server(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace dspsync
