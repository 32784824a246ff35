// Storage faults: a full LMDB map stops ingestion with an alert and loses nothing acknowledged;
// growing the map in the config resumes it. Unusable data directories give a clear error at start.

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include "actors/engine.hpp"
#include "protocol/log.hpp"
#include "protocol/recording.hpp"
#include "protocol/replay_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace dspsync::test {
namespace {

using namespace std::chrono_literals;

TEST(storage_faults, a_full_map_stops_ingestion_and_a_bigger_map_resumes_it) {
  temp_dir dir;
  log_settings ls;
  ls.path = dir.sub("log.jsonl");
  configure_log(ls);
  recording_options ro;
  ro.records = 12000;
  ro.page_size = 500;
  ro.endpoint_name = "filling";
  auto rec = generate_recording(ro);
  auto server = std::move(*replay_server::start({rec.har}));
  engine_config cfg;
  cfg.data_dir = dir.sub("data");
  cfg.map_size_mib = 2;  // far too small for 12,000 records and their raw pages
  cfg.supervision.restart_delay = 10ms;
  cfg.supervision.max_restarts = 2;
  auto ep = rec.endpoint;
  ep.base_url = server->origin();
  ep.rate.requests_per_second = 1000;
  ep.rate.burst = 100;
  cfg.endpoints.push_back(ep);
  engine_options eo;
  eo.once = true;
  uint64_t committed_before = 0;
  {
    auto eng = std::move(*engine::start(cfg, eo));
    ASSERT_TRUE(eng->wait_done(60s));
    auto st = eng->status();
    ASSERT_EQ(st.size(), 1u);
    EXPECT_EQ(st[0].state, "failed") << st[0].reason;
    eng->stop();
    auto cp = eng->store()->checkpoint("filling");
    ASSERT_TRUE(cp && *cp);  // some pages fitted before the map filled up
    committed_before = (**cp).records_in;
  }
  EXPECT_GT(committed_before, 0u);
  EXPECT_LT(committed_before, rec.expected.records_in);
  // The alert names the cause and the fix.
  std::ifstream in(dir.sub("log.jsonl"));
  std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(log.find("MDB_MAP_FULL"), std::string::npos);
  EXPECT_NE(log.find("map_size_mib"), std::string::npos);

  cfg.map_size_mib = 256;
  auto eng = std::move(*engine::start(cfg, eo));
  ASSERT_TRUE(eng->wait_done(60s));
  EXPECT_EQ(eng->status()[0].state, "caught_up");
  eng->stop();
  auto cp = **eng->store()->checkpoint("filling");
  EXPECT_EQ(cp.records_in, rec.expected.records_in);
  EXPECT_EQ(cp.inserted, rec.expected.unique);
  EXPECT_EQ(cp.duplicates, rec.expected.duplicates);
  EXPECT_EQ(cp.quarantined, rec.expected.malformed);
  log_settings quiet;
  quiet.quiet = true;
  configure_log(quiet);
}

TEST(storage_faults, unusable_data_directories_are_refused_at_start_with_a_reason) {
  temp_dir dir;
  ledger_options lo;
  lo.dir = dir.sub("no/such/parent");
  auto missing = ledger_store::open(lo);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("no/such/parent"), std::string::npos);

  ::mkdir(dir.sub("ro").c_str(), 0500);
  lo.dir = dir.sub("ro");
  auto read_only = ledger_store::open(lo);
  if (::geteuid() != 0) {  // root writes anywhere
    ASSERT_FALSE(read_only);
    EXPECT_NE(read_only.error().message.find("not writable"), std::string::npos);
  }
  read_only = failure{};

  lo.dir = dir.sub("taken");
  auto first = ledger_store::open(lo);
  ASSERT_TRUE(first);
  auto second = ledger_store::open(lo);
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("another dspsync engine"), std::string::npos);
}

}  // namespace
}  // namespace dspsync::test
