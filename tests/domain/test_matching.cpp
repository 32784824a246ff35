#include "domain/matching.hpp"

#include <gtest/gtest.h>

#include "domain/reconcile.hpp"

namespace dspsync {
namespace {

double score(const std::string& t1, const std::vector<std::string>& a1, const std::string& t2,
             const std::vector<std::string>& a2) {
  return match_score(normalize_track(t1, a1), normalize_track(t2, a2));
}

TEST(fold, strips_diacritics_and_case_but_keeps_other_scripts) {
  EXPECT_EQ(fold("Café de MAÑANA"), "cafe de manana");
  EXPECT_EQ(fold("Björn Ek, Łódź, Straße, Æther, Œuvre"), "bjorn ek, lodz, strasse, aether, oeuvre");
  EXPECT_EQ(fold("Cafe\xCC\x81"), "cafe");  // e + combining acute (NFD)
  EXPECT_EQ(fold("夜明けの"), "夜明けの");
  EXPECT_EQ(fold("Don\xE2\x80\x99t"), "don't");
}

TEST(normalize_track, drops_remasters_and_featured_artists_but_not_versions) {
  auto t = normalize_track("Midnight Echoes (Remastered 2011)", {"Nova Lane"});
  EXPECT_EQ(t.title, "midnight echoes");
  t = normalize_track("Midnight Echoes - 2011 Remaster", {"Nova Lane"});
  EXPECT_EQ(t.title, "midnight echoes");
  t = normalize_track("Midnight Echoes [Remastered Version]", {"Nova Lane"});
  EXPECT_EQ(t.title, "midnight echoes");
  t = normalize_track("Midnight Echoes (feat. Yuna & Kofi Mensah)", {"Nova Lane"});
  EXPECT_EQ(t.title, "midnight echoes");
  EXPECT_EQ(t.artists, (std::vector<std::string>{"kofi mensah", "nova lane", "yuna"}));
  t = normalize_track("Midnight Echoes ft. Yuna", {"The Lanterns feat. Élan"});
  EXPECT_EQ(t.title, "midnight echoes");
  EXPECT_EQ(t.artists, (std::vector<std::string>{"elan", "lanterns", "yuna"}));
  t = normalize_track("Midnight Echoes (Live)", {});
  EXPECT_EQ(t.title, "midnight echoes live");
  t = normalize_track("Sam's Song: Part 2!", {"Sam O'Neil"});
  EXPECT_EQ(t.title, "sams song part 2");
  EXPECT_EQ(t.artists, (std::vector<std::string>{"sam oneil"}));
}

struct near_miss {
  const char* title_a;
  std::vector<std::string> artists_a;
  const char* title_b;
  std::vector<std::string> artists_b;
};

class must_match : public ::testing::TestWithParam<near_miss> {};

TEST_P(must_match, scores_at_least_the_default_threshold) {
  const auto& c = GetParam();
  EXPECT_GE(score(c.title_a, c.artists_a, c.title_b, c.artists_b), fuzzy_options{}.threshold)
      << c.title_a << " vs " << c.title_b;
}

INSTANTIATE_TEST_SUITE_P(
    near_misses, must_match,
    ::testing::Values(
        near_miss{"MIDNIGHT ECHOES", {"NOVA LANE"}, "Midnight Echoes", {"Nova Lane"}},
        near_miss{"Cafe de Manana", {"Amelie Roux"}, "Café de Mañana", {"Amélie Roux"}},
        near_miss{"Midnight Echoes (feat. Yuna)", {"Nova Lane"}, "Midnight Echoes", {"Nova Lane"}},
        near_miss{"Midnight Echoes", {"Nova Lane feat. Yuna"}, "Midnight Echoes", {"Nova Lane"}},
        near_miss{"Golden River (Remastered 2011)", {"Los Faros"}, "Golden River", {"Los Faros"}},
        near_miss{"Golden River - 2011 Remaster", {"Los Faros"}, "Golden River", {"Los Faros"}},
        near_miss{"Golden River!", {"Los Faros"}, "Golden River", {"Los Faros"}},
        near_miss{"Dont Stop the Rain", {"Sam ONeil"}, "Don't Stop the Rain", {"Sam O'Neil"}},
        near_miss{"Rock & Roll Tides", {"Mira & Co"}, "Rock and Roll Tides", {"Mira and Co"}},
        near_miss{"Velvet Skyline", {"The Lanterns"}, "Velvet Skyline", {"Lanterns"}},
        near_miss{"Endless Letters", {"Hanna Berg"}, "Endless Leters", {"Hanna Berg"}}));  // a typo

class must_not_match : public ::testing::TestWithParam<near_miss> {};

TEST_P(must_not_match, stays_below_the_default_threshold) {
  const auto& c = GetParam();
  EXPECT_LT(score(c.title_a, c.artists_a, c.title_b, c.artists_b), fuzzy_options{}.threshold)
      << c.title_a << " vs " << c.title_b;
}

INSTANTIATE_TEST_SUITE_P(different_songs, must_not_match,
                         ::testing::Values(
                             // A different song by the same artist.
                             near_miss{"Midnight Echoes", {"Nova Lane"}, "Midnight River", {"Nova Lane"}},
                             near_miss{"Golden Hearts", {"Los Faros"}, "Golden Hours", {"Los Faros"}},
                             near_miss{
                                 "Electric Dreams Part 1", {"Yuna"}, "Electric Dreams Part 2", {"Yuna"}},
                             near_miss{"Symphony No. 5", {"Hanna Berg"}, "Symphony No. 9", {"Hanna Berg"}},
                             near_miss{"Neon Lights", {"DJ Kaito"}, "Neon Lights (Live)", {"DJ Kaito"}},
                             // The same title by someone else (a cover).
                             near_miss{"Silent Fire", {"Ash Harbor"}, "Silent Fire", {"Kofi Mensah"}},
                             // No artists reported: the title alone never allocates money.
                             near_miss{"Silent Fire", {}, "Silent Fire", {"Ash Harbor"}}));

recording_entry rec(const std::string& isrc, const std::string& title, std::vector<std::string> artists) {
  recording_entry r;
  r.isrc = isrc;
  r.title = title;
  r.artists = std::move(artists);
  return r;
}

TEST(track_index, finds_candidates_by_title_tokens_best_first) {
  catalog_index idx({rec("USAAA2600001", "Midnight Echoes", {"Nova Lane"}),
                     rec("USAAA2600002", "Midnight River", {"Nova Lane"}),
                     rec("USAAA2600003", "Golden Hearts", {"Los Faros"})},
                    {}, 1);
  auto found = idx.candidates(normalize_track("Midnight Echoes (Remastered)", {"Nova Lane"}), 2);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].first->isrc, "USAAA2600001");
  EXPECT_DOUBLE_EQ(found[0].second, 1.0);
  EXPECT_EQ(found[1].first->isrc, "USAAA2600002");
  EXPECT_TRUE(idx.candidates(normalize_track("Paper Roads", {"Yuna"}), 2).empty());
}

}  // namespace
}  // namespace dspsync
