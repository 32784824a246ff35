// Webhook authentication: HMAC-SHA256 against a published test vector, the signature and timestamp
// header formats, constant-time comparison, and the verdicts of `check_webhook` (good, forged,
// malformed, stale in both directions, the window's edges), whose reasons never carry a secret or a
// MAC.

#include <gtest/gtest.h>

#include <cctype>

#include "protocol/webhook_auth.hpp"

namespace dspsync {
namespace {

const std::string secret = "whsec-0123456789abcdef";
const std::string body = R"({"data":[{"isrc":"USRC17607839","op":"update"}]})";

webhook_check check(const std::optional<std::string>& ts, const std::optional<std::string>& sig,
                    std::string_view b, int64_t now, int64_t tolerance = 300) {
  webhook_auth_options o;
  o.tolerance_s = tolerance;
  std::optional<std::string_view> tv, sv;
  if (ts) tv = *ts;
  if (sig) sv = *sig;
  return check_webhook(hmac_sha256(secret), o, tv, sv, b, now);
}

TEST(webhook_auth, hmac_sha256_matches_rfc_4231_test_case_2) {
  // Key "Jefe", data "what do ya want for nothing?" (given in parts: no copy is made).
  EXPECT_EQ(to_hex(hmac_sha256("Jefe").digest("what do ya want ", "for nothing", "?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(webhook_auth, signs_timestamp_dot_body) {
  const std::string sig = sign_webhook(secret, "1700000000", body);
  ASSERT_EQ(sig.rfind("sha256=", 0), 0u);
  EXPECT_EQ(sig.substr(7), to_hex(hmac_sha256(secret).digest("1700000000." + body)));
  EXPECT_EQ(sig.size(), 7u + 64u);
}

TEST(webhook_auth, parses_signatures_with_or_without_prefix) {
  const std::string hex = to_hex(hmac_sha256(secret).digest("x"));
  auto plain = parse_webhook_signature(hex);
  ASSERT_TRUE(plain);
  EXPECT_EQ(to_hex(*plain), hex);
  EXPECT_EQ(parse_webhook_signature("sha256=" + hex), plain);
  EXPECT_EQ(parse_webhook_signature("  sha256=" + hex + " "), plain);
  std::string upper = hex;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(parse_webhook_signature(upper), plain);
  EXPECT_FALSE(parse_webhook_signature(""));
  EXPECT_FALSE(parse_webhook_signature("sha256="));
  EXPECT_FALSE(parse_webhook_signature(hex.substr(1)));        // 63 digits
  EXPECT_FALSE(parse_webhook_signature(hex + "0"));            // 65 digits
  EXPECT_FALSE(parse_webhook_signature("sha1=" + hex));        // another scheme
  EXPECT_FALSE(parse_webhook_signature("g" + hex.substr(1)));  // not hex
  EXPECT_FALSE(parse_webhook_signature("sha256=sha256=" + hex));
}

TEST(webhook_auth, parses_unix_seconds_only) {
  EXPECT_EQ(parse_webhook_timestamp("1700000000"), 1700000000);
  EXPECT_EQ(parse_webhook_timestamp(" 1700000000 "), 1700000000);
  EXPECT_EQ(parse_webhook_timestamp("0"), 0);
  EXPECT_FALSE(parse_webhook_timestamp(""));
  EXPECT_FALSE(parse_webhook_timestamp("-1700000000"));
  EXPECT_FALSE(parse_webhook_timestamp("+1700000000"));
  EXPECT_FALSE(parse_webhook_timestamp("1700000000.5"));
  EXPECT_FALSE(parse_webhook_timestamp("1700000000000"));  // milliseconds: 13 digits
  EXPECT_FALSE(parse_webhook_timestamp("Tue, 14 Nov 2023 22:13:20 GMT"));
}

TEST(webhook_auth, same_mac_compares_every_byte) {
  const auto a = hmac_sha256(secret).digest("a");
  auto b = a;
  EXPECT_TRUE(same_mac(a, b));
  b[31] ^= 1;
  EXPECT_FALSE(same_mac(a, b));
  b = a;
  b[0] ^= 0x80;
  EXPECT_FALSE(same_mac(a, b));
}

TEST(webhook_auth, accepts_a_good_delivery) {
  const int64_t now = 1700000000;
  const std::string ts = std::to_string(now);
  auto c = check(ts, sign_webhook(secret, ts, body), body, now);
  EXPECT_EQ(c.verdict, webhook_verdict::accepted) << c.reason;
  EXPECT_FALSE(c.forged());
  EXPECT_EQ(c.timestamp, now);
  EXPECT_EQ("sha256=" + to_hex(c.signature), sign_webhook(secret, ts, body));
  // Without the prefix too.
  EXPECT_EQ(check(ts, sign_webhook(secret, ts, body).substr(7), body, now).verdict,
            webhook_verdict::accepted);
}

TEST(webhook_auth, refuses_forged_or_malformed_deliveries) {
  const int64_t now = 1700000000;
  const std::string ts = std::to_string(now);
  const std::string good = sign_webhook(secret, ts, body);

  auto tampered = check(ts, good, body + " ", now);
  EXPECT_EQ(tampered.verdict, webhook_verdict::bad_signature);
  EXPECT_TRUE(tampered.forged());

  auto other_key = check(ts, sign_webhook("another-secret-of-some-length", ts, body), body, now);
  EXPECT_EQ(other_key.verdict, webhook_verdict::bad_signature);

  // The timestamp is signed: moving it breaks the signature (it is not only "stale").
  auto moved = check(std::to_string(now + 1), good, body, now);
  EXPECT_EQ(moved.verdict, webhook_verdict::bad_signature);

  std::string flipped = good;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  EXPECT_EQ(check(ts, flipped, body, now).verdict, webhook_verdict::bad_signature);

  auto no_sig = check(ts, std::nullopt, body, now);
  EXPECT_EQ(no_sig.verdict, webhook_verdict::bad_signature_format);
  EXPECT_NE(no_sig.reason.find("X-Signature is missing"), std::string::npos) << no_sig.reason;
  EXPECT_TRUE(no_sig.forged());
  EXPECT_EQ(check(ts, "sha256=xyz", body, now).verdict, webhook_verdict::bad_signature_format);

  auto no_ts = check(std::nullopt, good, body, now);
  EXPECT_EQ(no_ts.verdict, webhook_verdict::bad_timestamp);
  EXPECT_NE(no_ts.reason.find("X-Timestamp is missing"), std::string::npos) << no_ts.reason;
  EXPECT_TRUE(no_ts.forged());
  EXPECT_EQ(check("yesterday", good, body, now).verdict, webhook_verdict::bad_timestamp);

  // No reason ever carries the secret, the presented signature or the expected MAC.
  for (const auto& c : {tampered, other_key, moved, no_sig, no_ts}) {
    EXPECT_EQ(c.reason.find(secret), std::string::npos);
    EXPECT_EQ(c.reason.find(good.substr(7)), std::string::npos);
    EXPECT_EQ(c.reason.find(to_hex(hmac_sha256(secret).digest(ts, ".", body + " "))), std::string::npos);
  }
}

TEST(webhook_auth, stale_and_future_timestamps_fall_outside_the_window) {
  const int64_t sent = 1700000000;
  const std::string ts = std::to_string(sent);
  const std::string sig = sign_webhook(secret, ts, body);
  // The window is inclusive: exactly `tolerance` either way is accepted, one second more is not.
  EXPECT_EQ(check(ts, sig, body, sent + 300).verdict, webhook_verdict::accepted);
  EXPECT_EQ(check(ts, sig, body, sent - 300).verdict, webhook_verdict::accepted);
  auto old = check(ts, sig, body, sent + 301);
  EXPECT_EQ(old.verdict, webhook_verdict::stale);
  EXPECT_FALSE(old.forged());
  EXPECT_NE(old.reason.find("301 s old"), std::string::npos) << old.reason;
  auto future = check(ts, sig, body, sent - 301);
  EXPECT_EQ(future.verdict, webhook_verdict::stale);
  EXPECT_NE(future.reason.find("in the future"), std::string::npos) << future.reason;
  EXPECT_EQ(check(ts, sig, body, sent + 3600, 3600).verdict, webhook_verdict::accepted);
  // A forged delivery with an old timestamp is reported as forged, not as stale.
  EXPECT_EQ(check(ts, sig, body + "x", sent + 10000).verdict, webhook_verdict::bad_signature);
}

}  // namespace
}  // namespace dspsync
