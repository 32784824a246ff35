// The back half of the pipeline: `catalog load`, `reconcile`, `settle` and `statements`, and the
// printing the demo shares with them.

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "actors/reconciler.hpp"
#include "actors/settlement.hpp"
#include "app/cli.hpp"
#include "domain/identifiers.hpp"
#include "protocol/catalog_file.hpp"
#include "protocol/demo_catalog.hpp"
#include "protocol/reported_totals.hpp"
#include "storage/catalog_store.hpp"

namespace dspsync::cli {

namespace {

int fail(const std::string& command, const failure& f, int code = 1) {
  std::cerr << "dspsync " << command << ": " << f.message << "\n";
  return code;
}

expected<engine_config> config_of(const std::string& command, const args& a) {
  auto path = a.get("config");
  if (!path) return failure{ec::bad_argument, "--config FILE is required (see dspsync help)"};
  auto cfg = load_config(*path);
  if (!cfg) return failure{cfg.error().code, "\n" + cfg.error().message};
  (void)command;
  return cfg;
}

expected<std::shared_ptr<ledger_store>> open_ledger(const engine_config& cfg, bool read_only) {
  ledger_options lo;
  lo.dir = cfg.data_dir;
  lo.map_size_mib = cfg.map_size_mib;
  lo.read_only = read_only;
  lo.create = !read_only;
  auto store = ledger_store::open(lo);
  if (!store) return store.error();
  return std::shared_ptr<ledger_store>(std::move(*store));
}

expected<std::string> month_of(const std::string& command, const args& a) {
  auto p = a.get("period");
  if (!p) return failure{ec::bad_argument, "--period YYYY-MM is required"};
  auto canonical = normalize_period(*p, "--period");
  if (!canonical || !is_month(*canonical))
    return failure{ec::bad_period, "--period: expected a month YYYY-MM, got \"" + *p + "\""};
  (void)command;
  return *canonical;
}

std::string counts_by(const std::map<std::string, uint64_t>& m) {
  std::string out;
  for (const auto& [name, n] : m) out += (out.empty() ? "" : ", ") + name + " " + std::to_string(n);
  return out;
}

}  // namespace

void print_catalog_report(std::ostream& out, const catalog_load_report& r, std::size_t max_lines) {
  const auto& i = r.info;
  if (!r.changed) {
    out << "catalog unchanged (version " << i.version << "): " << i.recordings_unchanged << " recordings and "
        << i.works_unchanged << " works are stored as they are; nothing new was stored\n";
    return;
  }
  out << "catalog version " << i.version << " (" << i.source << "):\n"
      << "  recordings: " << i.recordings_added << " added, " << i.recordings_changed << " changed, "
      << i.recordings_unchanged << " unchanged\n"
      << "  works:      " << i.works_added << " added, " << i.works_changed << " changed, "
      << i.works_unchanged << " unchanged\n";
  if (i.version > 1) {  // the additions of a first load are the load itself
    std::size_t shown = 0;
    for (const auto& line : r.changes) {
      if (shown++ == max_lines) {
        out << "  ... and " << r.changes.size() - max_lines << " more (all in the catalog history)\n";
        break;
      }
      out << "  " << line << "\n";
    }
  }
  if (!r.reassignments.empty()) {
    out << "  rights-holder reassignments (stored as drift): " << r.reassignments.size() << "\n";
    for (std::size_t k = 0; k < r.reassignments.size() && k < 3; ++k)
      out << "    " << r.reassignments[k].subject << ": " << r.reassignments[k].reference_value << "  ->  "
          << r.reassignments[k].observed_value << "\n";
  }
}

void print_reconcile_report(std::ostream& out, const reconcile_report& r, const ledger_store& store,
                            bool drift_examples) {
  const auto& s = r.summary;
  out << "reconcile against catalog version " << s.catalog_version << " (" << r.catalog_recordings
      << " recordings, " << r.catalog_works << " works): decided " << s.decided << ": " << s.reconciled
      << " reconciled (" << s.fuzzy_applied << " by fuzzy match), " << s.pending << " pending";
  if (s.revisited > 0) out << "; revisited " << s.revisited << " pending, released " << s.released;
  out << "\n";
  // What is pending now, by reason, with one example each: the operator's to-do list.
  std::map<std::string, uint64_t> pending;
  std::map<std::string, std::string> example;
  std::set<uint64_t> pending_seqs;
  (void)store.for_each_latest_record([&](const stored_record& rec) {
    if (rec.state == record_state::pending_reconciliation) pending_seqs.insert(rec.seq);
  });
  (void)store.for_each_decision([&](const stored_decision& d) {
    if (pending_seqs.count(d.record_seq) == 0) return;
    pending_seqs.erase(d.record_seq);
    const std::string reason = to_string(d.decision.reason);
    if (pending[reason]++ == 0) example[reason] = d.decision.message;
  });
  if (!pending_seqs.empty()) pending["validation_fault"] += pending_seqs.size();
  if (!pending.empty()) {
    out << "pending_reconciliation now:\n";
    for (const auto& [reason, n] : pending) {
      out << "  " << std::left << std::setw(31) << reason << std::right << std::setw(7) << n;
      if (!example[reason].empty()) out << "  e.g. " << example[reason];
      out << "\n";
    }
  }
  std::map<std::string, uint64_t> drift;
  std::map<std::string, std::string> drift_example;
  (void)store.for_each_drift([&](const stored_drift& d) {
    const std::string kind = to_string(d.event.kind);
    if (drift[kind]++ == 0)
      drift_example[kind] =
          d.event.subject + ": " + d.event.reference_value + " -> " + d.event.observed_value;
  });
  out << "drift events stored: " << (drift.empty() ? "none" : counts_by(drift))
      << " (new this run: " << s.drift_events + r.outliers << ")\n";
  if (!drift_examples) return;
  for (const auto& [kind, text] : drift_example)
    out << "  " << std::left << std::setw(20) << kind << std::right << text << "\n";
}

void print_settle_summary(std::ostream& out, const settle_summary& s) {
  const auto& i = s.info;
  if (s.already_settled) {
    out << "period " << s.period << " was settled before: nothing changed (" << i.regular << " entries, "
        << i.adjustments << " adjustments)\n";
    return;
  }
  out << "settled " << s.period << ": " << i.regular << " records, " << i.adjustments << " adjustments, "
      << i.lines << " statement lines\n";
  out << "  settled revenue:";
  for (const auto& [cur, m] : i.gross_by_currency) out << " " << m.to_string() << " " << cur << ";";
  out << "\n";
  if (i.left_pending + i.left_unreconciled > 0)
    out << "  not settled: " << i.left_pending << " pending, " << i.left_unreconciled
        << " not reconciled; once reconciled they settle as adjustments in the next open period\n";
}

expected<statements_written> write_period_statements(const ledger_store& store, const std::string& period,
                                                     const std::string& out_dir) {
  auto info = store.period(period);
  if (!info) return info.error();
  if (!*info || !(*info)->settled)
    return failure{ec::bad_argument,
                   "period " + period + " is not settled (run dspsync settle --period " + period + " first)"};
  std::vector<settled_entry> entries;
  std::map<std::string, int64_t> settled_on_key;  // key hex -> everything settled on it, any period
  std::map<std::pair<std::string, std::string>, ledger_figures> figures;
  auto fig = [&](const std::string& dsp, const std::string& cur) -> ledger_figures& {
    auto& f = figures[{dsp, cur}];
    f.dsp = dsp;
    f.currency = cur;
    return f;
  };
  auto all = store.for_each_period([&](const period_info& p) {
    (void)store.for_each_settlement(p.period, [&](const settled_entry& e) {
      settled_on_key[to_hex(e.key)] += e.gross.units();
      if (e.period == period) entries.push_back(e);
      auto& f = fig(e.dsp, e.currency);
      if (e.original_period == period && e.period == period && e.kind == entry_kind::regular) {
        ++f.settled;
        f.settled_revenue = money::from_units(f.settled_revenue.units() + e.gross.units());
      } else if (e.original_period == period) {
        f.adjusted_later = money::from_units(f.adjusted_later.units() + e.gross.units());
      }
      if (e.period == period && e.original_period != period) {
        ++f.adjustments_in;
        f.adjustments_in_revenue = money::from_units(f.adjustments_in_revenue.units() + e.gross.units());
      }
    });
  });
  if (!all) return all.error();
  std::map<uint64_t, std::string> reason_of;
  auto decisions = store.for_each_decision([&](const stored_decision& d) {
    if (d.decision.state == record_state::pending_reconciliation)
      reason_of[d.record_seq] = to_string(d.decision.reason);
  });
  if (!decisions) return decisions.error();
  auto latest = store.for_each_latest_record([&](const stored_record& r) {
    if (r.record.reporting_period != period) return;
    auto& f = fig(r.record.dsp, r.record.currency);
    ++f.records;
    f.revenue = money::from_units(f.revenue.units() + r.record.revenue.units());
    auto it = settled_on_key.find(to_hex(r.key));
    const int64_t open = r.record.revenue.units() - (it == settled_on_key.end() ? 0 : it->second);
    auto add = [&](uint64_t& n, money& m) {
      ++n;
      m = money::from_units(m.units() + open);
    };
    switch (r.state) {
      case record_state::pending_reconciliation: {
        add(f.pending, f.pending_revenue);
        auto reason = reason_of.find(r.seq);
        ++f.pending_reasons[reason == reason_of.end() ? "validation_fault" : reason->second];
        break;
      }
      case record_state::validated:
        add(f.unreconciled, f.unreconciled_revenue);
        break;
      case record_state::reconciled:
        add(f.awaiting, f.awaiting_revenue);
        break;
      default:
        break;  // settled: its money is in the entries (a remainder would show in the identity)
    }
  });
  if (!latest) return latest.error();
  auto reported = store.for_each_reported_total([&](const reported_total& t) {
    if (t.period != period) return;
    auto& f = fig(t.dsp, t.currency);
    if (!f.reported) f.reported = reported_figures{};
    f.reported->records += t.records;
    f.reported->revenue = money::from_units(f.reported->revenue.units() + t.revenue.units());
    f.reported->origin += (f.reported->origin.empty() ? "" : ", ") + t.source + " " + t.origin;
  });
  if (!reported) return reported.error();
  std::map<std::string, uint64_t> quarantined;
  auto checkpoints = store.checkpoints();
  if (!checkpoints) return checkpoints.error();
  for (const auto& [source, c] : *checkpoints) quarantined[source] = c.quarantined + c.page_faults;
  std::vector<ledger_figures> rows;
  for (auto& [k, f] : figures) rows.push_back(std::move(f));
  return write_statements(out_dir, period, entries, rows, quarantined);
}

bool print_statement_summary(std::ostream& out, const statements_written& w, const period_info& info,
                             std::size_t max_rows) {
  auto holders = w.holders;
  std::sort(holders.begin(), holders.end(), [](const auto& a, const auto& b) {
    return a.payee_currency != b.payee_currency ? a.payee_currency < b.payee_currency
                                                : b.payee_total.units() < a.payee_total.units();
  });
  out << std::left << std::setw(30) << "rights holder" << std::right << std::setw(9) << "lines"
      << std::setw(22) << "payable"
      << "\n";
  for (std::size_t i = 0; i < holders.size() && i < max_rows; ++i)
    out << std::left << std::setw(30) << holders[i].holder << std::right << std::setw(9) << holders[i].lines
        << std::setw(18) << holders[i].payable.to_string() << " " << holders[i].payee_currency << "\n";
  if (holders.size() > max_rows) out << "... and " << holders.size() - max_rows << " more rights holders\n";
  bool balanced = true;
  for (const auto& [cur, settled] : w.settled_by_currency) {
    auto it = w.statements_by_currency.find(cur);
    const money stated = it == w.statements_by_currency.end() ? money{} : it->second;
    auto stored = info.gross_by_currency.find(cur);
    const bool ok = stated == settled && stored != info.gross_by_currency.end() && stored->second == settled;
    balanced = balanced && ok;
    out << "  " << cur << ": statements " << stated.to_string() << " = settled revenue "
        << settled.to_string() << (ok ? "  (exact)" : "  (DOES NOT MATCH)") << "\n";
  }
  if (w.settled_by_currency.size() != info.gross_by_currency.size()) balanced = false;
  out << "reconciliation report: " << w.discrepancies << " rows with discrepancies named\n";
  return balanced;
}

bool demo_settlement(std::ostream& out, const std::shared_ptr<ledger_store>& store,
                     const std::vector<recording_options>& recorded, const std::string& data_dir) {
  using clock = std::chrono::steady_clock;
  auto seconds = [](clock::time_point since) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(2) << std::chrono::duration<double>(clock::now() - since).count()
      << " s";
    return s.str();
  };
  auto problem = [&](const std::string& what, const failure& f) {
    out << "demo: " << what << ": " << f.message << "\n";
    return false;
  };
  const std::string period = recorded.empty() ? "2026-10" : recorded.front().period;
  // The bundled catalog, written in the documented CSV format and loaded like any other.
  const auto catalog = make_demo_catalog(recorded);
  std::error_code fs_error;
  std::filesystem::create_directories(data_dir + "/catalog", fs_error);
  std::filesystem::create_directories(data_dir + "/fx", fs_error);
  auto write = [&](const std::string& path, const std::string& text) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << text;
    return static_cast<bool>(f);
  };
  const std::string dir = data_dir + "/catalog/";
  if (!write(dir + "demo_recordings.csv", recordings_csv(catalog.first.recordings)) ||
      !write(dir + "demo_works.csv", works_csv(catalog.first.works)) ||
      !write(dir + "demo_recordings_v2.csv", recordings_csv(catalog.fix.recordings)) ||
      !write(dir + "demo_works_v2.csv", works_csv(catalog.fix.works)) ||
      !write(data_dir + "/fx/" + period + ".csv", demo_fx_table()))
    return problem("writing the bundled catalog", {ec::io_failure, "cannot write under " + data_dir});

  settlement_config sc;
  sc.fx_table = data_dir + "/fx/{period}.csv";
  sc.default_currency = "USD";
  for (const auto& [holder, currency] : catalog.payee_currencies) sc.payee_currencies[holder] = currency;

  out << "\n--- reconciliation, settlement, statements ---\n"
      << "bundled catalog for " << catalog.tracks << " tracks, with planted faults: " << catalog.missing
      << " missing, " << catalog.reissued << " under another ISRC, " << catalog.no_iswc << " without ISWC, "
      << catalog.unknown_work << " with an unknown work, " << catalog.master_incomplete
      << " with master shares at 90%, " << catalog.performance_de
      << " with performance shares at 97.5% in DE, " << catalog.title_changed << " retitled, "
      << catalog.upc_changed << " with another UPC\n";
  catalog_store catalogs(*store);
  auto load = [&](const std::string& recordings, const std::string& works) -> bool {
    auto data = read_catalog_files({recordings, works});
    if (!data) return problem("reading the bundled catalog", data.error());
    auto report = catalogs.load(*data, "demo_recordings + demo_works");
    if (!report) return problem("loading the bundled catalog", report.error());
    print_catalog_report(out, *report, 4);
    return true;
  };
  auto reconcile_now = [&](bool drift_examples) -> bool {
    const auto started = clock::now();
    auto r = reconcile_once(store, sc);
    if (!r) return problem("reconcile", r.error());
    print_reconcile_report(out, *r, *store, drift_examples);
    out << "(reconciled in " << seconds(started) << ")\n";
    return true;
  };
  auto version = catalogs.version();
  if (!version) return problem("reading the catalog version", version.error());
  // A data directory that holds the demo's catalog already (a second run) keeps it as it is.
  if (*version == 0 && !load(dir + "demo_recordings.csv", dir + "demo_works.csv")) return false;
  if (!reconcile_now(true)) return false;
  if (*version <= 1) {
    out << "\nthe catalog team fixes the missing ISWCs and the German shares; a label's masters change "
           "hands:\n";
    if (!load(dir + "demo_recordings_v2.csv", dir + "demo_works_v2.csv") || !reconcile_now(false))
      return false;
  } else {
    out << "catalog version " << *version << " is loaded already; the demo leaves it as it is\n";
  }

  out << "\n";
  const auto started = clock::now();
  auto settled = settle_once(store, sc, period);
  if (!settled) return problem("settle " + period, settled.error());
  print_settle_summary(out, *settled);
  out << "(settled in " << seconds(started) << ")\n";
  auto again = settle_once(store, sc, period);
  if (!again) return problem("settle " + period + " again", again.error());
  out << "settling " << period << " again: " << (again->already_settled ? "nothing changed" : "SETTLED TWICE")
      << "\n";

  const std::string statements_dir = data_dir + "/statements-" + period;
  auto written = write_period_statements(*store, period, statements_dir);
  if (!written) return problem("statements", written.error());
  out << "\nstatements for " << period << " (" << written->holders.size() << " rights holders; statements-"
      << period << "/ in the data directory):\n";
  const bool balanced = print_statement_summary(out, *written, settled->info, 12);
  return balanced && again->already_settled;
}

int cmd_catalog(int argc, char** argv) {
  if (argc < 3 || std::string(argv[2]) != "load") {
    std::cerr << "usage: dspsync catalog load --config FILE CATALOG_FILE...\n";
    return 2;
  }
  auto a = parse("catalog load", argc, argv, 3, {"config"}, {});
  if (!a) return fail("catalog load", a.error(), 2);
  // `--config F FILE...`: the option parser hands every value up to the next `--` to --config.
  if (auto values = a->all("config"); values.size() > 1) {
    a->positional.insert(a->positional.begin(), values.begin() + 1, values.end());
    a->options["config"] = {values.front()};
  }
  if (a->positional.empty()) {
    std::cerr << "usage: dspsync catalog load --config FILE CATALOG_FILE...\n";
    return 2;
  }
  auto cfg = config_of("catalog load", *a);
  if (!cfg) return fail("catalog load", cfg.error(), 2);
  auto data = read_catalog_files(a->positional);
  if (!data) return fail("catalog load", data.error());
  auto store = open_ledger(*cfg, false);
  if (!store) return fail("catalog load", store.error());
  std::string source;
  for (const auto& f : a->positional) source += (source.empty() ? "" : " ") + f;
  std::cout << "read " << data->recordings.size() << " recordings and " << data->works.size()
            << " works from " << a->positional.size() << " file(s)\n";
  auto report = catalog_store(**store).load(*data, source);
  if (!report) return fail("catalog load", report.error());
  print_catalog_report(std::cout, *report, 50);
  // Records are decided against the current version after every load, a load that changed
  // nothing included: a load killed after storing its version but before its reconcile committed
  // is finished by running it again, which finds the catalog unchanged. A reconcile with nothing
  // left to decide commits nothing.
  auto r = reconcile_once(*store, cfg->settlement);
  if (!r) return fail("catalog load", r.error());
  if (report->changed || r->summary.decided > 0) print_reconcile_report(std::cout, *r, **store, true);
  return 0;
}

int cmd_reconcile(int argc, char** argv) {
  auto a = parse("reconcile", argc, argv, 2, {"config"}, {});
  if (!a) return fail("reconcile", a.error(), 2);
  auto cfg = config_of("reconcile", *a);
  if (!cfg) return fail("reconcile", cfg.error(), 2);
  auto store = open_ledger(*cfg, false);
  if (!store) return fail("reconcile", store.error());
  auto r = reconcile_once(*store, cfg->settlement);
  if (!r) return fail("reconcile", r.error());
  print_reconcile_report(std::cout, *r, **store, true);
  return 0;
}

int cmd_settle(int argc, char** argv) {
  auto a = parse("settle", argc, argv, 2, {"config", "period"}, {});
  if (!a) return fail("settle", a.error(), 2);
  auto period = month_of("settle", *a);
  if (!period) return fail("settle", period.error(), 2);
  auto cfg = config_of("settle", *a);
  if (!cfg) return fail("settle", cfg.error(), 2);
  auto store = open_ledger(*cfg, false);
  if (!store) return fail("settle", store.error());
  auto s = settle_once(*store, cfg->settlement, *period);
  if (!s) return fail("settle", s.error());
  print_settle_summary(std::cout, *s);
  return 0;
}

int cmd_statements(int argc, char** argv) {
  auto a = parse("statements", argc, argv, 2, {"config", "period", "out"}, {});
  if (!a) return fail("statements", a.error(), 2);
  auto period = month_of("statements", *a);
  if (!period) return fail("statements", period.error(), 2);
  auto out_dir = a->get("out");
  if (!out_dir || out_dir->empty()) return fail("statements", {ec::bad_argument, "--out DIR is required"}, 2);
  auto cfg = config_of("statements", *a);
  if (!cfg) return fail("statements", cfg.error(), 2);
  auto store = open_ledger(*cfg, true);  // read-only: statements may be written while the engine runs
  if (!store) return fail("statements", store.error());
  auto written = write_period_statements(**store, *period, *out_dir);
  if (!written) return fail("statements", written.error());
  auto info = (*store)->period(*period);
  if (!info || !*info) return fail("statements", {ec::storage_failure, "period " + *period + " vanished"});
  std::cout << "statements for " << *period << " in " << *out_dir << ": " << written->holders.size()
            << " rights holders, summary.csv, totals.csv, reconciliation.csv\n";
  const bool balanced = print_statement_summary(std::cout, *written, **info, 20);
  if (!balanced) {
    std::cerr << "dspsync statements: statement totals do not equal settled revenue (see totals.csv)\n";
    return 1;
  }
  return 0;
}

int cmd_fetch_totals(int argc, char** argv) {
  const std::string command = "fetch-totals";
  auto a = parse(command, argc, argv, 2, {"config", "period", "endpoint"}, {});
  if (!a) return fail(command, a.error(), 2);
  auto period = month_of(command, *a);
  if (!period) return fail(command, period.error(), 2);
  auto cfg = config_of(command, *a);
  if (!cfg) return fail(command, cfg.error(), 2);
  const auto only = a->get("endpoint");
  std::vector<const endpoint_config*> chosen;
  for (const auto& ep : cfg->endpoints)
    if ((!only || ep.name == *only) && ep.totals.enabled) chosen.push_back(&ep);
  if (chosen.empty())
    return fail(command,
                {ec::bad_argument,
                 only ? "endpoint \"" + *only + "\" is not configured or has no \"totals\" object"
                      : std::string("no endpoint has a \"totals\" object (docs/configuration.md#totals)")},
                2);
  auto store = open_ledger(*cfg, false);
  if (!store) return fail(command, store.error());
  network net;
  bool failed = false;
  for (const auto* ep : chosen) {
    auto rows = fetch_totals(net, *ep, *period);
    if (!rows) {
      std::cerr << "dspsync " << command << ": " << rows.error().message << "\n";
      failed = true;
      continue;
    }
    // One stored total per (source, DSP, period, currency): rows of one currency are summed.
    std::map<std::string, reported_total> by_currency;
    for (const auto& row : *rows) {
      auto& t = by_currency[row.currency];
      t.source = ep->name;
      t.dsp = ep->dsp;
      t.period = row.period;
      t.currency = row.currency;
      t.records += row.records;
      t.units += row.units;
      t.revenue = money::from_units(t.revenue.units() + row.revenue.units());
      t.origin = "GET " + totals_target(ep->totals, *period);
    }
    std::cout << ep->name << ": " << by_currency.size() << " DSP total(s) for " << *period;
    for (const auto& [currency, t] : by_currency) {
      auto st = (*store)->put_reported_total(t);
      if (!st) return fail(command, st.error());
      std::cout << (&t == &by_currency.begin()->second ? ": " : "; ") << t.revenue.to_string() << " "
                << currency << " over " << t.records << " records";
    }
    std::cout << "\n";
  }
  net.stop();
  return failed ? 1 : 0;
}

}  // namespace dspsync::cli
