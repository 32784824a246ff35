#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "actors/engine.hpp"
#include "domain/expected.hpp"

namespace dspsync::cli {

/// Parsed command-line arguments of one command: `--name value` options, `--flag` switches and
/// positional arguments. Unknown options are errors that name the option and the command.
struct args {
  std::string command;
  std::map<std::string, std::vector<std::string>> options;
  std::vector<std::string> positional;

  bool has(const std::string& name) const { return options.count(name) != 0; }
  std::optional<std::string> get(const std::string& name) const;
  std::vector<std::string> all(const std::string& name) const;
};

/// Parses `argv` for `command`. `valued` lists options that take a value (repeatable; a
/// multi-value option such as `--har A B` takes values until the next `--`), `flags` those that don't.
expected<args> parse(const std::string& command, int argc, char** argv, int first,
                     const std::vector<std::string>& valued, const std::vector<std::string>& flags);

/// An unsigned integer option; `field` names it in the error.
expected<uint64_t> to_uint(const std::string& text, const std::string& field);

/// Prints the per-endpoint ingestion summary with the accounting identity
/// `in = new + restated + duplicates + quarantined` checked on each row; returns false when any
/// row breaks it.
bool print_summary(std::ostream& out, const std::vector<std::pair<std::string, source_checkpoint>>& rows);

/// Peak resident set size of this process in MiB.
double peak_rss_mib();

/// Blocks SIGINT and SIGTERM in the calling thread (and the threads it starts afterwards), so that
/// `wait_for_signal` can take them synchronously.
void block_stop_signals();

/// Waits up to `timeout` for SIGINT or SIGTERM; true when one arrived.
bool wait_for_signal(std::chrono::milliseconds timeout);

int cmd_demo(int argc, char** argv);
int cmd_run(int argc, char** argv);
int cmd_check_config(int argc, char** argv);
int cmd_replay_server(int argc, char** argv);
int cmd_gen_har(int argc, char** argv);
int cmd_dump(int argc, char** argv);
int cmd_audit(int argc, char** argv);

}  // namespace dspsync::cli
