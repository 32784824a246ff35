#include "protocol/webhook_auth.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <memory>
#include <stdexcept>
#include <utility>

namespace dspsync {

namespace {

struct mac_deleter {
  void operator()(EVP_MAC* m) const { EVP_MAC_free(m); }
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

hmac_sha256::hmac_sha256(std::string key) : key_(std::move(key)) {}

record_key hmac_sha256::digest(std::string_view a, std::string_view b, std::string_view c) const {
  // EVP_MAC_fetch is not free, but a delivery is one call; no context is shared between threads.
  std::unique_ptr<EVP_MAC, mac_deleter> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!mac) throw std::runtime_error("OpenSSL: HMAC is not available");
  std::unique_ptr<EVP_MAC_CTX, mac_deleter> ctx(EVP_MAC_CTX_new(mac.get()));
  if (!ctx) throw std::runtime_error("OpenSSL: cannot allocate an HMAC context");
  char digest_name[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
                         OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(key_.data()), key_.size(), params) != 1)
    throw std::runtime_error("OpenSSL: HMAC-SHA256 init failed");
  for (std::string_view part : {a, b, c})
    if (!part.empty() &&
        EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(part.data()), part.size()) != 1)
      throw std::runtime_error("OpenSSL: HMAC-SHA256 update failed");
  record_key out{};
  std::size_t len = 0;
  if (EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1 || len != out.size())
    throw std::runtime_error("OpenSSL: HMAC-SHA256 final failed");
  return out;
}

std::optional<int64_t> parse_webhook_timestamp(std::string_view text) {
  text = trim(text);
  if (text.empty() || text.size() > 12) return std::nullopt;
  int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::optional<record_key> parse_webhook_signature(std::string_view text) {
  text = trim(text);
  constexpr std::string_view prefix = "sha256=";
  if (text.substr(0, prefix.size()) == prefix) text.remove_prefix(prefix.size());
  return key_from_hex(text);
}

bool same_mac(const record_key& a, const record_key& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string sign_webhook(std::string_view secret, std::string_view timestamp, std::string_view body) {
  return "sha256=" + to_hex(hmac_sha256(std::string(secret)).digest(timestamp, ".", body));
}

webhook_check check_webhook(const hmac_sha256& key, const webhook_auth_options& opts,
                            const std::optional<std::string_view>& timestamp_value,
                            const std::optional<std::string_view>& signature_value, std::string_view body,
                            int64_t now_s) {
  webhook_check out;
  const auto ts = timestamp_value ? parse_webhook_timestamp(*timestamp_value) : std::nullopt;
  if (!ts) {
    out.verdict = webhook_verdict::bad_timestamp;
    out.reason = timestamp_value ? "header " + opts.timestamp_header + " is not Unix seconds"
                                 : "header " + opts.timestamp_header + " is missing";
    return out;
  }
  out.timestamp = *ts;
  const auto sig = signature_value ? parse_webhook_signature(*signature_value) : std::nullopt;
  if (!sig) {
    out.verdict = webhook_verdict::bad_signature_format;
    out.reason = signature_value
                     ? "header " + opts.signature_header + " is not 64 hex digits (optionally after sha256=)"
                     : "header " + opts.signature_header + " is missing";
    return out;
  }
  out.signature = *sig;
  // The timestamp is signed as it was sent (trimmed), so the sender's own text is what counts.
  const std::string_view signed_text = trim(*timestamp_value);
  if (!same_mac(key.digest(signed_text, ".", body), *sig)) {
    out.verdict = webhook_verdict::bad_signature;
    out.reason = "signature in " + opts.signature_header + " does not match the body and " +
                 opts.timestamp_header + " (HMAC-SHA256 over TIMESTAMP.BODY)";
    return out;
  }
  const int64_t skew = now_s - *ts;
  if (skew > opts.tolerance_s || -skew > opts.tolerance_s) {
    out.verdict = webhook_verdict::stale;
    out.reason = "timestamp " + std::to_string(*ts) + " is " + std::to_string(skew < 0 ? -skew : skew) +
                 " s " + (skew < 0 ? "in the future" : "old") + "; the tolerance is " +
                 std::to_string(opts.tolerance_s) + " s (check the sender's clock)";
    return out;
  }
  out.verdict = webhook_verdict::accepted;
  return out;
}

}  // namespace dspsync
