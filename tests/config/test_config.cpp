#include "config/config.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

using namespace dspsync;

namespace {

/// The error lines of a config that must fail; fails the test when the config loads.
std::vector<std::string> errors_of(std::string_view text) {
  auto cfg = parse_config(text, "test.json");
  EXPECT_FALSE(cfg) << "config unexpectedly valid: " << text;
  if (cfg) return {};
  EXPECT_EQ(cfg.error().code, ec::bad_config);
  std::vector<std::string> lines;
  std::istringstream in(cfg.error().message);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

/// The one error of a config that must fail with exactly one.
std::string error_of(std::string_view text) {
  auto lines = errors_of(text);
  EXPECT_EQ(lines.size(), 1u) << ::testing::PrintToString(lines);
  return lines.empty() ? "" : lines.front();
}

engine_config valid(std::string_view text) {
  auto cfg = parse_config(text, "test.json");
  EXPECT_TRUE(cfg) << (cfg ? "" : cfg.error().message);
  return cfg ? *cfg : engine_config{};
}

/// One endpoint with the required members plus `extra` (a JSON member list, may be empty).
std::string endpoint(const std::string& extra = "") {
  return R"({"endpoints": [{"name": "ep", "base_url": "https://dsp.example")" +
         (extra.empty() ? "" : ", " + extra) + "}]}";
}

const char* full_example = R"json({
  "data_dir": "/var/lib/dspsync", "map_size_mib": 4096,
  "pipeline": {"workers": 3, "validators": 3, "max_pages_in_flight": 2, "max_pages_per_commit": 16},
  "console": {"listen": "127.0.0.1", "port": 7070, "token_env": "DSPSYNC_CONSOLE_TOKEN"},
  "pseudo_territories": ["WW","ZZ","XK","EU"],
  "endpoints": [{
    "name": "spotify-streams", "dsp": "spotify", "base_url": "https://api.spotify.example", "path": "/v1/streams",
    "query": {"granularity": "daily"},
    "auth": {"token_env": "DSPSYNC_TEST_SPOTIFY_TOKEN", "header": "Authorization", "scheme": "Bearer"},
    "pagination": {"style": "cursor", "page_size": 1000, "limit_param": "limit", "offset_param": "offset",
                   "cursor_param": "cursor", "since_param": "updated_since", "records_pointer": "/data",
                   "next_pointer": "/next_cursor", "total_pointer": "", "initial_since": ""},
    "fields": {"units": ["streams", "play_count"], "revenue": "net_revenue"},
    "key_fields": ["isrc","upc","dsp","reporting_period","transaction_id","currency"],
    "rate": {"requests_per_second": 5, "burst": 10, "group": ""},
    "backoff": {"base_ms": 500, "cap_ms": 60000, "max_attempts": 8, "retry_after_ceiling_s": 86400},
    "breaker": {"threshold": 5, "cooldown_s": 30},
    "schedule": {"interval_s": 3600, "lag_s": 172800, "lookback_s": 0},
    "timeout_ms": 30000, "ca_file": ""
  }, {
    "name": "apple-sales", "base_url": "http://127.0.0.1:8080/", "path": "/sales",
    "pagination": {"style": "updated_since", "page_size": 500, "initial_since": "2026-01-01T00:00:00Z"},
    "rate": {"requests_per_second": 0.5, "burst": 1, "group": "apple"},
    "schedule": {"lookback_s": 60}
  }]
})json";

}  // namespace

// --- Defaults ---------------------------------------------------------------------------------

TEST(config, empty_document_takes_every_default) {
  const auto cfg = valid("{}");
  EXPECT_EQ(cfg.data_dir, "./dspsync-data");
  EXPECT_EQ(cfg.map_size_mib, 16384u);
  EXPECT_EQ(cfg.pipeline.workers, 0);
  EXPECT_EQ(cfg.pipeline.validators, 2);
  EXPECT_EQ(cfg.pipeline.max_pages_in_flight, 16);
  EXPECT_EQ(cfg.pipeline.max_pages_per_commit, 64);
  EXPECT_EQ(cfg.console.listen, "127.0.0.1");
  EXPECT_EQ(cfg.console.port, 0);
  EXPECT_EQ(cfg.pseudo_territories, (std::vector<std::string>{"WW", "ZZ", "XK", "EU"}));
  EXPECT_TRUE(cfg.endpoints.empty());
}

TEST(config, minimal_endpoint_is_filled_with_defaults) {
  const auto cfg = valid(endpoint());
  ASSERT_EQ(cfg.endpoints.size(), 1u);
  const auto& e = cfg.endpoints[0];
  EXPECT_EQ(e.name, "ep");
  EXPECT_EQ(e.dsp, "ep");  // dsp defaults to the name
  EXPECT_EQ(e.base_url, "https://dsp.example");
  EXPECT_EQ(e.path, "/");
  EXPECT_TRUE(e.auth.token_env.empty());
  EXPECT_EQ(e.auth.header, "Authorization");
  EXPECT_EQ(e.pagination.style, pagination_style::cursor);
  EXPECT_EQ(e.pagination.page_size, 1000);
  EXPECT_EQ(e.pagination.records_pointer, "/data");
  EXPECT_EQ(e.pagination.next_pointer, "/next_cursor");
  EXPECT_EQ(e.key_fields, default_key_fields());
  EXPECT_EQ(e.fields, default_field_aliases());
  EXPECT_EQ(e.fields.size(), canonical_fields().size());
  EXPECT_EQ(e.fields.at("units"), (std::vector<std::string>{"units", "streams", "play_count", "quantity"}));
  EXPECT_DOUBLE_EQ(e.rate.requests_per_second, 5.0);
  EXPECT_EQ(e.rate.burst, 10);
  EXPECT_EQ(e.backoff.base, std::chrono::milliseconds(500));
  EXPECT_EQ(e.backoff.cap, std::chrono::milliseconds(60'000));
  EXPECT_EQ(e.backoff.max_attempts, 8);
  EXPECT_EQ(e.backoff.retry_after_ceiling, std::chrono::hours(24));
  EXPECT_EQ(e.breaker.threshold, 5);
  EXPECT_EQ(e.breaker.cooldown, std::chrono::seconds(30));
  EXPECT_EQ(e.schedule.interval, std::chrono::hours(1));
  EXPECT_EQ(e.schedule.lag, std::chrono::hours(48));
  EXPECT_EQ(e.schedule.lookback, std::chrono::seconds(0));
  EXPECT_EQ(e.timeout, std::chrono::milliseconds(30'000));
}

TEST(config, endpoints_configured_alike_share_one_alias_table_until_one_is_changed) {
  const auto cfg = valid(R"({"endpoints": [
      {"name": "a", "base_url": "https://dsp.example"},
      {"name": "b", "base_url": "https://dsp.example"},
      {"name": "c", "base_url": "https://dsp.example", "fields": {"units": "plays"}},
      {"name": "d", "base_url": "https://dsp.example", "fields": {"units": "plays"}}]})");
  ASSERT_EQ(cfg.endpoints.size(), 4u);
  const auto& e = cfg.endpoints;
  EXPECT_TRUE(e[0].fields.shares_with(e[1].fields));
  EXPECT_TRUE(e[2].fields.shares_with(e[3].fields));
  EXPECT_FALSE(e[0].fields.shares_with(e[2].fields));
  EXPECT_EQ(e[2].fields.at("units"), (std::vector<std::string>{"plays"}));
  // A copy shares too; changing it changes the copy only.
  endpoint_config copy = e[0];
  EXPECT_TRUE(copy.fields.shares_with(e[0].fields));
  copy.fields["units"] = {"spins"};
  EXPECT_FALSE(copy.fields.shares_with(e[0].fields));
  EXPECT_EQ(copy.fields.at("units"), (std::vector<std::string>{"spins"}));
  EXPECT_EQ(e[0].fields, default_field_aliases());
  EXPECT_EQ(e[1].fields, default_field_aliases());
}

TEST(config, next_pointer_defaults_by_style) {
  const std::pair<const char*, const char*> cases[] = {{"cursor", "/next_cursor"},
                                                       {"next_url", "/next"},
                                                       {"updated_since", "/high_water_mark"},
                                                       {"offset", ""}};
  for (const auto& [style, pointer] : cases) {
    const auto cfg = valid(endpoint(R"("pagination": {"style": ")" + std::string(style) + "\"}"));
    ASSERT_EQ(cfg.endpoints.size(), 1u);
    EXPECT_EQ(cfg.endpoints[0].pagination.next_pointer, pointer) << style;
    EXPECT_STREQ(to_string(cfg.endpoints[0].pagination.style), style);
  }
}

TEST(config, full_example_loads) {
  const auto cfg = valid(full_example);
  EXPECT_EQ(cfg.data_dir, "/var/lib/dspsync");
  EXPECT_EQ(cfg.map_size_mib, 4096u);
  EXPECT_EQ(cfg.pipeline.validators, 3);
  EXPECT_EQ(cfg.pipeline.workers, 3);
  EXPECT_EQ(cfg.console.port, 7070);
  EXPECT_EQ(cfg.console.token_env, "DSPSYNC_CONSOLE_TOKEN");
  ASSERT_EQ(cfg.endpoints.size(), 2u);
  const auto& s = cfg.endpoints[0];
  EXPECT_EQ(s.dsp, "spotify");
  EXPECT_EQ(s.path, "/v1/streams");
  EXPECT_EQ(s.query.at("granularity"), "daily");
  EXPECT_EQ(s.auth.token_env, "DSPSYNC_TEST_SPOTIFY_TOKEN");
  // A configured mapping replaces the default for its field only.
  EXPECT_EQ(s.fields.at("units"), (std::vector<std::string>{"streams", "play_count"}));
  EXPECT_EQ(s.fields.at("revenue"), (std::vector<std::string>{"net_revenue"}));
  EXPECT_EQ(s.fields.at("isrc"), (std::vector<std::string>{"isrc", "ISRC"}));
  EXPECT_EQ(s.fields.size(), 11u);
  const auto& a = cfg.endpoints[1];
  EXPECT_EQ(a.base_url, "http://127.0.0.1:8080");  // trailing '/' dropped so base_url + path is the URL
  EXPECT_EQ(a.pagination.style, pagination_style::updated_since);
  EXPECT_EQ(a.pagination.next_pointer, "/high_water_mark");
  EXPECT_EQ(a.pagination.initial_since, "2026-01-01T00:00:00Z");
  EXPECT_DOUBLE_EQ(a.rate.requests_per_second, 0.5);
  EXPECT_EQ(a.rate.group, "apple");
  EXPECT_EQ(a.schedule.lookback, std::chrono::seconds(60));
}

TEST(config, comments_are_allowed) { EXPECT_TRUE(parse_config("// dspsync\n{ /* defaults */ }")); }

// --- Errors: each names the field path and what was expected ---------------------------------

TEST(config, invalid_json_names_line_and_column) {
  const auto cfg = parse_config("{\n  \"a\": x\n}", "cfg.json");
  ASSERT_FALSE(cfg);
  EXPECT_EQ(cfg.error().code, ec::bad_config);
  EXPECT_EQ(cfg.error().message, "cfg.json: invalid JSON at line 2 column 8: syntax error");
  EXPECT_EQ(parse_config("{\"a\": 1", "cfg.json").error().message,
            "cfg.json: invalid JSON at line 1 column 8: incomplete JSON");
  EXPECT_EQ(parse_config("", "cfg.json").error().message,
            "cfg.json: invalid JSON at line 1 column 1: the document is empty");
  EXPECT_FALSE(parse_config("{} {}", "cfg.json"));
  EXPECT_EQ(parse_config("[]", "cfg.json").error().message,
            "cfg.json: expected a JSON object at the top level, got an array");
}

TEST(config, bad_style_is_named) {
  EXPECT_EQ(
      error_of(R"({"endpoints": [{"name": "e0", "base_url": "https://x.example"},
                                       {"name": "e1", "base_url": "https://x.example"},
                                       {"name": "e2", "base_url": "https://x.example",
                                        "pagination": {"style": "pages"}}]})"),
      R"(endpoints[2].pagination.style: expected one of offset|cursor|next_url|updated_since, got "pages")");
}

TEST(config, required_fields_are_named) {
  const auto lines = errors_of(R"({"endpoints": [{"dsp": "x"}]})");
  EXPECT_EQ(lines, (std::vector<std::string>{"endpoints[0].name: required field is missing",
                                             "endpoints[0].base_url: required field is missing"}));
  EXPECT_EQ(error_of(R"({"endpoints": [5]})"), "endpoints[0]: expected an object, got 5");
  EXPECT_EQ(error_of(R"({"endpoints": {}})"), "endpoints: expected an array, got an object");
}

TEST(config, numbers_out_of_range_are_named) {
  EXPECT_EQ(error_of(R"({"endpoints": [{"name": "a", "base_url": "https://x.example"},
                                       {"name": "b", "base_url": "https://x.example",
                                        "rate": {"requests_per_second": -3}}]})"),
            "endpoints[1].rate.requests_per_second: expected a number > 0, got -3");
  EXPECT_EQ(error_of(endpoint(R"("rate": {"burst": 0})")),
            "endpoints[0].rate.burst: expected an integer >= 1, got 0");
  EXPECT_EQ(error_of(endpoint(R"("pagination": {"page_size": 0})")),
            "endpoints[0].pagination.page_size: expected an integer from 1 to 100000, got 0");
  EXPECT_EQ(error_of(endpoint(R"("pagination": {"page_size": 100001})")),
            "endpoints[0].pagination.page_size: expected an integer from 1 to 100000, got 100001");
  EXPECT_EQ(error_of(endpoint(R"("pagination": {"page_size": "10"})")),
            R"(endpoints[0].pagination.page_size: expected an integer from 1 to 100000, got "10")");
  EXPECT_EQ(error_of(endpoint(R"("pagination": {"page_size": 2.5})")),
            "endpoints[0].pagination.page_size: expected an integer from 1 to 100000, got 2.5");
  EXPECT_EQ(valid(endpoint(R"("pagination": {"page_size": 1e3})")).endpoints[0].pagination.page_size, 1000);
  EXPECT_EQ(error_of(endpoint(R"("breaker": {"threshold": 0})")),
            "endpoints[0].breaker.threshold: expected an integer >= 1, got 0");
  EXPECT_EQ(error_of(endpoint(R"("backoff": {"max_attempts": 0})")),
            "endpoints[0].backoff.max_attempts: expected an integer >= 1, got 0");
  EXPECT_EQ(error_of(endpoint(R"("backoff": {"base_ms": 0})")),
            "endpoints[0].backoff.base_ms: expected an integer >= 1, got 0");
  EXPECT_EQ(error_of(endpoint(R"("backoff": {"base_ms": 1000, "cap_ms": 999})")),
            "endpoints[0].backoff.cap_ms: expected an integer >= base_ms (1000), got 999");
  EXPECT_EQ(error_of(endpoint(R"("backoff": {"base_ms": 70000})")),
            "endpoints[0].backoff.base_ms: expected an integer <= cap_ms (60000), got 70000");
  EXPECT_EQ(error_of(R"({"pipeline": {"workers": -1}})"),
            "pipeline.workers: expected an integer from 0 to 1024, got -1");
  EXPECT_EQ(error_of(R"({"pipeline": {"validators": 0}})"),
            "pipeline.validators: expected an integer >= 1, got 0");
  EXPECT_EQ(error_of(R"({"console": {"port": 70000}})"),
            "console.port: expected an integer from 0 to 65535, got 70000");
  EXPECT_EQ(error_of(R"({"map_size_mib": 0})"),
            "map_size_mib: expected an integer from 1 to 1073741824, got 0");
}

TEST(config, unknown_fields_are_errors_with_a_suggestion) {
  EXPECT_EQ(error_of(endpoint(R"("pagination": {"page_sise": 10})")),
            R"(endpoints[0].pagination.page_sise: unknown field (did you mean "page_size"?))");
  // One level too high: point to where it belongs.
  EXPECT_EQ(error_of(endpoint(R"("page_sise": 10)")),
            R"(endpoints[0].page_sise: unknown field (did you mean "pagination.page_size"?))");
  EXPECT_EQ(error_of(R"({"data_dri": "x"})"), R"(data_dri: unknown field (did you mean "data_dir"?))");
  EXPECT_EQ(error_of(endpoint(R"("backof": {})")),
            R"(endpoints[0].backof: unknown field (did you mean "backoff"?))");
  EXPECT_EQ(error_of(R"({"colour": 1})"), "colour: unknown field");
}

TEST(config, all_errors_are_reported_at_once) {
  const auto lines = errors_of(R"json({
    "pipeline": {"validators": 0},
    "endpoints": [
      {"base_url": "ftp://x.example", "pagination": {"style": "pages", "page_sise": 5}},
      {"name": "ok", "base_url": "https://x.example", "rate": {"requests_per_second": -3}}
    ]})json");
  EXPECT_EQ(
      lines,
      (std::vector<std::string>{
          "pipeline.validators: expected an integer >= 1, got 0",
          "endpoints[0].name: required field is missing",
          R"(endpoints[0].base_url: expected an http:// or https:// URL, got "ftp://x.example")",
          R"(endpoints[0].pagination.page_sise: unknown field (did you mean "page_size"?))",
          R"(endpoints[0].pagination.style: expected one of offset|cursor|next_url|updated_since, got "pages")",
          "endpoints[1].rate.requests_per_second: expected a number > 0, got -3",
      }));
}

TEST(config, duplicate_members_are_errors) {
  EXPECT_EQ(error_of(R"({"endpoints": [{"name": "a", "base_url": "https://x.example"},
                                       {"name": "b", "name": "c", "base_url": "https://x.example"}]})"),
            "endpoints[1].name: duplicate member; JSON keeps only the last one, so remove the other");
}

TEST(config, inline_secrets_are_refused_without_echo) {
  const auto lines =
      errors_of(endpoint(R"("auth": {"token": "hunter2-secret-value"}, "query": {"api_key": "k-123"})"));
  EXPECT_EQ(lines,
            (std::vector<std::string>{
                "endpoints[0].auth.token: secrets are not accepted inline; put the secret in an environment "
                "variable and name it in \"token_env\"",
                "endpoints[0].query.api_key: secrets are not accepted inline; put the secret in an "
                "environment variable and name it in \"token_env\""}));
  EXPECT_EQ(errors_of(R"({"console": {"password": "x"}, "x": {"Secret": 1}})").size(),
            3u);  // x is also unknown
  // The usual slip: the token pasted where its variable's name belongs.
  const auto line = error_of(endpoint(R"("auth": {"token_env": "sk-live:abc/123=="})"));
  EXPECT_EQ(line.find("abc"), std::string::npos) << line;
  EXPECT_EQ(line.rfind("endpoints[0].auth.token_env: expected the name of an environment variable", 0), 0u)
      << line;
  // Credentials in the URL are refused and not echoed either.
  const auto url = error_of(R"({"endpoints": [{"name": "a", "base_url": "https://me:pw123@x.example"}]})");
  EXPECT_EQ(url.find("pw123"), std::string::npos) << url;
}

TEST(config, endpoint_names_are_checked) {
  EXPECT_EQ(error_of(R"({"endpoints": [{"name": "a b", "base_url": "https://x.example"}]})"),
            R"(endpoints[0].name: expected 1 to 64 characters from [A-Za-z0-9._-], got "a b")");
  EXPECT_EQ(error_of(R"({"endpoints": [{"name": "a", "base_url": "https://x.example"},
                                       {"name": "a", "base_url": "https://y.example"}]})"),
            R"(endpoints[1].name: duplicate endpoint name "a" (also endpoints[0]))");
  EXPECT_FALSE(parse_config(R"({"endpoints": [{"name": ")" + std::string(65, 'a') +
                            R"(", "base_url": "https://x.example"}]})"));
}

TEST(config, base_url_and_path_are_checked) {
  const auto with_url = [](const std::string& url) {
    return error_of(R"({"endpoints": [{"name": "a", "base_url": ")" + url + R"("}]})");
  };
  EXPECT_EQ(
      with_url("https://x.example/v1"),
      R"(endpoints[0].base_url: expected no path beyond "/" (put it in "path"), got "https://x.example/v1")");
  EXPECT_EQ(with_url("x.example"),
            R"(endpoints[0].base_url: expected an absolute http:// or https:// URL, got "x.example")");
  EXPECT_EQ(with_url("https://"),
            R"(endpoints[0].base_url: expected a host, as in https://api.example.com, got "https://")");
  EXPECT_EQ(
      with_url("https://x.example?a=1"),
      R"(endpoints[0].base_url: expected no query or fragment (put fixed parameters in "query"), got "https://x.example?a=1")");
  EXPECT_EQ(error_of(endpoint(R"("path": "v1/streams")")),
            R"(endpoints[0].path: expected a path starting with "/", got "v1/streams")");
  EXPECT_EQ(valid(endpoint(R"("path": "/v1/streams")")).endpoints[0].path, "/v1/streams");
}

TEST(config, pagination_values_are_checked) {
  EXPECT_EQ(
      error_of(endpoint(R"("pagination": {"records_pointer": "data"})")),
      R"(endpoints[0].pagination.records_pointer: expected "" or a JSON pointer starting with "/" (RFC 6901), got "data")");
  EXPECT_EQ(
      valid(endpoint(R"("pagination": {"records_pointer": ""})")).endpoints[0].pagination.records_pointer,
      "");
  EXPECT_EQ(
      error_of(endpoint(R"("pagination": {"style": "updated_since", "initial_since": "yesterday"})")),
      "endpoints[0].pagination.initial_since: expected an RFC 3339 timestamp such as 2026-01-01T00:00:00Z, "
      "got \"yesterday\"");
  EXPECT_EQ(error_of(endpoint(R"("pagination": {"initial_since": "2026-01-01T00:00:00Z"})")),
            "endpoints[0].pagination.initial_since: only used with style updated_since, not cursor");
  EXPECT_EQ(error_of(endpoint(R"("pagination": {"style": "next_url", "next_pointer": ""})")),
            "endpoints[0].pagination.next_pointer: expected a JSON pointer; style next_url needs one");
  EXPECT_EQ(
      error_of(endpoint(R"("query": {"limit": "5"})")),
      R"(endpoints[0].query.limit: is a pagination parameter, set by the poller; remove it from "query")");
}

TEST(config, field_mappings_are_checked) {
  EXPECT_EQ(error_of(endpoint(R"("fields": {"unitz": "plays"})")),
            R"(endpoints[0].fields.unitz: unknown canonical field (did you mean "units"?))");
  EXPECT_EQ(error_of(endpoint(R"("fields": {"units": []})")),
            "endpoints[0].fields.units: expected a string or a non-empty array of strings, got an array");
  EXPECT_EQ(error_of(endpoint(R"("fields": {"units": ["plays", 3]})")),
            "endpoints[0].fields.units[1]: expected a non-empty source name or JSON pointer, got 3");
  EXPECT_EQ(error_of(endpoint(R"("fields": {"units": "x", "revenue": "x"})")),
            R"(endpoints[0].fields.revenue: source "x" is already mapped to "units")");
  // A name configured for one field leaves the defaults of the others.
  const auto cfg = valid(endpoint(R"("fields": {"units": ["amount"], "title": "/meta/title"})"));
  const auto& f = cfg.endpoints[0].fields;
  EXPECT_EQ(f.at("revenue"), (std::vector<std::string>{"revenue", "net_revenue", "earnings"}));
  EXPECT_EQ(f.at("title"), (std::vector<std::string>{"/meta/title"}));
  EXPECT_EQ(f.size(), 11u);
}

TEST(config, key_fields_are_checked) {
  EXPECT_EQ(
      error_of(endpoint(R"("key_fields": ["isrc", "isrcc"])")),
      R"(endpoints[0].key_fields[1]: expected a canonical field or "dsp", got "isrcc" (did you mean "isrc"?))");
  EXPECT_EQ(error_of(endpoint(R"("key_fields": ["isrc", "isrc"])")),
            R"(endpoints[0].key_fields[1]: "isrc" is listed twice)");
  EXPECT_EQ(error_of(endpoint(R"("key_fields": [])")),
            "endpoints[0].key_fields: expected a non-empty array of canonical fields");
  EXPECT_EQ(valid(endpoint(R"("key_fields": ["dsp", "transaction_id"])")).endpoints[0].key_fields,
            (std::vector<std::string>{"dsp", "transaction_id"}));
}

TEST(config, rate_group_has_one_budget) {
  const auto line = error_of(R"({"endpoints": [
      {"name": "a", "base_url": "https://x.example", "rate": {"group": "g", "requests_per_second": 5}},
      {"name": "b", "base_url": "https://x.example", "rate": {"group": "g", "requests_per_second": 2}}]})");
  EXPECT_EQ(line.rfind("endpoints[1].rate: rate group \"g\" has one budget", 0), 0u) << line;
}

TEST(config, exposed_console_requires_a_token) {
  EXPECT_EQ(error_of(R"({"console": {"listen": "0.0.0.0", "port": 7070}})"),
            R"(console.token_env: required when console.listen is not loopback ("0.0.0.0"))");
  EXPECT_TRUE(parse_config(R"({"console": {"listen": "0.0.0.0", "port": 7070, "token_env": "T"}})"));
  for (const char* loopback : {"127.0.0.1", "127.4.5.6", "::1", "localhost", "::ffff:127.0.0.1"})
    EXPECT_TRUE(parse_config(R"({"console": {"listen": ")" + std::string(loopback) + R"(", "port": 1}})"))
        << loopback;
  EXPECT_FALSE(parse_config(R"({"console": {"listen": "::", "port": 1}})"));
  EXPECT_EQ(error_of(R"({"console": {"listen": "my host"}})"),
            R"(console.listen: expected an IP address or "localhost", got "my host")");
}

TEST(config, load_config_reads_a_file) {
  const std::string missing = ::testing::TempDir() + "/dspsync-no-such-config.json";
  const auto none = load_config(missing);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message, missing + ": cannot read: No such file or directory");

  const std::string path = ::testing::TempDir() + "/dspsync-test-config.json";
  std::ofstream(path) << "{\n  \"data_dri\": 1\n}\n";
  const auto bad = load_config(path);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, R"(data_dri: unknown field (did you mean "data_dir"?))");
  std::ofstream(path) << full_example;
  EXPECT_TRUE(load_config(path));
  std::ofstream(path) << "{,}";
  EXPECT_EQ(load_config(path).error().message, path + ": invalid JSON at line 1 column 2: syntax error");
  std::remove(path.c_str());
}

// --- The plan -----------------------------------------------------------------------------------

TEST(config, plan_states_the_key_facts_and_never_the_token) {
  const std::string token = "tok-9f8e7d6c5b4a";
  ::setenv("DSPSYNC_TEST_SPOTIFY_TOKEN", token.c_str(), 1);
  ::unsetenv("DSPSYNC_CONSOLE_TOKEN");
  const auto cfg = valid(full_example);
  const std::string plan = describe_plan(cfg);
  for (const char* fact : {"/var/lib/dspsync",
                           "4 GiB",
                           "3 validators",
                           "listening on 127.0.0.1:7070",
                           "$DSPSYNC_CONSOLE_TOKEN (NOT SET)",
                           "endpoint spotify-streams (dsp spotify)",
                           "GET https://api.spotify.example/v1/streams?granularity=daily&limit=1000",
                           "cursor, 1000 records per page",
                           "/next_cursor",
                           "at /data",
                           "Authorization: Bearer <token from $DSPSYNC_TEST_SPOTIFY_TOKEN (set)>",
                           "5 requests/s, burst 10",
                           "from 500 ms doubling up to 1 min, at most 8 attempts",
                           "up to 1 d",
                           "after 5 failures in a row, cool-down 30 s",
                           "every 1 h once caught up; lag 2 d",
                           "streams, play_count  (configured)",
                           "isrc, ISRC",
                           "isrc, upc, dsp, reporting_period, transaction_id, currency",
                           "endpoint apple-sales (dsp apple-sales)",
                           "first window starts at 2026-01-01T00:00:00Z",
                           "GET http://127.0.0.1:8080/sales?limit=500&updated_since=2026-01-01T00%3A00%3A00Z",
                           "0.5 requests/s, burst 1; group \"apple\"",
                           "auth           none"})
    EXPECT_NE(plan.find(fact), std::string::npos) << "missing: " << fact << "\n" << plan;
  EXPECT_EQ(plan.find(token), std::string::npos) << plan;

  ::unsetenv("DSPSYNC_TEST_SPOTIFY_TOKEN");
  EXPECT_NE(describe_plan(cfg).find("$DSPSYNC_TEST_SPOTIFY_TOKEN (NOT SET)"), std::string::npos);
}

TEST(config, plan_of_an_empty_config) {
  const std::string plan = describe_plan(engine_config{});
  EXPECT_NE(plan.find("disabled (port 0)"), std::string::npos) << plan;
  EXPECT_NE(plan.find("none: nothing will be polled"), std::string::npos) << plan;
}
