#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "actors/engine.hpp"
#include "domain/expected.hpp"
#include "protocol/recording.hpp"
#include "protocol/statements.hpp"
#include "storage/catalog_store.hpp"

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
int cmd_ingest_csv(int argc, char** argv);
int cmd_ingest_dsr(int argc, char** argv);
int cmd_gen_csv(int argc, char** argv);

// --- lifecycle: reconciliation and settlement (cmd_settle.cpp) ---
int cmd_catalog(int argc, char** argv);
int cmd_reconcile(int argc, char** argv);
int cmd_settle(int argc, char** argv);
int cmd_statements(int argc, char** argv);
int cmd_fetch_totals(int argc, char** argv);

/// What a catalog load changed (at most `max_lines` change lines).
void print_catalog_report(std::ostream& out, const catalog_load_report& report, std::size_t max_lines);

/// What a reconcile run did, what is pending now by reason (one example each) and the drift stored
/// (with one example per kind when `drift_examples`).
void print_reconcile_report(std::ostream& out, const reconcile_report& report, const ledger_store& store,
                            bool drift_examples);

/// What a settle run did.
void print_settle_summary(std::ostream& out, const settle_summary& summary);

/// Writes the statements of a settled period into `out_dir` (see protocol/statements.hpp).
expected<statements_written> write_period_statements(const ledger_store& store, const std::string& period,
                                                     const std::string& out_dir);

/// The demo's back half: loads the bundled catalog (and its corrected version), reconciles, settles
/// the period twice (the second changes nothing), writes the statements and prints their summary.
/// False when any step fails or statement totals differ from settled revenue.
bool demo_settlement(std::ostream& out, const std::shared_ptr<ledger_store>& store,
                     const std::vector<recording_options>& recorded, const std::string& data_dir);

/// Prints the statement summary (at most `max_rows` holders) and checks statement totals against
/// settled revenue per currency; false when they differ.
bool print_statement_summary(std::ostream& out, const statements_written& written, const period_info& info,
                             std::size_t max_rows);

}  // namespace dspsync::cli
