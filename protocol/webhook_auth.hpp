#pragma once

// Authentication of webhook deliveries: HMAC-SHA256 over `TIMESTAMP "." BODY` (the raw bytes as
// received), compared in constant time, with the timestamp inside a tolerance window. Signing the
// timestamp together with the body (the Stripe / Slack scheme) makes it authentic: a captured
// delivery cannot be replayed later with a fresh timestamp. Pure: the caller passes the time.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/record.hpp"

namespace dspsync {

/// HMAC-SHA256 under one key (OpenSSL EVP_MAC).
class hmac_sha256 {
 public:
  explicit hmac_sha256(std::string key);
  /// The MAC over `a` followed by `b` and `c` (no copy of the body is made).
  record_key digest(std::string_view a, std::string_view b = {}, std::string_view c = {}) const;

 private:
  std::string key_;
};

/// A timestamp header's value: Unix seconds as 1 to 12 ASCII digits (surrounding spaces allowed).
/// Nullopt for anything else (a sign, a fraction, milliseconds beyond 12 digits, an HTTP date).
std::optional<int64_t> parse_webhook_timestamp(std::string_view text);

/// A signature header's value: 64 hex digits, optionally prefixed `sha256=` (surrounding spaces
/// allowed; hex digits of either case). Nullopt for anything else.
std::optional<record_key> parse_webhook_signature(std::string_view text);

/// True when the two MACs are equal; the time taken does not depend on where they differ.
bool same_mac(const record_key& a, const record_key& b);

/// The signature header value a sender computes: `sha256=` and the lower-case hex HMAC-SHA256 of
/// `timestamp "." body` under `secret`.
std::string sign_webhook(std::string_view secret, std::string_view timestamp, std::string_view body);

/// What checking one delivery found.
enum class webhook_verdict {
  /// Authentic and fresh.
  accepted,
  /// The timestamp header is missing or not Unix seconds.
  bad_timestamp,
  /// The signature header is missing or not 64 hex digits (with or without `sha256=`).
  bad_signature_format,
  /// The signature does not match the body and timestamp under the endpoint's secret.
  bad_signature,
  /// Authentic, but the timestamp is further than the tolerance from now (past or future).
  stale,
};

/// The verdict with a reason for the sender and the log. The reason never contains the secret,
/// the signature or the expected MAC.
struct webhook_check {
  webhook_verdict verdict = webhook_verdict::bad_signature;
  std::string reason;
  /// The signed timestamp (Unix seconds) when it parsed.
  int64_t timestamp = 0;
  /// The presented MAC when it parsed (the replay record is derived from it).
  record_key signature{};
  /// True for the verdicts that mean "not authentic": bad_timestamp, bad_signature_format,
  /// bad_signature. A stale delivery is authentic but late.
  bool forged() const { return verdict != webhook_verdict::accepted && verdict != webhook_verdict::stale; }
};

/// Names of the headers and the window, as configured for one endpoint.
struct webhook_auth_options {
  std::string signature_header = "X-Signature";
  std::string timestamp_header = "X-Timestamp";
  int64_t tolerance_s = 300;
};

/// Checks one delivery: the headers' values (nullopt when absent), the raw body, the time now (Unix
/// seconds). The signature is checked before the window, so that a forged body is always reported
/// as forged whatever its timestamp.
webhook_check check_webhook(const hmac_sha256& key, const webhook_auth_options& opts,
                            const std::optional<std::string_view>& timestamp_value,
                            const std::optional<std::string_view>& signature_value, std::string_view body,
                            int64_t now_s);

}  // namespace dspsync
