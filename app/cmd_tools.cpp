// The smaller commands: check-config, replay-server, gen-har, dump, audit verify.

#include <algorithm>
#include <fstream>
#include <iostream>

#include <boost/json.hpp>

#include "app/cli.hpp"
#include "protocol/recording.hpp"
#include "protocol/replay_server.hpp"

namespace dspsync::cli {

namespace {

int fail(const std::string& command, const failure& f, int code = 1) {
  std::cerr << "dspsync " << command << ": " << f.message << "\n";
  return code;
}

expected<std::unique_ptr<ledger_store>> open_read_only(const std::string& command, const args& a) {
  auto dir = a.get("data-dir");
  if (!dir) return failure{ec::bad_argument, "--data-dir DIR is required"};
  ledger_options lo;
  lo.dir = *dir;
  lo.read_only = true;
  lo.create = false;
  (void)command;
  return ledger_store::open(lo);
}

}  // namespace

int cmd_check_config(int argc, char** argv) {
  auto a = parse("check-config", argc, argv, 2, {}, {});
  if (!a) return fail("check-config", a.error(), 2);
  if (a->positional.size() != 1) {
    std::cerr << "usage: dspsync check-config FILE\n";
    return 2;
  }
  auto cfg = load_config(a->positional[0]);
  if (!cfg) {
    std::cerr << cfg.error().message << "\n";
    return 1;
  }
  std::cout << describe_plan(*cfg);
  std::cout << "config OK\n";
  return 0;
}

int cmd_replay_server(int argc, char** argv) {
  auto a = parse("replay-server", argc, argv, 2, {"har", "port", "address", "faults"}, {});
  if (!a) return fail("replay-server", a.error(), 2);
  auto files = a->all("har");
  if (files.empty()) {
    std::cerr << "dspsync replay-server: --har FILE... is required\n";
    return 2;
  }
  std::vector<har_archive> hars;
  for (const auto& f : files) {
    auto h = load_har(f);
    if (!h) return fail("replay-server", h.error());
    hars.push_back(std::move(*h));
  }
  replay_options ro;
  if (auto p = a->get("port")) {
    auto v = to_uint(*p, "--port");
    if (!v || *v > 65535)
      return fail("replay-server", {ec::bad_argument, "--port: expected 0..65535, got " + *p}, 2);
    ro.port = static_cast<uint16_t>(*v);
  }
  if (auto ad = a->get("address")) ro.address = *ad;
  if (auto f = a->get("faults")) {
    auto plan = load_fault_plan(*f);
    if (!plan) return fail("replay-server", plan.error());
    std::cout << "replay-server: " << plan->faults.size() << " fault(s) from " << *f << "\n";
    ro.faults = std::move(*plan);
  }
  block_stop_signals();
  auto server = replay_server::start(std::move(hars), ro);
  if (!server) return fail("replay-server", server.error());
  std::cout << "replay-server: serving " << files.size() << " recording(s) on " << (*server)->origin()
            << " (Ctrl-C to stop)" << std::endl;
  while (!wait_for_signal(std::chrono::seconds(1))) {
  }
  std::cout << "replay-server: " << (*server)->requests_served() << " requests served\n";
  (*server)->stop();
  return 0;
}

int cmd_gen_har(int argc, char** argv) {
  auto a =
      parse("gen-har", argc, argv, 2,
            {"style", "records", "seed", "out", "page-size", "origin", "name", "dsp", "units-field"}, {});
  if (!a) return fail("gen-har", a.error(), 2);
  recording_options ro;
  auto style = a->get("style").value_or("cursor");
  bool known = false;
  for (auto s : {pagination_style::offset, pagination_style::cursor, pagination_style::next_url,
                 pagination_style::updated_since})
    if (style == to_string(s)) {
      ro.style = s;
      known = true;
    }
  if (!known)
    return fail("gen-har",
                {ec::bad_argument,
                 "--style: expected one of offset|cursor|next_url|updated_since, got \"" + style + "\""},
                2);
  auto out = a->get("out");
  if (!out) return fail("gen-har", {ec::bad_argument, "--out FILE is required"}, 2);
  for (auto [opt, dst] : {std::pair<const char*, std::size_t*>{"records", &ro.records}}) {
    if (auto v = a->get(opt)) {
      auto n = to_uint(*v, std::string("--") + opt);
      if (!n) return fail("gen-har", n.error(), 2);
      *dst = *n;
    }
  }
  if (auto v = a->get("seed")) {
    auto n = to_uint(*v, "--seed");
    if (!n) return fail("gen-har", n.error(), 2);
    ro.seed = *n;
  }
  if (auto v = a->get("page-size")) {
    auto n = to_uint(*v, "--page-size");
    if (!n || *n < 1 || *n > 100000)
      return fail("gen-har", {ec::bad_argument, "--page-size: expected 1..100000"}, 2);
    ro.page_size = static_cast<int>(*n);
  }
  if (auto v = a->get("origin")) ro.origin = *v;
  if (auto v = a->get("name")) ro.endpoint_name = *v;
  if (auto v = a->get("dsp")) ro.dsp = *v;
  if (auto v = a->get("units-field")) ro.units_field = *v;
  auto rec = generate_recording(ro);
  std::ofstream f(*out, std::ios::binary);
  f << write_har(rec.har);
  if (!f) return fail("gen-har", {ec::io_failure, *out + ": cannot write"});
  f.close();
  const auto& e = rec.expected;
  std::cerr << "gen-har: wrote " << *out << ": " << e.pages << " pages, " << e.records_in
            << " records in = " << e.unique << " new + " << e.restatements << " restatements + "
            << e.duplicates << " duplicates + " << e.malformed << " malformed\n"
            << "gen-har: endpoint config (set base_url to the replay server's origin):\n";
  std::cout << endpoint_config_json(rec.endpoint) << "\n";
  return 0;
}

int cmd_dump(int argc, char** argv) {
  auto a = parse("dump", argc, argv, 2, {"data-dir"}, {});
  if (!a) return fail("dump", a.error(), 2);
  auto store = open_read_only("dump", *a);
  if (!store) return fail("dump", store.error());
  std::vector<stored_record> all;
  auto st = (*store)->for_each_record([&](const stored_record& r) { all.push_back(r); });
  if (!st) return fail("dump", st.error());
  // Key then version: independent of arrival order across endpoints, so two ledgers that hold the
  // same records dump identically.
  std::sort(all.begin(), all.end(), [](const stored_record& x, const stored_record& y) {
    return x.key != y.key ? x.key < y.key : x.version < y.version;
  });
  for (const auto& r : all) {
    boost::json::object o;
    o["key"] = to_hex(r.key);
    o["version"] = r.version;
    o["state"] = to_string(r.state);
    const auto& c = r.record;
    o["isrc"] = c.isrc;
    o["upc"] = c.upc;
    o["iswc"] = c.iswc;
    o["dsp"] = c.dsp;
    o["territory"] = c.territory;
    o["territory_raw"] = c.territory_raw;
    o["reporting_period"] = c.reporting_period;
    o["transaction_id"] = c.transaction_id;
    o["currency"] = c.currency;
    o["title"] = c.title;
    boost::json::array artists;
    for (const auto& x : c.artists) artists.emplace_back(x);
    o["artists"] = std::move(artists);
    o["units"] = c.units;
    o["revenue"] = c.revenue.to_string();
    if (!r.faults.empty()) o["faults"] = r.faults;
    std::cout << boost::json::serialize(o) << "\n";
  }
  return 0;
}

int cmd_audit(int argc, char** argv) {
  if (argc < 3 || std::string(argv[2]) != "verify") {
    std::cerr << "usage: dspsync audit verify --data-dir DIR\n";
    return 2;
  }
  auto a = parse("audit verify", argc, argv, 3, {"data-dir"}, {});
  if (!a) return fail("audit verify", a.error(), 2);
  auto store = open_read_only("audit verify", *a);
  if (!store) return fail("audit verify", store.error());
  auto v = (*store)->verify_audit();
  if (!v) return fail("audit verify", v.error());
  if (v->first_broken_seq != 0) {
    std::cout << "audit chain BROKEN at entry " << v->first_broken_seq << " (" << v->detail << ")\n";
    return 1;
  }
  std::cout << "audit chain intact: " << v->entries << " entries\n";
  return 0;
}

}  // namespace dspsync::cli
