#include "domain/idempotency.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "domain/validation.hpp"

namespace dspsync {
namespace {

const std::vector<std::string> default_fields = {"isrc",           "upc",     "dsp", "reporting_period",
                                                 "transaction_id", "currency"};

std::string hex(const record_key& k) { return to_hex(k); }

royalty_record sample() {
  royalty_record r;
  r.isrc = "USRC17607839";
  r.upc = "0036000291452";
  r.iswc = "T-034.524.680-1";
  r.dsp = "spotify";
  r.territory = "US";
  r.territory_raw = "USA";
  r.reporting_period = "2026-10";
  r.transaction_id = "tx-1";
  r.currency = "USD";
  r.title = "Song";
  r.artists = {"A", "B"};
  r.units = 1200;
  r.revenue = money::from_units(1'027'682'500);
  return r;
}

// --- SHA-256 ----------------------------------------------------------------------------------------

TEST(sha256, known_answer_vectors) {
  EXPECT_EQ(hex(sha256::digest("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex(sha256::digest("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex(sha256::digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(sha256, incremental_updates_equal_one_shot_and_finish_resets) {
  sha256 h;
  h.update("a");
  h.update("");
  h.update("bc");
  EXPECT_EQ(hex(h.finish()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // After finish the hasher starts over.
  EXPECT_EQ(hex(h.finish()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  h.update("abc");
  EXPECT_EQ(h.finish(), sha256::digest("abc"));
  h.update("junk");
  h.reset();
  h.update("abc");
  EXPECT_EQ(h.finish(), sha256::digest("abc"));
}

// --- key derivation ---------------------------------------------------------------------------------

TEST(key_deriver, key_is_sha256_of_named_fields_in_order) {
  key_deriver keys(default_fields);
  const std::string canonical =
      "isrc=USRC17607839\x1fupc=0036000291452\x1f"
      "dsp=spotify\x1freporting_period=2026-10\x1ftransaction_id=tx-1\x1f"
      "currency=USD\x1f";
  EXPECT_EQ(hex(keys.key(sample())), hex(sha256::digest(canonical)));
  // The deriver reuses its hasher: a second key is computed from scratch too.
  EXPECT_EQ(hex(keys.key(sample())), hex(sha256::digest(canonical)));
}

TEST(key_deriver, keys_of_stored_ledgers_do_not_change) {
  // Pinned (computed outside this code base: Python's hashlib over the canonical text above), so
  // a change to how keys are derived cannot pass by changing both sides.
  key_deriver keys(default_fields);
  EXPECT_EQ(hex(keys.key(sample())), "b86c6fad5508bd589dfd500d837ac4c71aac619a9c25f3a2e7f39b7984f7cf99");
}

TEST(key_deriver, every_field_a_key_can_name_hashes_its_normalised_value) {
  const std::vector<std::string> all = {"title",          "iswc",    "territory", "units", "revenue",
                                        "artists",        "isrc",    "upc",       "dsp",   "reporting_period",
                                        "transaction_id", "currency"};
  key_deriver keys(all);
  const auto r = sample();
  const std::string canonical =
      "title=Song\x1fiswc=T-034.524.680-1\x1fterritory=US\x1funits=1200\x1frevenue=" + r.revenue.to_string() +
      "\x1f"
      "artists=A|B\x1fisrc=USRC17607839\x1fupc=0036000291452\x1f"
      "dsp=spotify\x1freporting_period=2026-10\x1ftransaction_id=tx-1\x1f"
      "currency=USD\x1f";
  EXPECT_EQ(hex(keys.key(r)), hex(sha256::digest(canonical)));
  auto no_artists = r;
  no_artists.artists.clear();
  key_deriver one({"artists"});
  EXPECT_EQ(hex(one.key(no_artists)), hex(sha256::digest("artists=\x1f")));
}

TEST(key_deriver, same_normalised_record_gives_the_same_key_whatever_its_raw_form) {
  struct raw_form {
    const char* isrc;
    const char* upc;
    const char* currency;
    const char* period;
    const char* txn;
  };
  const std::vector<raw_form> forms = {
      {"USRC17607839", "0036000291452", "USD", "2026-10", "tx-1"},
      {"us-rc1-76-07839", "036000291452", "usd", "202610", " tx-1 "},
      {"US RC1 76 07839", "0-36000-29145-2", " Usd", "2026/10", "tx-1\t"},
      {"ISRCUSRC17607839", "00036000291452", "USD", "2026-10", "tx-1"},
  };
  key_deriver keys(default_fields);
  std::vector<std::string> derived;
  for (const auto& f : forms) {
    raw_fields raw;
    raw.clear();
    const std::string units = "5", revenue = "1.00", territory = "US";
    raw[field::isrc] = f.isrc;
    raw[field::upc] = f.upc;
    raw[field::currency] = f.currency;
    raw[field::reporting_period] = f.period;
    raw[field::transaction_id] = f.txn;
    raw[field::units] = units;
    raw[field::revenue] = revenue;
    raw[field::territory] = territory;
    validation_context ctx;
    ctx.dsp = "spotify";
    validation_result out;
    validate(raw, ctx, out);
    ASSERT_EQ(out.outcome, verdict::valid) << f.isrc << " " << f.upc;
    derived.push_back(hex(keys.key(out.record)));
  }
  for (std::size_t i = 1; i < derived.size(); ++i) EXPECT_EQ(derived[i], derived[0]) << "form " << i;
  EXPECT_EQ(derived[0], hex(keys.key(sample())));
}

struct mutation {
  const char* name;
  std::function<void(royalty_record&)> apply;
};

TEST(key_deriver, changing_a_key_field_changes_the_key) {
  const std::vector<mutation> key_changes = {
      {"isrc", [](royalty_record& r) { r.isrc = "USRC17607840"; }},
      {"upc", [](royalty_record& r) { r.upc = "0036000291469"; }},
      {"upc_empty", [](royalty_record& r) { r.upc.clear(); }},
      {"dsp", [](royalty_record& r) { r.dsp = "deezer"; }},
      {"reporting_period", [](royalty_record& r) { r.reporting_period = "2026-11"; }},
      {"transaction_id", [](royalty_record& r) { r.transaction_id = "tx-2"; }},
      {"currency", [](royalty_record& r) { r.currency = "EUR"; }},
  };
  key_deriver keys(default_fields);
  const auto base = keys.key(sample());
  for (const auto& m : key_changes) {
    auto r = sample();
    m.apply(r);
    EXPECT_NE(keys.key(r), base) << m.name;
  }
}

TEST(key_deriver, changing_a_non_key_field_keeps_the_key) {
  const std::vector<mutation> value_changes = {
      {"title", [](royalty_record& r) { r.title = "Song (Remastered)"; }},
      {"units", [](royalty_record& r) { r.units = 1; }},
      {"revenue", [](royalty_record& r) { r.revenue = money::from_units(-5); }},
      {"artists", [](royalty_record& r) { r.artists = {"C"}; }},
      {"territory", [](royalty_record& r) { r.territory = "GB"; }},
      {"territory_raw", [](royalty_record& r) { r.territory_raw = "GBR"; }},
      {"iswc", [](royalty_record& r) { r.iswc.clear(); }},
  };
  key_deriver keys(default_fields);
  const auto base = keys.key(sample());
  for (const auto& m : value_changes) {
    auto r = sample();
    m.apply(r);
    EXPECT_EQ(keys.key(r), base) << m.name;
  }
}

TEST(key_deriver, configured_non_default_fields_take_part) {
  key_deriver keys({"isrc", "territory", "units", "revenue", "artists", "title"});
  const auto base = keys.key(sample());
  for (const auto& m : std::vector<mutation>{
           {"territory", [](royalty_record& r) { r.territory = "GB"; }},
           {"units", [](royalty_record& r) { r.units = 1201; }},
           {"revenue", [](royalty_record& r) { r.revenue = money::from_units(1); }},
           {"artists", [](royalty_record& r) { r.artists = {"A"}; }},
           {"title", [](royalty_record& r) { r.title = "Other"; }},
       }) {
    auto r = sample();
    m.apply(r);
    EXPECT_NE(keys.key(r), base) << m.name;
  }
  auto r = sample();
  r.transaction_id = "something else";
  EXPECT_EQ(keys.key(r), base) << "transaction_id is not configured";
}

TEST(key_deriver, field_order_matters_as_configured) {
  key_deriver forward({"isrc", "upc"});
  key_deriver backward({"upc", "isrc"});
  EXPECT_NE(forward.key(sample()), backward.key(sample()));
  EXPECT_EQ(hex(backward.key(sample())), hex(sha256::digest("upc=0036000291452\x1fisrc=USRC17607839\x1f")));
}

TEST(key_deriver, field_boundaries_are_unambiguous) {
  // Moving characters from one field to the next must not give the same key.
  key_deriver keys({"isrc", "transaction_id"});
  auto a = sample();
  auto b = sample();
  a.isrc = "USRC1760783";
  a.transaction_id = "9tx";
  b.isrc = "USRC17607839";
  b.transaction_id = "tx";
  EXPECT_NE(keys.key(a), keys.key(b));
}

TEST(key_deriver, quarantine_key_is_deterministic_and_depends_on_source_and_bytes) {
  key_deriver keys(default_fields);
  const std::string raw = "{\"isrc\": \"bad\"}";
  const auto k1 = keys.quarantine_key("spotify_streams", raw);
  EXPECT_EQ(keys.quarantine_key("spotify_streams", raw), k1);
  key_deriver other(std::vector<std::string>{"isrc"});
  EXPECT_EQ(other.quarantine_key("spotify_streams", raw), k1) << "independent of the key fields";
  EXPECT_NE(keys.quarantine_key("apple_sales", raw), k1);
  EXPECT_NE(keys.quarantine_key("spotify_streams", raw + " "), k1);
  EXPECT_EQ(hex(k1), hex(sha256::digest("quarantine\x1fspotify_streams\x1f" + raw)));
  // Not the key a record would get from the same text.
  EXPECT_NE(k1, sha256::digest(raw));
}

// --- key field validation ---------------------------------------------------------------------------

TEST(validate_key_fields, accepts_canonical_fields_and_dsp) {
  EXPECT_TRUE(validate_key_fields(default_fields));
  EXPECT_TRUE(validate_key_fields({"dsp"}));
  EXPECT_TRUE(validate_key_fields({"isrc", "upc", "iswc", "territory", "reporting_period", "units", "revenue",
                                   "currency", "transaction_id", "title", "artists", "dsp"}));
}

TEST(validate_key_fields, rejects_with_a_message_naming_the_entry) {
  struct bad_case {
    std::vector<std::string> fields;
    const char* expect;
  };
  const std::vector<bad_case> cases = {
      {{}, "key_fields"},
      {{"isrc", "streams"}, "key_fields[1]"},
      {{"ISRC"}, "key_fields[0]"},
      {{"isrc", "upc", "isrc"}, "key_fields[2]"},
      {{"dsp", "dsp"}, "key_fields[1]"},
      {{""}, "key_fields[0]"},
  };
  for (const auto& c : cases) {
    auto st = validate_key_fields(c.fields);
    ASSERT_FALSE(st) << c.expect;
    EXPECT_EQ(st.error().code, ec::bad_config);
    EXPECT_NE(st.error().message.find(c.expect), std::string::npos) << st.error().message;
  }
  EXPECT_NE(validate_key_fields({"isrc", "isrc"}).error().message.find("twice"), std::string::npos);
  EXPECT_NE(validate_key_fields({"streams"}).error().message.find("streams"), std::string::npos);
}

}  // namespace
}  // namespace dspsync
