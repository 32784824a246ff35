#include "protocol/catalog_file.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <map>

#include "protocol/demo_catalog.hpp"
#include "protocol/recording.hpp"

namespace dspsync {
namespace {

TEST(catalog_csv, reads_recordings_and_works_with_normalised_identifiers) {
  catalog_data d;
  auto ok = parse_catalog_csv(
      "# a comment\n"
      "ISRC,Title,Artists,UPC,Release_Date,ISWC,Master_Shares\n"
      "us-rc1-76-07839,\"Midnight Echoes, Pt. 2\",Nova Lane|Yuna,036000291452,2020-01-15,T0345246801,"
      "\"Label A (label)=80|Nova Lane=20%\"\n",
      "r.csv", d);
  ASSERT_TRUE(ok) << ok.error().message;
  ASSERT_EQ(d.recordings.size(), 1u);
  const auto& r = d.recordings[0];
  EXPECT_EQ(r.isrc, "USRC17607839");
  EXPECT_EQ(r.title, "Midnight Echoes, Pt. 2");
  EXPECT_EQ(r.artists, (std::vector<std::string>{"Nova Lane", "Yuna"}));
  EXPECT_EQ(r.upc, "0036000291452");
  EXPECT_EQ(r.iswc, "T-034.524.680-1");
  ASSERT_EQ(r.master.size(), 2u);
  EXPECT_EQ(r.master[0].holder, "Label A");
  EXPECT_EQ(r.master[0].role, "label");
  EXPECT_EQ(r.master[0].share, 80 * money::one);
  EXPECT_EQ(r.master[1].role, "");
  ok = parse_catalog_csv(
      "iswc,title,holder,role,right,share,territory\n"
      "T-034.524.680-1,Midnight Echoes,Jane,writer,performance,47.5,DEU\n"
      "T-034.524.680-1,,Echo,publisher,mechanical,100,\n"
      "T-345.246.800-3,Declared only,,,,,\n",
      "w.csv", d);
  ASSERT_TRUE(ok) << ok.error().message;
  ASSERT_EQ(d.works.size(), 2u);
  EXPECT_EQ(d.works[0].title, "Midnight Echoes");
  ASSERT_EQ(d.works[0].shares.size(), 2u);
  EXPECT_EQ(d.works[0].shares[0].territory, "DE");
  EXPECT_EQ(d.works[0].shares[0].share, 4'750'000'000);
  EXPECT_TRUE(d.works[1].shares.empty());
}

TEST(catalog_csv, reports_every_problem_with_its_line) {
  catalog_data d;
  auto bad = parse_catalog_csv(
      "iswc,title,holder,role,right,share,territory\n"
      "T-034.524.680-2,X,Jane,writer,performance,50,\n"
      "T-034.524.680-1,X,Jane,writer,master,50,\n"
      "T-034.524.680-1,X,Jane,writer,mechanical,0,\n"
      "T-034.524.680-1,X,Jane,writer,mechanical,50,Atlantis\n",
      "w.csv", d);
  ASSERT_FALSE(bad);
  const auto& m = bad.error().message;
  EXPECT_NE(m.find("w.csv:2: iswc: expected check digit 1"), std::string::npos) << m;
  EXPECT_NE(m.find("w.csv:3: right: expected mechanical or performance"), std::string::npos) << m;
  EXPECT_NE(m.find("w.csv:4: share: expected a percentage more than 0"), std::string::npos) << m;
  EXPECT_NE(m.find("territory"), std::string::npos) << m;
  EXPECT_FALSE(parse_catalog_csv("name,value\nx,y\n", "x.csv", d));
  EXPECT_FALSE(parse_catalog_csv("isrc,title\n\"USRC17607839,unterminated\n", "q.csv", d));
}

TEST(catalog_files, csv_and_json_describe_the_same_catalog) {
  catalog_data from_json;
  auto ok = parse_catalog_json(R"({"recordings": [{"isrc": "USRC17607839", "title": "Song", "artists": ["A"],
      "master_shares": [{"holder": "L", "role": "label", "share": 33.33333333},
                        {"holder": "A", "share": "66.66666667"}]}],
      "works": [{"iswc": "T-034.524.680-1", "shares": [{"holder": "W", "right": "mechanical", "share": 100}]}]})",
                               "c.json", from_json);
  ASSERT_TRUE(ok) << ok.error().message;
  catalog_data from_csv;
  ASSERT_TRUE(parse_catalog_csv(recordings_csv(from_json.recordings), "r.csv", from_csv));
  ASSERT_TRUE(parse_catalog_csv(works_csv(from_json.works), "w.csv", from_csv));
  ASSERT_EQ(from_csv.recordings.size(), 1u);
  EXPECT_TRUE(from_csv.recordings[0].same_content(from_json.recordings[0]));
  EXPECT_EQ(from_json.recordings[0].master[0].share, 3'333'333'333);  // a JSON number, read exactly
  ASSERT_EQ(from_csv.works.size(), 1u);
  EXPECT_TRUE(from_csv.works[0].same_content(from_json.works[0]));
}

TEST(demo_catalog, lists_the_tracks_the_recording_serves_and_plants_every_fault) {
  recording_options o;
  o.records = 8000;
  o.seed = 11;
  o.page_size = 1000;
  const auto rec = generate_recording(o);
  std::map<std::string, recording_track> tracks;
  for (auto& t : recording_tracks(o)) tracks[t.isrc] = t;
  std::size_t checked = 0;
  for (const auto& e : rec.har.entries) {
    const auto doc = boost::json::parse(e.response_body);
    for (const auto& row : doc.at("data").as_array()) {
      const auto& obj = row.as_object();
      if (!obj.contains("isrc") || obj.at("transaction_id").as_string().starts_with("tx-q")) continue;
      const auto it = tracks.find(std::string(obj.at("isrc").as_string()));
      ASSERT_NE(it, tracks.end());
      EXPECT_EQ(it->second.title, std::string(obj.at("title").as_string()));
      EXPECT_EQ(it->second.upc, std::string(obj.at("upc").as_string()));
      ASSERT_EQ(it->second.artists.size(), obj.at("artists").as_array().size());
      ++checked;
    }
  }
  EXPECT_GT(checked, 7000u);
  const auto cat = make_demo_catalog({o});
  EXPECT_EQ(cat.tracks, tracks.size());
  EXPECT_GT(cat.missing + cat.reissued + cat.no_iswc + cat.master_incomplete + cat.performance_de, 0u);
  EXPECT_EQ(cat.first.recordings.size(), tracks.size() - cat.missing);
  EXPECT_EQ(cat.fix.recordings.size(), cat.first.recordings.size());
  for (auto r : cat.first.recordings) EXPECT_TRUE(normalize_entry(r, "demo").empty()) << r.isrc;
  for (auto w : cat.first.works) EXPECT_TRUE(normalize_entry(w, "demo").empty()) << w.iswc;
}

}  // namespace
}  // namespace dspsync
