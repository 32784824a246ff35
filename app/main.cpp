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
        and a per-endpoint summary with the accounting identity checked.
  run --config FILE [--once]
        The engine as a service until SIGINT/SIGTERM (--once: until every endpoint has caught up).
  check-config FILE
        Validate a config and print what it would do.
  replay-server --har FILE... [--port N] [--address A]
        Serve HAR recordings as a DSP stand-in until SIGINT/SIGTERM.
  gen-har --style offset|cursor|next_url|updated_since --records N --out FILE [--seed S]
          [--page-size N] [--origin URL] [--name NAME] [--dsp DSP]
        Write a deterministic recording and print the endpoint config that polls it.
  dump --data-dir DIR
        Every stored record version as JSON lines, ordered by key and version.
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
  } catch (const std::exception& e) {
    std::cerr << "dspsync " << cmd << ": " << e.what() << "\n";
    return 1;
  }
  std::cerr << "dspsync: unknown command '" << cmd << "' (try dspsync help)\n";
  return 2;
}
