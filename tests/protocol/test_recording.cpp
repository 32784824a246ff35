#include "protocol/recording.hpp"

#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "config/config.hpp"
#include "domain/identifiers.hpp"
#include "domain/timefmt.hpp"
#include "protocol/har.hpp"
#include "protocol/page_mapper.hpp"
#include "protocol/pagination.hpp"

namespace dspsync {
namespace {

namespace json = boost::json;

const std::vector<pagination_style> all_styles = {pagination_style::offset, pagination_style::cursor,
                                                  pagination_style::next_url,
                                                  pagination_style::updated_since};

recording_options small(pagination_style style, uint64_t seed = 7) {
  recording_options o;
  o.style = style;
  o.records = 3000;
  o.page_size = 200;
  o.seed = seed;
  o.duplicate_rate = 0.02;
  o.restatement_rate = 0.01;
  o.malformed_rate = 0.004;
  return o;
}

const json::array& records_of(const json::value& page) { return page.at("data").as_array(); }

std::string text_of(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string().data(), v.get_string().size());
  return json::serialize(v);
}

/// The raw text of every `"name":` member value in a document, in order (numbers as written).
std::vector<std::string> raw_values(const std::string& body, const std::string& name) {
  std::vector<std::string> out;
  const std::string needle = "\"" + name + "\":";
  for (auto at = body.find(needle); at != std::string::npos; at = body.find(needle, at + 1)) {
    const auto start = at + needle.size();
    out.push_back(body.substr(start, body.find_first_of(",}", start) - start));
  }
  return out;
}

/// An independent classifier of the served rows, the way a ledger keyed by the idempotency key
/// would count them: corrupt rows are malformed, a new key is unique, the same bytes as the key's
/// latest version a duplicate, other bytes a restatement.
struct classified {
  recording_counts counts;
  /// Page of each row's first sighting, and pages where repeats and restatements were seen.
  std::vector<std::pair<std::size_t, std::size_t>> repeat_pages;  // (page of original, page of repeat)
};

classified classify(const recording& rec, const std::string& units_field = "streams") {
  classified out;
  struct seen {
    std::string bytes;
    std::size_t page;
  };
  std::map<std::string, seen> latest;
  const auto& entries = rec.har.entries;
  for (std::size_t p = 0; p < entries.size(); ++p) {
    const json::value page = json::parse(entries[p].response_body);
    for (const auto& row : records_of(page)) {
      const auto& o = row.as_object();
      ++out.counts.records_in;
      const auto* isrc = o.if_contains("isrc");
      const auto* currency = o.if_contains("currency");
      const auto* revenue = o.if_contains("revenue");
      EXPECT_NE(o.if_contains(units_field), nullptr);
      if (!isrc) {
        ++out.counts.malformed;
        ++out.counts.missing_field;
        continue;
      }
      if (!normalize_isrc(text_of(*isrc))) {
        ++out.counts.malformed;
        ++out.counts.bad_isrc;
        continue;
      }
      if (!normalize_currency(text_of(*currency))) {
        ++out.counts.malformed;
        ++out.counts.bad_currency;
        continue;
      }
      if (!revenue->is_number()) {
        ++out.counts.malformed;
        ++out.counts.broken_number;
        continue;
      }
      const std::string key = text_of(*isrc) + "|" + text_of(o.at("upc")) + "|" +
                              text_of(o.at("reporting_period")) + "|" + text_of(o.at("transaction_id")) +
                              "|" + text_of(*currency);
      const std::string bytes = json::serialize(row);
      auto it = latest.find(key);
      if (it == latest.end()) {
        ++out.counts.unique;
        latest.emplace(key, seen{bytes, p});
      } else if (it->second.bytes == bytes) {
        ++out.counts.duplicates;
        out.repeat_pages.emplace_back(it->second.page, p);
      } else {
        ++out.counts.restatements;
        out.repeat_pages.emplace_back(it->second.page, p);
        it->second = seen{bytes, p};
      }
    }
  }
  return out;
}

TEST(recording, same_seed_gives_identical_har_and_another_seed_differs) {
  for (auto style : all_styles) {
    SCOPED_TRACE(to_string(style));
    const std::string a = write_har(generate_recording(small(style)).har);
    const std::string b = write_har(generate_recording(small(style)).har);
    const std::string c = write_har(generate_recording(small(style, 8)).har);
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
  }
}

TEST(recording, counts_satisfy_the_identity_for_every_style) {
  for (auto style : all_styles) {
    SCOPED_TRACE(to_string(style));
    const auto opts = small(style);
    const auto rec = generate_recording(opts);
    const auto& e = rec.expected;
    EXPECT_EQ(e.records_in, e.unique + e.restatements + e.duplicates + e.malformed);
    EXPECT_EQ(e.unique, opts.records);
    EXPECT_EQ(e.restatements, 30u);
    EXPECT_EQ(e.malformed, 12u);
    EXPECT_EQ(e.malformed, e.bad_isrc + e.bad_currency + e.missing_field + e.broken_number);
    EXPECT_EQ(e.pages, rec.har.entries.size());
    if (style == pagination_style::updated_since)
      EXPECT_GT(e.duplicates, 60u);  // the injected ones plus re-served window boundaries
    else
      EXPECT_EQ(e.duplicates, 60u);
  }
}

TEST(recording, records_on_pages_sum_to_records_in) {
  for (auto style : all_styles) {
    SCOPED_TRACE(to_string(style));
    const auto rec = generate_recording(small(style));
    std::size_t rows = 0;
    for (const auto& entry : rec.har.entries) rows += records_of(json::parse(entry.response_body)).size();
    EXPECT_EQ(rows, rec.expected.records_in);
  }
}

TEST(recording, an_independent_ledger_counts_the_same) {
  for (auto style : all_styles) {
    SCOPED_TRACE(to_string(style));
    const auto rec = generate_recording(small(style));
    const auto got = classify(rec).counts;
    const auto& want = rec.expected;
    EXPECT_EQ(got.records_in, want.records_in);
    EXPECT_EQ(got.unique, want.unique);
    EXPECT_EQ(got.restatements, want.restatements);
    EXPECT_EQ(got.duplicates, want.duplicates);
    EXPECT_EQ(got.malformed, want.malformed);
    EXPECT_EQ(got.bad_isrc, want.bad_isrc);
    EXPECT_EQ(got.bad_currency, want.bad_currency);
    EXPECT_EQ(got.missing_field, want.missing_field);
    EXPECT_EQ(got.broken_number, want.broken_number);
  }
}

TEST(recording, the_engine_page_mapper_sees_what_the_recording_expects) {
  for (auto style : all_styles) {
    SCOPED_TRACE(to_string(style));
    auto opts = small(style);
    opts.units_field = "play_count";
    const auto rec = generate_recording(opts);
    page_mapper mapper(rec.endpoint, territory_options{});
    std::map<std::string, royalty_record> ledger;  // key -> latest version
    std::set<std::string> quarantine;
    recording_counts got;
    std::string cursor = initial_cursor(rec.endpoint);
    const auto& entries = rec.har.entries;
    for (std::size_t k = 0; k < entries.size(); ++k) {
      ingest_batch batch;
      batch.source = rec.endpoint.name;
      batch.request = "GET " + request_target(rec.endpoint, cursor);
      batch.body = entries[k].response_body;
      batch.cursor_before = cursor;
      mapper.map(batch);
      ASSERT_TRUE(batch.page_errors.empty()) << batch.page_errors[0].message;
      EXPECT_EQ(batch.caught_up, k + 1 == entries.size());
      got.records_in += batch.records_in;
      for (const auto& q : batch.quarantined) {
        ++got.malformed;
        EXPECT_TRUE(quarantine.insert(to_hex(q.key)).second);  // never served twice
        ASSERT_FALSE(q.errors.empty());
        switch (q.errors[0].code) {
          case ec::bad_isrc:
            ++got.bad_isrc;
            break;
          case ec::bad_currency:
            ++got.bad_currency;
            break;
          case ec::missing_field:
            ++got.missing_field;
            break;
          case ec::bad_number:
            ++got.broken_number;
            break;
          default:
            ADD_FAILURE() << q.errors[0].message;
        }
      }
      for (const auto& r : batch.records) {
        EXPECT_EQ(r.state, record_state::validated) << r.faults;
        auto [it, inserted] = ledger.emplace(to_hex(r.key), r.record);
        if (inserted) {
          ++got.unique;
        } else if (it->second == r.record) {
          ++got.duplicates;
        } else {
          ++got.restatements;
          it->second = r.record;
        }
      }
      cursor = batch.cursor_after;
    }
    const auto& want = rec.expected;
    EXPECT_EQ(got.records_in, want.records_in);
    EXPECT_EQ(got.unique, want.unique);
    EXPECT_EQ(got.restatements, want.restatements);
    EXPECT_EQ(got.duplicates, want.duplicates);
    EXPECT_EQ(got.malformed, want.malformed);
    EXPECT_EQ(got.bad_isrc, want.bad_isrc);
    EXPECT_EQ(got.bad_currency, want.bad_currency);
    EXPECT_EQ(got.missing_field, want.missing_field);
    EXPECT_EQ(got.broken_number, want.broken_number);
  }
}

TEST(recording, repeats_and_restatements_come_on_a_later_page) {
  for (auto style : {pagination_style::offset, pagination_style::cursor, pagination_style::next_url}) {
    SCOPED_TRACE(to_string(style));
    const auto got = classify(generate_recording(small(style)));
    ASSERT_EQ(got.repeat_pages.size(), 90u);
    for (const auto& [original, repeat] : got.repeat_pages) EXPECT_LT(original, repeat);
  }
}

TEST(recording, each_request_is_the_one_the_poller_makes_next) {
  for (auto style : all_styles) {
    SCOPED_TRACE(to_string(style));
    const auto rec = generate_recording(small(style));
    const auto& ep = rec.endpoint;
    const auto& entries = rec.har.entries;
    ASSERT_GT(entries.size(), 10u);
    std::string cursor = initial_cursor(ep);
    for (std::size_t k = 0; k < entries.size(); ++k) {
      SCOPED_TRACE(k);
      EXPECT_EQ(entries[k].method, "GET");
      EXPECT_EQ(entries[k].status, 200);
      ASSERT_EQ(entries[k].url, ep.base_url + request_target(ep, cursor));
      const json::value page = json::parse(entries[k].response_body);
      auto step = next_page(ep, cursor, page, records_of(page).size());
      ASSERT_TRUE(step) << step.error().message;
      EXPECT_EQ(step->done, k + 1 == entries.size());
      cursor = step->next_cursor;
    }
  }
}

TEST(recording, cursor_tokens_need_percent_encoding) {
  const auto rec = generate_recording(small(pagination_style::cursor));
  const std::string& second = rec.har.entries.at(1).url;
  EXPECT_NE(second.find("cursor=%2B%2F"), std::string::npos) << second;
  EXPECT_NE(second.find("%3D%3D"), std::string::npos) << second;
  const json::value last = json::parse(rec.har.entries.back().response_body);
  EXPECT_TRUE(last.at("next_cursor").is_null());
}

TEST(recording, next_url_links_stay_at_the_origin) {
  const auto rec = generate_recording(small(pagination_style::next_url));
  for (std::size_t k = 0; k + 1 < rec.har.entries.size(); ++k) {
    const json::value page = json::parse(rec.har.entries[k].response_body);
    EXPECT_EQ(text_of(page.at("next")), rec.har.entries[k + 1].url);
  }
  EXPECT_TRUE(json::parse(rec.har.entries.back().response_body).at("next").is_null());
}

TEST(recording, offset_pages_carry_the_total_and_end_short_or_at_the_total) {
  auto opts = small(pagination_style::offset);
  const auto rec = generate_recording(opts);
  const std::size_t total = rec.expected.records_in;
  for (const auto& entry : rec.har.entries)
    EXPECT_EQ(json::parse(entry.response_body).at("total").to_number<std::size_t>(), total);
  EXPECT_EQ(rec.har.entries.size(), (total + 199) / 200);
  EXPECT_EQ(rec.endpoint.pagination.total_pointer, "/total");

  opts.records = 1000;  // an exact multiple of the page size
  opts.duplicate_rate = opts.restatement_rate = opts.malformed_rate = 0;
  const auto exact = generate_recording(opts);
  EXPECT_EQ(exact.expected.pages, 5u);
  EXPECT_NE(exact.har.entries.back().url.find("offset=800"), std::string::npos);
}

TEST(recording, the_malformed_kinds_all_occur_and_are_really_broken) {
  const auto rec = generate_recording(small(pagination_style::cursor));
  const auto& e = rec.expected;
  EXPECT_EQ(e.bad_isrc, 3u);
  EXPECT_EQ(e.bad_currency, 3u);
  EXPECT_EQ(e.missing_field, 3u);
  EXPECT_EQ(e.broken_number, 3u);
  bool saw_broken_text = false;
  for (const auto& entry : rec.har.entries)
    saw_broken_text =
        saw_broken_text || entry.response_body.find("\"revenue\":\"12,5x\"") != std::string::npos;
  EXPECT_TRUE(saw_broken_text);
}

TEST(recording, well_formed_rows_pass_the_identifier_rules) {
  const auto rec = generate_recording(small(pagination_style::cursor));
  std::size_t checked = 0, negative = 0, jpy = 0;
  std::set<std::string> territories, tx_ids;
  for (const auto& entry : rec.har.entries) {
    const json::value page = json::parse(entry.response_body);
    const auto revenues = raw_values(entry.response_body, "revenue");
    ASSERT_EQ(revenues.size(), records_of(page).size());
    for (std::size_t i = 0; i < revenues.size(); ++i) {
      const auto& o = records_of(page)[i].as_object();
      const std::string tx = text_of(o.at("transaction_id"));
      if (tx.rfind("tx-q", 0) == 0) continue;  // a malformed row
      ++checked;
      tx_ids.insert(tx);
      EXPECT_TRUE(normalize_isrc(text_of(o.at("isrc")))) << text_of(o.at("isrc"));
      EXPECT_TRUE(isrc_prefix_known(text_of(o.at("isrc"))));
      const std::string upc = text_of(o.at("upc"));
      EXPECT_EQ(upc.size(), 12u);
      EXPECT_TRUE(normalize_gtin(upc)) << upc;
      EXPECT_TRUE(normalize_territory(text_of(o.at("territory"))));
      territories.insert(text_of(o.at("territory")));
      EXPECT_EQ(text_of(o.at("reporting_period")), "2026-10");
      const std::string cur = text_of(o.at("currency"));
      ASSERT_NE(find_currency(cur), nullptr) << cur;
      const std::string& revenue = revenues[i];
      EXPECT_EQ(revenue.find('e'), std::string::npos) << revenue;
      const auto dot = revenue.find('.');
      if (cur == "JPY") {
        ++jpy;
        EXPECT_EQ(dot, std::string::npos) << revenue;
      } else if (dot != std::string::npos) {
        EXPECT_LE(revenue.size() - dot - 1, 6u) << revenue;
      }
      if (revenue[0] == '-') ++negative;
      EXPECT_TRUE(o.at("streams").is_int64());
      EXPECT_FALSE(o.at("title").as_string().empty());
      EXPECT_FALSE(o.at("artists").as_array().empty());
    }
  }
  EXPECT_EQ(tx_ids.size(), 3000u);  // restated and repeated rows keep their transaction id
  EXPECT_GT(checked, 3000u);
  EXPECT_GT(jpy, 0u);
  EXPECT_GT(negative, 0u);
  EXPECT_GT(territories.size(), 15u);
}

TEST(recording, updated_since_windows_serve_boundary_rows_again) {
  auto opts = small(pagination_style::updated_since);
  opts.duplicate_rate = 0;
  const auto rec = generate_recording(opts);
  EXPECT_GT(rec.expected.duplicates, rec.expected.pages - 1);  // at least one row per window boundary
  const auto& entries = rec.har.entries;
  std::size_t shared_seconds = 0;
  for (std::size_t k = 0; k < entries.size(); ++k) {
    const json::value page = json::parse(entries[k].response_body);
    const auto& rows = records_of(page);
    std::string previous, max;
    for (const auto& row : rows) {
      const std::string at = text_of(row.at("updated_at"));
      EXPECT_LE(previous, at);  // sorted (no injected duplicates here)
      if (at == previous) ++shared_seconds;
      previous = at;
      max = std::max(max, at);
    }
    if (k + 1 < entries.size()) {
      ASSERT_EQ(rows.size(), 200u);
      EXPECT_EQ(text_of(page.at("high_water_mark")), max);
      // The next window starts with this page's rows updated at the high-water mark, byte for byte.
      const json::value next_page_doc = json::parse(entries[k + 1].response_body);
      const auto& next_rows = records_of(next_page_doc);
      std::size_t boundary = 0;
      for (const auto& row : rows)
        if (text_of(row.at("updated_at")) == max) ++boundary;
      ASSERT_GE(next_rows.size(), boundary);
      for (std::size_t i = 0; i < boundary; ++i)
        EXPECT_EQ(json::serialize(next_rows[i]), json::serialize(rows[rows.size() - boundary + i]));
    } else {
      EXPECT_LT(rows.size(), 200u);
    }
  }
  EXPECT_GT(shared_seconds, 100u);
  EXPECT_EQ(classify(rec).counts.duplicates, rec.expected.duplicates);
}

TEST(recording, units_field_follows_schema_drift) {
  auto opts = small(pagination_style::cursor);
  opts.units_field = "plays";
  const auto rec = generate_recording(opts);
  const auto& units = rec.endpoint.fields.at("units");
  EXPECT_EQ(units.back(), "plays");
  const json::value page = json::parse(rec.har.entries.front().response_body);
  EXPECT_NE(records_of(page)[0].as_object().if_contains("plays"), nullptr);
  EXPECT_EQ(records_of(page)[0].as_object().if_contains("streams"), nullptr);
  EXPECT_EQ(classify(rec, "plays").counts.unique, rec.expected.unique);
}

TEST(recording, har_round_trips_and_entries_are_json) {
  const auto rec = generate_recording(small(pagination_style::offset));
  auto back = parse_har(write_har(rec.har), "gen.har");
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->entries.size(), rec.har.entries.size());
  for (std::size_t k = 0; k < rec.har.entries.size(); ++k) {
    EXPECT_EQ(back->entries[k].url, rec.har.entries[k].url);
    EXPECT_EQ(back->entries[k].response_body, rec.har.entries[k].response_body);
    EXPECT_TRUE(parse_rfc3339(rec.har.entries[k].started));
  }
}

TEST(recording, endpoint_is_complete_and_its_json_loads_as_config) {
  for (auto style : all_styles) {
    SCOPED_TRACE(to_string(style));
    auto opts = small(style);
    opts.units_field = "play_count";
    const auto ep = generate_recording(opts).endpoint;
    EXPECT_EQ(ep.base_url, opts.origin);
    EXPECT_EQ(ep.fields.size(), canonical_fields().size());
    EXPECT_EQ(ep.key_fields, default_key_fields());
    const std::string text = endpoint_config_json(ep);
    auto cfg = parse_config("{\"endpoints\":[" + text + "]}", "gen");
    ASSERT_TRUE(cfg) << cfg.error().message << "\n" << text;
    ASSERT_EQ(cfg->endpoints.size(), 1u);
    const auto& back = cfg->endpoints[0];
    EXPECT_EQ(back.name, ep.name);
    EXPECT_EQ(back.dsp, ep.dsp);
    EXPECT_EQ(back.base_url, ep.base_url);
    EXPECT_EQ(back.path, ep.path);
    EXPECT_EQ(back.pagination.style, style);
    EXPECT_EQ(back.pagination.page_size, ep.pagination.page_size);
    EXPECT_EQ(back.pagination.records_pointer, ep.pagination.records_pointer);
    EXPECT_EQ(back.pagination.total_pointer, ep.pagination.total_pointer);
    EXPECT_EQ(request_target(back, initial_cursor(back)), request_target(ep, initial_cursor(ep)));
    EXPECT_EQ(back.fields, ep.fields);
    EXPECT_EQ(back.key_fields, ep.key_fields);
  }
}

TEST(recording, edge_sizes) {
  for (auto style : all_styles) {
    SCOPED_TRACE(to_string(style));
    for (std::size_t records : {0, 1, 2, 5, 199, 200, 201}) {
      SCOPED_TRACE(records);
      auto opts = small(style);
      opts.records = records;
      opts.duplicate_rate = opts.restatement_rate = opts.malformed_rate = 0.2;
      const auto rec = generate_recording(opts);
      const auto& e = rec.expected;
      EXPECT_EQ(e.unique, records);
      EXPECT_EQ(e.records_in, e.unique + e.restatements + e.duplicates + e.malformed);
      const auto got = classify(rec).counts;
      EXPECT_EQ(got.records_in, e.records_in);
      EXPECT_EQ(got.duplicates, e.duplicates);
      EXPECT_EQ(got.malformed, e.malformed);
    }
  }
  auto opts = small(pagination_style::updated_since);
  opts.page_size = 4;
  opts.records = 300;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    opts.seed = seed;
    const auto tiny = generate_recording(opts);
    const auto got = classify(tiny).counts;
    EXPECT_EQ(got.duplicates, tiny.expected.duplicates);
    EXPECT_EQ(got.malformed, tiny.expected.malformed);
  }
  opts.page_size = 3;
  EXPECT_THROW(generate_recording(opts), std::invalid_argument);
  opts.style = pagination_style::cursor;
  opts.page_size = 0;
  EXPECT_THROW(generate_recording(opts), std::invalid_argument);
}

}  // namespace
}  // namespace dspsync
