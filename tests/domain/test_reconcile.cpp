#include "domain/reconcile.hpp"

#include <gtest/gtest.h>

namespace dspsync {
namespace {

constexpr int64_t pct = money::one;

royalty_record record(const std::string& isrc, const std::string& title, std::vector<std::string> artists,
                      const std::string& territory = "DE") {
  royalty_record r;
  r.isrc = isrc;
  r.title = title;
  r.artists = std::move(artists);
  r.dsp = "spotify";
  r.territory = territory;
  r.reporting_period = "2026-10";
  r.currency = "EUR";
  r.units = 1000;
  r.revenue = money::from_units(4 * money::one);
  return r;
}

recording_entry recording(const std::string& isrc, const std::string& title, const std::string& artist,
                          const std::string& iswc) {
  recording_entry r;
  r.isrc = isrc;
  r.title = title;
  r.artists = {artist};
  r.upc = "0036000291452";
  r.iswc = iswc;
  r.master = {{"Northern Lights Records", "label", right_type::master, "", 80 * pct},
              {artist, "artist", right_type::master, "", 20 * pct}};
  r.catalog_version = 1;
  return r;
}

work_entry work(const std::string& iswc) {
  work_entry w;
  w.iswc = iswc;
  w.title = "Midnight Echoes";
  w.shares = {{"Jane Writer", "writer", right_type::mechanical, "", 50 * pct},
              {"Echo Publishing", "publisher", right_type::mechanical, "", 50 * pct},
              {"Jane Writer", "writer", right_type::performance, "", 50 * pct},
              {"Echo Publishing", "publisher", right_type::performance, "", 50 * pct}};
  w.catalog_version = 1;
  return w;
}

const std::string isrc = "USRC17607839";
const std::string iswc = "T-034.524.680-1";

catalog_index complete_catalog() {
  return catalog_index({recording(isrc, "Midnight Echoes", "Nova Lane", iswc)}, {work(iswc)}, 1);
}

TEST(reconcile, reconciles_a_known_isrc_with_complete_shares) {
  auto d = reconcile(record(isrc, "Midnight Echoes", {"Nova Lane"}), complete_catalog(), {});
  EXPECT_EQ(d.state, record_state::reconciled) << d.message;
  EXPECT_EQ(d.reason, pending_reason::none);
  EXPECT_EQ(d.method, "isrc");
  EXPECT_EQ(d.recording_isrc, isrc);
  EXPECT_EQ(d.iswc, iswc);
  EXPECT_TRUE(d.drift.empty());
}

// Every pending reason, each with the message an operator needs, and each cleared once the catalog
// is fixed.
TEST(reconcile, unknown_isrc_waits_and_clears_when_the_recording_is_added) {
  const auto r = record("GBAYE0601498", "Paper Roads", {"Yuna"});
  auto d = reconcile(r, complete_catalog(), {});
  EXPECT_EQ(d.state, record_state::pending_reconciliation);
  EXPECT_EQ(d.reason, pending_reason::unknown_isrc);
  EXPECT_NE(d.message.find("ISRC GBAYE0601498 is not in the catalog"), std::string::npos) << d.message;
  EXPECT_FALSE(d.proposal);
  catalog_index fixed({recording(isrc, "Midnight Echoes", "Nova Lane", iswc),
                       recording("GBAYE0601498", "Paper Roads", "Yuna", iswc)},
                      {work(iswc)}, 2);
  d = reconcile(r, fixed, {});
  EXPECT_EQ(d.state, record_state::reconciled) << d.message;
  EXPECT_EQ(d.catalog_version, 2u);
}

TEST(reconcile, missing_iswc_waits_and_clears_when_the_iswc_is_added) {
  catalog_index broken({recording(isrc, "Midnight Echoes", "Nova Lane", "")}, {work(iswc)}, 1);
  auto d = reconcile(record(isrc, "Midnight Echoes", {"Nova Lane"}), broken, {});
  EXPECT_EQ(d.reason, pending_reason::missing_iswc);
  EXPECT_NE(d.message.find("recording USRC17607839 has no ISWC"), std::string::npos) << d.message;
  EXPECT_EQ(reconcile(record(isrc, "Midnight Echoes", {"Nova Lane"}), complete_catalog(), {}).state,
            record_state::reconciled);
}

TEST(reconcile, unknown_work_waits) {
  catalog_index broken({recording(isrc, "Midnight Echoes", "Nova Lane", iswc)}, {}, 1);
  auto d = reconcile(record(isrc, "Midnight Echoes", {"Nova Lane"}), broken, {});
  EXPECT_EQ(d.reason, pending_reason::unknown_work);
  EXPECT_NE(d.message.find("work T-034.524.680-1"), std::string::npos) << d.message;
}

TEST(reconcile, incomplete_master_shares_wait) {
  auto rec = recording(isrc, "Midnight Echoes", "Nova Lane", iswc);
  rec.master.pop_back();
  catalog_index broken({rec}, {work(iswc)}, 1);
  auto d = reconcile(record(isrc, "Midnight Echoes", {"Nova Lane"}), broken, {});
  EXPECT_EQ(d.reason, pending_reason::master_shares_incomplete);
  EXPECT_NE(d.message.find("master shares of USRC17607839 sum to 80%"), std::string::npos) << d.message;
}

TEST(reconcile, publishing_shares_of_97_5_percent_in_de_wait_only_in_de) {
  auto w = work(iswc);
  w.shares.push_back({"Echo Publishing", "publisher", right_type::performance, "DE", 4'750'000'000});
  w.shares.push_back({"Jane Writer", "writer", right_type::performance, "DE", 50 * pct});
  catalog_index broken({recording(isrc, "Midnight Echoes", "Nova Lane", iswc)}, {w}, 1);
  auto d = reconcile(record(isrc, "Midnight Echoes", {"Nova Lane"}, "DE"), broken, {});
  EXPECT_EQ(d.reason, pending_reason::performance_shares_incomplete);
  EXPECT_EQ(d.message,
            "publishing (performance) shares of T-034.524.680-1 sum to 97.5% in DE (expected 100%)");
  // Elsewhere the default lines apply, and they are complete.
  EXPECT_EQ(reconcile(record(isrc, "Midnight Echoes", {"Nova Lane"}, "FR"), broken, {}).state,
            record_state::reconciled);
  auto mech = work(iswc);
  mech.shares.erase(mech.shares.begin());
  catalog_index mech_broken({recording(isrc, "Midnight Echoes", "Nova Lane", iswc)}, {mech}, 1);
  d = reconcile(record(isrc, "Midnight Echoes", {"Nova Lane"}), mech_broken, {});
  EXPECT_EQ(d.reason, pending_reason::mechanical_shares_incomplete);
}

TEST(reconcile, a_zero_pool_needs_no_shares) {
  catalog_index no_work({recording(isrc, "Midnight Echoes", "Nova Lane", "")}, {}, 1);
  reconcile_options opts;
  opts.pools = {share_whole, 0, 0};
  EXPECT_EQ(reconcile(record(isrc, "Midnight Echoes", {"Nova Lane"}), no_work, opts).state,
            record_state::reconciled);
}

TEST(reconcile, applies_a_strong_unique_fuzzy_match_and_flags_the_reissue) {
  auto d = reconcile(record("GBAYE0601498", "MIDNIGHT ECHOES (Remastered 2011)", {"Nova Lane"}),
                     complete_catalog(), {});
  EXPECT_EQ(d.state, record_state::reconciled) << d.message;
  EXPECT_EQ(d.method, "fuzzy");
  EXPECT_EQ(d.recording_isrc, isrc);
  ASSERT_TRUE(d.proposal);
  EXPECT_DOUBLE_EQ(d.proposal->score, 1.0);
  ASSERT_EQ(d.drift.size(), 1u);
  EXPECT_EQ(d.drift[0].kind, drift_kind::isrc_reissue);
  EXPECT_EQ(d.drift[0].reference_value, isrc);
  EXPECT_EQ(d.drift[0].observed_value, "GBAYE0601498");
}

TEST(reconcile, keeps_a_weak_proposal_visible_without_applying_it) {
  auto d = reconcile(record("GBAYE0601498", "Midnight Echos Again", {"Nova Lane"}), complete_catalog(), {});
  EXPECT_EQ(d.state, record_state::pending_reconciliation);
  EXPECT_EQ(d.reason, pending_reason::fuzzy_below_threshold) << d.message;
  ASSERT_TRUE(d.proposal);
  EXPECT_EQ(d.proposal->isrc, isrc);
  EXPECT_LT(d.proposal->score, 0.92);
  EXPECT_TRUE(d.recording_isrc.empty());  // nothing to allocate against
  // The same proposal applies once the threshold allows it (an operator's choice, in config).
  reconcile_options lax;
  lax.fuzzy.threshold = d.proposal->score;
  EXPECT_EQ(
      reconcile(record("GBAYE0601498", "Midnight Echos Again", {"Nova Lane"}), complete_catalog(), lax).state,
      record_state::reconciled);
}

TEST(reconcile, a_tie_between_two_candidates_never_allocates) {
  catalog_index two({recording(isrc, "Midnight Echoes", "Nova Lane", iswc),
                     recording("USRC11100001", "Midnight Echoes", "Nova Lane", iswc)},
                    {work(iswc)}, 1);
  auto d = reconcile(record("GBAYE0601498", "Midnight Echoes", {"Nova Lane"}), two, {});
  EXPECT_EQ(d.state, record_state::pending_reconciliation);
  EXPECT_EQ(d.reason, pending_reason::fuzzy_ambiguous) << d.message;
  ASSERT_TRUE(d.proposal);
  EXPECT_DOUBLE_EQ(d.proposal->score, d.proposal->runner_up_score);
  EXPECT_FALSE(d.proposal->runner_up_isrc.empty());
}

TEST(reconcile, flags_title_and_upc_drift_with_both_values) {
  auto r = record(isrc, "Midnight Echoes Forever", {"Nova Lane"});
  r.upc = "0012345678905";
  auto d = reconcile(r, complete_catalog(), {});
  EXPECT_EQ(d.state, record_state::reconciled);
  ASSERT_EQ(d.drift.size(), 2u);
  EXPECT_EQ(d.drift[0].kind, drift_kind::title_change);
  EXPECT_EQ(d.drift[0].reference_value, "Midnight Echoes");
  EXPECT_EQ(d.drift[0].observed_value, "Midnight Echoes Forever");
  EXPECT_EQ(d.drift[1].kind, drift_kind::upc_mismatch);
  EXPECT_EQ(d.drift[1].reference_value, "0036000291452");
  EXPECT_EQ(d.drift[1].observed_value, "0012345678905");
  // Case and remaster suffixes are no title change.
  EXPECT_TRUE(reconcile(record(isrc, "MIDNIGHT ECHOES - Remastered", {"Nova Lane"}), complete_catalog(), {})
                  .drift.empty());
}

TEST(reconcile, reason_names_round_trip) {
  for (int i = 0; i <= static_cast<int>(pending_reason::performance_shares_incomplete); ++i) {
    auto r = static_cast<pending_reason>(i);
    EXPECT_EQ(pending_reason_from_name(to_string(r)), r);
  }
}

}  // namespace
}  // namespace dspsync
