#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "actors/actors.hpp"
#include "config/config.hpp"
#include "protocol/service_server.hpp"

namespace dspsync {

/// What the webhook receiver reaches of a running engine.
struct webhook_setup {
  caf::actor_system* system = nullptr;
  /// The only LMDB writer: every delivery is committed through it (`commit_atom`).
  ledger_actor ledger;
  /// Read only: the held-updates gauge.
  std::shared_ptr<const ledger_store> store;
  std::shared_ptr<const engine_config> config;
  /// How long a delivery waits for its commit before it is answered 503 (deliver again).
  std::chrono::milliseconds commit_timeout{30'000};
};

/// The receiver behind `POST /webhooks/{endpoint}` on the service HTTP port.
///
/// Per delivery: the endpoint must have a `webhook` config (else 404) and the method must be POST
/// (else 405). The signature is checked (protocol/webhook_auth.hpp); a forged delivery is answered
/// 401, its raw body goes to quarantine (kind `page`, error `bad_signature`, source
/// `ENDPOINT/webhook`) through the ledger and an `alert` line is logged. An authentic one outside
/// the timestamp window is answered 401 and stored nowhere. An accepted one is mapped and validated
/// with the endpoint's field mapping (page_mapper, as polled pages are), committed through the
/// ledger actor under the source `ENDPOINT/webhook`, and answered only after the commit: 200 with the
/// counts, 409 for a replay of an accepted delivery, 422 for a payload that is not a records
/// document (quarantined), 503 when the ledger did not commit.
class webhook_receiver {
 public:
  /// Reads the secret of every endpoint with a `webhook` config from its environment variable.
  /// Fails naming the field when a variable is missing, empty or too short to be a key.
  static expected<std::unique_ptr<webhook_receiver>> create(webhook_setup setup);
  ~webhook_receiver();
  webhook_receiver(const webhook_receiver&) = delete;
  webhook_receiver& operator=(const webhook_receiver&) = delete;

  /// Answers one request to `/webhooks/{endpoint}`. Blocks until the ledger has answered: call it
  /// off the I/O thread (the service port's worker).
  service_response handle(const std::string& endpoint, const service_request& req);

  /// Prometheus families (text format 0.0.4): `dspsync_webhook_deliveries_total{endpoint,outcome}`
  /// since start and the gauge `dspsync_webhook_held`.
  std::string metrics() const;

  /// The source webhook deliveries of an endpoint are committed under: `ENDPOINT/webhook`.
  static std::string source_of(const std::string& endpoint);

  /// Shortest secret accepted, in bytes (an HMAC key shorter than this is guessable).
  static constexpr std::size_t min_secret_size = 16;

 private:
  struct receiver;
  webhook_receiver() = default;
  webhook_setup setup_;
  std::map<std::string, std::unique_ptr<receiver>> receivers_;
  /// The widest tolerance of all endpoints: replay records older than it can be dropped.
  int64_t max_tolerance_s_ = 0;
  std::string incarnation_;
};

}  // namespace dspsync
