// An endpoint's `webhook` object: defaults, every field read, errors that name the field, the
// secret never inline, the service port required, the plan's lines, and the shipped example.

#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "config/config.hpp"

namespace dspsync {
namespace {

std::string config(const std::string& webhook, const std::string& http = R"("http": {"port": 9464},)") {
  return "{" + http + R"( "endpoints": [{"name": "deezer", "base_url": "https://api.deezer.example",
             "pagination": {"records_pointer": "/rows"}, "webhook": )" +
         webhook + "}]}";
}

std::vector<std::string> errors_of(const std::string& text) {
  auto cfg = parse_config(text, "test.json");
  EXPECT_FALSE(cfg) << "config unexpectedly valid: " << text;
  if (cfg) return {};
  std::vector<std::string> lines;
  std::istringstream in(cfg.error().message);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(webhook_config, defaults_and_every_field) {
  auto cfg = parse_config(config(R"({"secret_env": "DEEZER_WEBHOOK_SECRET"})"), "test.json");
  ASSERT_TRUE(cfg) << cfg.error().message;
  const auto& w = cfg->endpoints[0].webhook;
  EXPECT_TRUE(w.enabled);
  EXPECT_EQ(w.secret_env, "DEEZER_WEBHOOK_SECRET");
  EXPECT_EQ(w.signature_header, "X-Signature");
  EXPECT_EQ(w.timestamp_header, "X-Timestamp");
  EXPECT_EQ(w.tolerance.count(), 300);
  EXPECT_EQ(w.records_pointer, "/rows") << "defaults to the endpoint's records pointer";
  EXPECT_EQ(w.update_pointer, "/op");
  EXPECT_EQ(w.update_value, "update");

  auto full = parse_config(
      config(
          R"({"secret_env": "S", "signature_header": "X-Hub-Signature-256", "timestamp_header": "X-Sent-At",
                 "tolerance_s": 60, "records_pointer": "", "update_pointer": "/event/type",
                 "update_value": "changed"})"),
      "test.json");
  ASSERT_TRUE(full) << full.error().message;
  const auto& f = full->endpoints[0].webhook;
  EXPECT_EQ(f.signature_header, "X-Hub-Signature-256");
  EXPECT_EQ(f.timestamp_header, "X-Sent-At");
  EXPECT_EQ(f.tolerance.count(), 60);
  EXPECT_EQ(f.records_pointer, "");
  EXPECT_EQ(f.update_pointer, "/event/type");
  EXPECT_EQ(f.update_value, "changed");

  auto none = parse_config(R"({"endpoints": [{"name": "a", "base_url": "https://a.example"}]})", "test.json");
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_FALSE(none->endpoints[0].webhook.enabled);
  EXPECT_EQ(describe_plan(*none).find("webhook"), std::string::npos);
  const std::string plan = describe_plan(*cfg);
  EXPECT_NE(plan.find("POST /webhooks/deezer"), std::string::npos) << plan;
  EXPECT_NE(plan.find("$DEEZER_WEBHOOK_SECRET"), std::string::npos) << plan;
}

TEST(webhook_config, errors_name_the_field) {
  EXPECT_EQ(
      errors_of(config("{}")),
      std::vector<std::string>{"endpoints[0].webhook.secret_env: required field is missing (the environment "
                               "variable that holds the HMAC secret)"});
  auto lines =
      errors_of(config(R"({"secret_env": "", "signature_header": "X Sig", "timestamp_header": "x-signature",
                                    "tolerance_s": 0, "update_pointer": "op", "update_value": "", "toleranse_s": 5})"));
  const std::string all = ::testing::PrintToString(lines);
  for (const char* expected :
       {"endpoints[0].webhook.secret_env: expected the name of an environment variable, got \"\"",
        "endpoints[0].webhook.signature_header: expected an HTTP header name, got \"X Sig\"",
        "endpoints[0].webhook.tolerance_s: expected an integer from 1 to 86400, got 0",
        "endpoints[0].webhook.update_pointer: expected \"\" or a JSON pointer starting with \"/\" (RFC "
        "6901), got "
        "\"op\"",
        "endpoints[0].webhook.update_value: expected a non-empty string",
        "endpoints[0].webhook.toleranse_s: unknown field (did you mean \"tolerance_s\"?)"}) {
    bool found = false;
    for (const auto& l : lines) found = found || l.rfind(expected, 0) == 0;
    EXPECT_TRUE(found) << expected << "\n" << all;
  }
  // Same header twice (case-insensitive) would make the timestamp the signature.
  auto same = errors_of(config(R"({"secret_env": "S", "timestamp_header": "x-signature"})"));
  EXPECT_EQ(same, std::vector<std::string>{
                      "endpoints[0].webhook.timestamp_header: must differ from signature_header"});
}

TEST(webhook_config, the_secret_is_never_inline_and_the_port_is_required) {
  auto inline_secret = errors_of(config(R"({"secret_env": "S", "secret": "hunter2-hunter2-hunter2"})"));
  ASSERT_EQ(inline_secret.size(), 1u);
  EXPECT_EQ(inline_secret[0].rfind("endpoints[0].webhook.secret: secrets are not accepted inline", 0), 0u)
      << inline_secret[0];
  EXPECT_EQ(inline_secret[0].find("hunter2"), std::string::npos);
  auto pasted = errors_of(config(R"({"secret_env": "whsec_3f9a+0b/c1d2e3f4"})"));
  ASSERT_EQ(pasted.size(), 1u);
  EXPECT_EQ(pasted[0].find("3f9a"), std::string::npos) << "a pasted secret is not echoed";
  auto no_port = errors_of(config(R"({"secret_env": "S"})", ""));
  EXPECT_EQ(no_port,
            std::vector<std::string>{"endpoints[0].webhook: webhooks are received on the service HTTP "
                                     "port, which is off: set http.port"});
}

TEST(webhook_config, the_shipped_example_loads) {
  auto cfg = load_config(std::string(DSPSYNC_SOURCE_DIR) + "/examples/webhooks/config.json");
  ASSERT_TRUE(cfg) << cfg.error().message;
  ASSERT_FALSE(cfg->endpoints.empty());
  EXPECT_TRUE(cfg->endpoints[0].webhook.enabled);
}

}  // namespace
}  // namespace dspsync
