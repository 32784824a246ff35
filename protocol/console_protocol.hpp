#pragma once

// The operator console's line protocol, as pure code (no sockets): how bytes become commands and
// how answers are framed. Telnet-like, in the manner of the HAProxy runtime API: one command per
// line (LF or CRLF); every answer is zero or more body lines followed by a line `OK` or
// `ERR <reason>`, so a script reads until one of those two.

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/record.hpp"

namespace dspsync {

/// Longest command line accepted, in bytes (without its line ending).
inline constexpr std::size_t console_max_line = 4096;

/// Splits a byte stream into lines, keeping at most `max_line` bytes of any line: a longer one is
/// discarded up to its newline and reported as too long, so a client cannot grow memory and the
/// session survives it.
class line_reader {
 public:
  /// One complete input line.
  struct line {
    std::string text;
    /// The line exceeded the limit; `text` is empty.
    bool too_long = false;
  };

  explicit line_reader(std::size_t max_line = console_max_line) : max_line_(max_line) {}

  /// Takes the next bytes from the connection.
  void feed(std::string_view bytes);
  /// The next complete line, if any.
  std::optional<line> next();
  /// True when complete lines are waiting.
  bool ready() const { return !lines_.empty(); }

 private:
  std::size_t max_line_;
  std::string partial_;
  bool discarding_ = false;
  std::deque<line> lines_;
};

/// A parsed command line: the command name (lower case) and its words.
struct console_command {
  std::string name;
  std::vector<std::string> args;
  /// The line as typed, without its line ending.
  std::string line;

  /// The rest of the line after the command name and the first `n` arguments, trimmed: for values
  /// that may hold spaces (`cursor NAME set VALUE`). A value in double quotes loses the quotes, so
  /// `""` sets an empty value.
  std::string rest_after(std::size_t n) const;
};

/// Splits a line into words (spaces and tabs). nullopt for a blank line.
std::optional<console_command> parse_command(std::string_view line);

/// One command of the console, for `help`.
struct console_command_info {
  std::string name;
  std::string usage;
  std::string summary;
};

/// Every console command, in the order `help` lists them.
const std::vector<console_command_info>& console_commands();

/// True when `name` is a console command.
bool is_console_command(std::string_view name);

/// The text of `help`.
std::string console_help();

/// A successful answer: `body` (line by line) then `OK`.
std::string frame_ok(std::string_view body);

/// A failed answer: `body` (may be empty) then `ERR <reason>`; the reason is kept to one line.
std::string frame_err(std::string_view reason, std::string_view body = {});

/// The answer to a command the console does not know (the name is shown shortened and escaped).
std::string unknown_command_reply(std::string_view name);

/// Compares a presented token with the configured one in constant time (both are hashed first, so
/// neither their bytes nor their lengths leak through timing).
bool token_matches(std::string_view presented, std::string_view expected);

/// The pause before answering the `failures`-th failed `auth` of a session: 250 ms, doubling,
/// capped at 8 s.
std::chrono::milliseconds auth_failure_delay(int failures);

/// A record or quarantine key from its 64 hex digits (either case); nullopt otherwise.
std::optional<record_key> parse_record_key(std::string_view hex);

/// True for `localhost` and loopback IPv4/IPv6 addresses (`127.0.0.0/8`, `::1`, v4-mapped).
bool is_loopback_address(std::string_view address);

}  // namespace dspsync
