// The console's line protocol as pure code: line assembly with its length limit, command parsing,
// answer framing, token comparison and the auth slow-down.

#include <gtest/gtest.h>

#include <algorithm>

#include "protocol/console_protocol.hpp"

namespace dspsync::test {
namespace {

std::vector<line_reader::line> drain(line_reader& r) {
  std::vector<line_reader::line> out;
  while (auto l = r.next()) out.push_back(std::move(*l));
  return out;
}

TEST(line_reader, splits_lines_on_lf_and_crlf_across_reads) {
  line_reader r;
  r.feed("sta");
  EXPECT_FALSE(r.ready());
  r.feed("tus\r\nhelp\nendpoint x");
  r.feed("\r\n");
  auto lines = drain(r);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].text, "status");
  EXPECT_EQ(lines[1].text, "help");
  EXPECT_EQ(lines[2].text, "endpoint x");
  for (const auto& l : lines) EXPECT_FALSE(l.too_long);
}

TEST(line_reader, a_line_of_exactly_the_limit_is_accepted_with_or_without_cr) {
  line_reader r;
  r.feed(std::string(console_max_line, 'a') + "\n");
  r.feed(std::string(console_max_line, 'b') + "\r\n");
  auto lines = drain(r);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_FALSE(lines[0].too_long);
  EXPECT_EQ(lines[0].text.size(), console_max_line);
  EXPECT_FALSE(lines[1].too_long);
  EXPECT_EQ(lines[1].text, std::string(console_max_line, 'b'));
}

TEST(line_reader, a_longer_line_is_discarded_to_its_newline_and_the_next_line_survives) {
  line_reader r;
  r.feed(std::string(console_max_line + 1, 'x'));
  EXPECT_FALSE(r.ready());
  // Megabytes more of the same line are dropped as they come, not kept.
  for (int i = 0; i < 256; ++i) r.feed(std::string(4096, 'y'));
  r.feed("zzz\nhelp\n");
  auto lines = drain(r);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(lines[0].too_long);
  EXPECT_TRUE(lines[0].text.empty());
  EXPECT_EQ(lines[1].text, "help");
}

TEST(line_reader, one_byte_over_the_limit_is_too_long) {
  line_reader r(8);
  r.feed("123456789\n12345678\n");
  auto lines = drain(r);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(lines[0].too_long);
  EXPECT_FALSE(lines[1].too_long);
}

TEST(parse_command, lower_cases_the_name_and_splits_words) {
  auto c = parse_command("  CURSOR\tspotify  set  2026-10-01T00:00:00Z ");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->name, "cursor");
  ASSERT_EQ(c->args.size(), 3u);
  EXPECT_EQ(c->args[0], "spotify");
  EXPECT_EQ(c->rest_after(2), "2026-10-01T00:00:00Z");
  EXPECT_FALSE(parse_command("   \t "));
  EXPECT_FALSE(parse_command(""));
}

TEST(parse_command, rest_after_keeps_inner_spaces_and_strips_quotes) {
  auto c = parse_command("cursor ep set \"a b\"");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->rest_after(2), "a b");
  auto empty = parse_command("cursor ep set \"\"");
  EXPECT_EQ(empty->rest_after(2), "");
  auto token = parse_command("auth  s3cret token ");
  EXPECT_EQ(token->rest_after(0), "s3cret token");
}

TEST(framing, every_answer_ends_with_ok_or_err_and_body_lines_cannot_fake_one) {
  EXPECT_EQ(frame_ok(""), "OK\n");
  EXPECT_EQ(frame_ok("a\nb\n"), "a\nb\nOK\n");
  EXPECT_EQ(frame_ok("a\r\nb"), "a\nb\nOK\n");
  EXPECT_EQ(frame_ok("OK\nERR nope\nOKAY\n"), "  OK\n  ERR nope\nOKAY\nOK\n");
  EXPECT_EQ(frame_err("line too long"), "ERR line too long\n");
  EXPECT_EQ(frame_err("two\nlines"), "ERR two lines\n");
  EXPECT_EQ(frame_err("bad", "why 1\nwhy 2"), "why 1\nwhy 2\nERR bad\n");
  EXPECT_EQ(frame_ok(std::string("a\x1b[2Jb", 6)), "a\\x1b[2Jb\nOK\n");
}

TEST(framing, an_unknown_command_is_named_and_help_is_suggested) {
  EXPECT_EQ(unknown_command_reply("frobnicate"), "ERR unknown command 'frobnicate' (try help)\n");
  auto long_name = unknown_command_reply(std::string(500, 'q'));
  EXPECT_LT(long_name.size(), 120u);
}

TEST(help, lists_every_command_of_the_brief) {
  auto h = console_help();
  for (const char* c :
       {"help", "status", "endpoints", "endpoint NAME", "pause NAME", "resume NAME", "restart NAME",
        "cursor NAME [set VALUE]", "quarantine list|show KEY|release KEY", "pending", "drift", "metrics",
        "audit verify", "triage", "lineage KEY", "quit", "auth TOKEN"})
    EXPECT_NE(h.find(c), std::string::npos) << c;
  EXPECT_TRUE(is_console_command("triage"));
  EXPECT_FALSE(is_console_command("frobnicate"));
}

TEST(token, compares_whole_tokens_only) {
  EXPECT_TRUE(token_matches("s3cret", "s3cret"));
  EXPECT_FALSE(token_matches("s3cre", "s3cret"));
  EXPECT_FALSE(token_matches("s3cret ", "s3cret"));
  EXPECT_FALSE(token_matches("", "s3cret"));
  EXPECT_FALSE(token_matches("", ""));  // no token configured is not a token
}

TEST(token, every_failed_auth_waits_longer_up_to_a_cap) {
  EXPECT_EQ(auth_failure_delay(0).count(), 0);
  EXPECT_EQ(auth_failure_delay(1).count(), 250);
  EXPECT_EQ(auth_failure_delay(2).count(), 500);
  EXPECT_EQ(auth_failure_delay(3).count(), 1000);
  EXPECT_EQ(auth_failure_delay(6).count(), 8000);
  EXPECT_EQ(auth_failure_delay(60).count(), 8000);
}

TEST(keys, parse_hex_keys_of_either_case) {
  record_key k{};
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(i * 7);
  auto hex = to_hex(k);
  EXPECT_EQ(parse_record_key(hex), k);
  for (auto& c : hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(parse_record_key(hex), k);
  EXPECT_FALSE(parse_record_key(hex.substr(1)));
  EXPECT_FALSE(parse_record_key(std::string(64, 'g')));
}

TEST(listen_address, loopback_only_for_loopback) {
  for (const char* a :
       {"127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST", "::ffff:127.0.0.1"})
    EXPECT_TRUE(is_loopback_address(a)) << a;
  for (const char* a : {"0.0.0.0", "10.0.0.1", "::", "192.168.1.1", "example.com", ""})
    EXPECT_FALSE(is_loopback_address(a)) << a;
}

}  // namespace
}  // namespace dspsync::test

namespace dspsync::test {
namespace {

/// Random bytes in random chunks: no line is ever longer than the limit, every newline ends exactly
/// one line, and framing any of them always ends in exactly one OK or ERR line.
TEST(line_reader, random_input_keeps_every_invariant) {
  uint64_t state = 12345;
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  for (int round = 0; round < 200; ++round) {
    line_reader r(64);
    std::string input;
    const auto size = next() % 2000;
    for (uint64_t i = 0; i < size; ++i) {
      auto b = next() % 100;
      input += b < 5 ? '\n' : b < 8 ? '\r' : static_cast<char>(next() % 256);
    }
    std::size_t newlines = std::count(input.begin(), input.end(), '\n');
    std::size_t lines = 0;
    for (std::size_t at = 0; at < input.size();) {
      auto n = std::min<std::size_t>(1 + next() % 50, input.size() - at);
      r.feed(std::string_view(input).substr(at, n));
      at += n;
      while (auto l = r.next()) {
        ++lines;
        ASSERT_LE(l->text.size(), 64u);
        EXPECT_EQ(l->text.find('\n'), std::string::npos);
        if (l->too_long) {
          EXPECT_TRUE(l->text.empty());
        }
        for (const auto& framed : {frame_ok(l->text), frame_err(l->text, l->text)}) {
          std::size_t terminators = 0;
          std::size_t start = 0;
          for (auto nl = framed.find('\n'); nl != std::string::npos; nl = framed.find('\n', start)) {
            auto line = framed.substr(start, nl - start);
            if (line == "OK" || line.rfind("ERR ", 0) == 0) ++terminators;
            EXPECT_EQ(line.find('\r'), std::string::npos);
            start = nl + 1;
          }
          EXPECT_EQ(terminators, 1u) << framed;
          EXPECT_EQ(start, framed.size());
        }
        if (auto c = parse_command(l->text)) {
          EXPECT_FALSE(c->name.empty());
        }
      }
    }
    EXPECT_EQ(lines, newlines);
  }
}

}  // namespace
}  // namespace dspsync::test
