// Signed webhook deliveries: the input carries a secret, the timestamp and signature headers and a
// body (split at NUL bytes). For any of them: a delivery is accepted only when its signature is
// the HMAC of its own timestamp and body under the secret; the sender's own signature is always
// accepted within the tolerance; and flipping any one bit of it is always refused as forged.

#include "protocol/webhook_auth.hpp"
#include "tests/fuzz/fuzz_targets.hpp"

namespace dspsync::fuzz {

int fuzz_webhook(const uint8_t* data, std::size_t size) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const auto parts = split_input(all, 4);
  const std::string secret(parts[0]);
  const std::string_view timestamp = parts[1], signature = parts[2], body = parts[3];
  const hmac_sha256 key(secret);
  const webhook_auth_options opts;
  const int64_t now = 1'790'000'000;

  const auto verdict = check_webhook(key, opts, timestamp, signature, body, now);
  if (verdict.verdict == webhook_verdict::accepted || verdict.verdict == webhook_verdict::stale) {
    std::string_view ts = timestamp;
    while (!ts.empty() && (ts.front() == ' ' || ts.front() == '\t')) ts.remove_prefix(1);
    while (!ts.empty() && (ts.back() == ' ' || ts.back() == '\t')) ts.remove_suffix(1);
    const auto expected_sig = parse_webhook_signature(sign_webhook(secret, ts, body));
    FUZZ_CHECK("webhook", expected_sig && same_mac(*expected_sig, verdict.signature),
               "a signature that is not the HMAC of the timestamp and body was let through");
  } else {
    FUZZ_CHECK("webhook", !verdict.reason.empty(), "a refusal without a reason");
  }

  // The sender's side: a well-formed delivery signed with the secret.
  const std::string sent_ts = std::to_string(now - static_cast<int64_t>(size % 200));
  const std::string good = sign_webhook(secret, sent_ts, body);
  const auto ok = check_webhook(key, opts, sent_ts, good, body, now);
  FUZZ_CHECK("webhook", ok.verdict == webhook_verdict::accepted,
             "a correctly signed delivery was refused: " + ok.reason);
  std::string forged = good;
  const std::size_t bit = size * 7 % (64 * 4);  // one of the 256 bits of the hex digest
  const std::size_t pos = forged.size() - 64 + bit / 4;
  const char* hex = "0123456789abcdef";
  const int nib = forged[pos] >= 'a' ? forged[pos] - 'a' + 10 : forged[pos] - '0';
  forged[pos] = hex[nib ^ (1 << (bit % 4))];
  const auto bad = check_webhook(key, opts, sent_ts, forged, body, now);
  FUZZ_CHECK("webhook", bad.verdict == webhook_verdict::bad_signature && bad.forged(),
             "a signature with one bit flipped was not refused as forged");
  return 0;
}

}  // namespace dspsync::fuzz

DSPSYNC_FUZZ_ENTRY(fuzz_webhook)
