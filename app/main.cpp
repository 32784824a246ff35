// dspsync: pulls DSP reporting data, checks it, and keeps it exactly once. See README.md.

#include <cstring>
#include <iostream>
#include <string>

#include "app/cli.hpp"

namespace {

constexpr const char* usage = R"(dspsync — DSP royalty data, pulled, checked and kept exactly once

usage: dspsync COMMAND [options]

  demo [--data-dir DIR] [--scale N]
        The whole job on an embedded default: a replayed DSP with four endpoints (cursor, offset,
        next_url, updated_since), duplicates, restatements and malformed records; prints progress
        and a per-endpoint summary with the accounting identity checked, then reconciles against a
        bundled catalog, settles the period and prints the statement summary.
  run --config FILE [--once] [--log-file F]
        The engine as a service until SIGINT/SIGTERM (--once: until every endpoint has caught up):
        pollers, live reconciliation once a catalog is loaded, the console, /metrics and webhooks.
        Logs are JSON lines on stderr (or F); DSPSYNC_LOG_LEVEL=debug|info|warn|error.
  check-config FILE
        Validate a config and print what it would do.
  replay-server --har FILE... [--faults FILE] [--port N] [--address A]
        Serve HAR recordings as a DSP stand-in until SIGINT/SIGTERM.
  gen-har --style offset|cursor|next_url|updated_since --records N --out FILE [--seed S]
          [--page-size N] [--origin URL] [--name NAME] [--dsp DSP]
        Write a deterministic recording and print the endpoint config that polls it.
  dump --data-dir DIR
        Every stored record version as JSON lines, ordered by key and version.
  ingest-csv --config FILE --source NAME [--batch-rows N] [--commit-batches N] [--dry-run] FILE...
        Ingest CSV/TSV sales reports (gzip too) of a configured source straight into the ledger
        (not while the engine runs on the same data_dir); resumes a file at its committed offset.
        --dry-run reads, maps and validates without opening the ledger.
  ingest-dsr --config FILE --source NAME [--lenient] [--dry-run] FILE...
        Ingest DDEX DSR flat files (all files of a multi-file report at once); FOOT counts checked.
  gen-csv (--rows N | --bytes N) --out FILE [--seed S] [--bad-every N] [--gzip]
        Write a deterministic CSV report (default columns) for tests and measurements.
  catalog load --config FILE CATALOG_FILE...
        Load recordings and works (CSV or JSON, see examples/catalog/README.md) as a new catalog
        version, report what changed, and re-evaluate the pending records against it.
  reconcile --config FILE
        Match validated records to the catalog (fuzzy fallback for unknown ISRCs), revisit pending
        ones after a catalog change, flag drift; prints what is pending and why.
  settle --config FILE --period YYYY-MM
        Close and settle a period: exact splits per rights holder and right, FX into payee
        currencies; late records go to the next open period. Settling twice changes nothing.
  fetch-totals --config FILE --period YYYY-MM [--endpoint NAME]
        Fetch the DSPs' own totals of a period from the endpoints' totals URL (endpoints[].totals)
        and keep them for the statements' reconciliation report (one request per endpoint).
  statements --config FILE --period YYYY-MM --out DIR
        One CSV per rights holder, summary.csv, totals.csv and reconciliation.csv.
  audit verify --data-dir DIR
        Recompute the audit hash chain and name the first broken entry.
  help
        This text.
)";

}  // namespace

int main(int argc, char** argv) {
  using namespace dspsync::cli;
  if (argc < 2 || std::strcmp(argv[1], "help") == 0 || std::strcmp(argv[1], "--help") == 0 ||
      std::strcmp(argv[1], "-h") == 0) {
    std::cout << usage;
    return argc < 2 ? 2 : 0;
  }
  std::string cmd = argv[1];
  try {
    if (cmd == "demo") return cmd_demo(argc, argv);
    if (cmd == "run") return cmd_run(argc, argv);
    if (cmd == "check-config") return cmd_check_config(argc, argv);
    if (cmd == "replay-server") return cmd_replay_server(argc, argv);
    if (cmd == "gen-har") return cmd_gen_har(argc, argv);
    if (cmd == "dump") return cmd_dump(argc, argv);
    if (cmd == "audit") return cmd_audit(argc, argv);
    if (cmd == "catalog") return cmd_catalog(argc, argv);
    if (cmd == "reconcile") return cmd_reconcile(argc, argv);
    if (cmd == "settle") return cmd_settle(argc, argv);
    if (cmd == "statements") return cmd_statements(argc, argv);
    if (cmd == "fetch-totals") return cmd_fetch_totals(argc, argv);
    if (cmd == "ingest-csv") return cmd_ingest_csv(argc, argv);
    if (cmd == "ingest-dsr") return cmd_ingest_dsr(argc, argv);
    if (cmd == "gen-csv") return cmd_gen_csv(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "dspsync " << cmd << ": " << e.what() << "\n";
    return 1;
  }
  std::cerr << "dspsync: unknown command '" << cmd << "' (try dspsync help)\n";
  return 2;
}
