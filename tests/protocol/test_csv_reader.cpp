// The CSV/TSV reader (RFC 4180 edge cases, gzip, resume offsets), the row mapper (header aliases,
// row-level quarantine, batching with file cursors) and the `sources` config.

#include "protocol/csv_reader.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <boost/json.hpp>
#include <fstream>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "protocol/row_mapper.hpp"
#include "tests/support/temp_dir.hpp"

namespace dspsync {
namespace {

using test::temp_dir;

std::string write_file(const temp_dir& dir, const std::string& name, const std::string& bytes) {
  const auto path = dir.sub(name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string write_gzip(const temp_dir& dir, const std::string& name,
                       const std::vector<std::string>& members) {
  const auto path = dir.sub(name);
  std::ofstream out(path, std::ios::binary);
  for (const auto& m : members) {
    // One gzip member per string; `cat a.gz b.gz` is valid gzip too.
    z_stream z{};
    deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    std::string compressed(deflateBound(&z, m.size()) + 64, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(m.data()));
    z.avail_in = static_cast<uInt>(m.size());
    z.next_out = reinterpret_cast<Bytef*>(compressed.data());
    z.avail_out = static_cast<uInt>(compressed.size());
    EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
    compressed.resize(compressed.size() - z.avail_out);
    deflateEnd(&z);
    out << compressed;
  }
  return path;
}

struct parsed {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> raw;
  std::vector<uint64_t> lines;
  std::vector<uint64_t> ends;
  std::vector<std::string> errors;  // "" when the record is fine
};

parsed read_all(const std::string& path, csv_options options = {}, uint64_t skip_to = 0) {
  parsed out;
  auto in = byte_source::open(path);
  EXPECT_TRUE(in) << (in ? "" : in.error().message);
  csv_reader reader(std::move(*in), options);
  if (skip_to > 0) {
    auto st = reader.skip_to(skip_to);
    EXPECT_TRUE(st) << (st ? "" : st.error().message);
  }
  csv_record rec;
  for (;;) {
    auto got = reader.next(rec);
    EXPECT_TRUE(got) << (got ? "" : got.error().message);
    if (!got || !*got) break;
    std::vector<std::string> fields(rec.fields.begin(), rec.fields.end());
    out.rows.push_back(fields);
    out.raw.emplace_back(rec.raw);
    out.lines.push_back(rec.line);
    out.ends.push_back(rec.end_offset);
    out.errors.push_back(rec.error ? rec.error->message : "");
  }
  return out;
}

using row = std::vector<std::string>;

TEST(csv_reader, quoted_field_holds_the_delimiter) {
  temp_dir dir;
  auto p = read_all(write_file(dir, "a.csv", "a,b,c\n1,\"x, y\",3\n"));
  ASSERT_EQ(p.rows.size(), 2u);
  EXPECT_EQ(p.rows[1], (row{"1", "x, y", "3"}));
  EXPECT_EQ(p.raw[1], "1,\"x, y\",3");
}

TEST(csv_reader, quoted_field_holds_a_line_break_and_lines_stay_counted) {
  temp_dir dir;
  auto p = read_all(write_file(dir, "a.csv", "a,b\n1,\"two\nlines\"\n2,after\n"));
  ASSERT_EQ(p.rows.size(), 3u);
  EXPECT_EQ(p.rows[1], (row{"1", "two\nlines"}));
  EXPECT_EQ(p.rows[2], (row{"2", "after"}));
  EXPECT_EQ(p.lines, (std::vector<uint64_t>{1, 2, 4}));
  EXPECT_EQ(p.raw[1], "1,\"two\nlines\"");
}

TEST(csv_reader, doubled_quotes_are_one_quote) {
  temp_dir dir;
  auto p = read_all(write_file(dir, "a.csv", "t\n\"Say \"\"Hello\"\"\"\n\"\"\"\"\n\"\"\n"));
  ASSERT_EQ(p.rows.size(), 4u);
  EXPECT_EQ(p.rows[1], (row{"Say \"Hello\""}));
  EXPECT_EQ(p.rows[2], (row{"\""}));
  EXPECT_EQ(p.rows[3], (row{""}));
}

TEST(csv_reader, byte_order_mark_is_skipped) {
  temp_dir dir;
  auto p = read_all(write_file(dir, "a.csv", "\xEF\xBB\xBFisrc,units\nUSRC17607839,5\n"));
  ASSERT_EQ(p.rows.size(), 2u);
  EXPECT_EQ(p.rows[0], (row{"isrc", "units"}));
  EXPECT_EQ(p.ends[0], 3u + 11u);  // offsets count the BOM's bytes
}

TEST(csv_reader, crlf_line_ends_are_not_data) {
  temp_dir dir;
  auto p = read_all(write_file(dir, "a.csv", "a,b\r\n1,\"q\"\r\n2,3\r\n4,5"));
  ASSERT_EQ(p.rows.size(), 4u);
  EXPECT_EQ(p.rows[1], (row{"1", "q"}));
  EXPECT_EQ(p.rows[2], (row{"2", "3"}));
  EXPECT_EQ(p.rows[3], (row{"4", "5"}));
  EXPECT_EQ(p.raw[2], "2,3");
  EXPECT_EQ(p.lines, (std::vector<uint64_t>{1, 2, 3, 4}));
}

TEST(csv_reader, tab_delimiter_by_option_and_by_extension) {
  temp_dir dir;
  EXPECT_EQ(default_delimiter("/x/report.tsv"), '\t');
  EXPECT_EQ(default_delimiter("/x/REPORT.TXT.gz"), '\t');
  EXPECT_EQ(default_delimiter("/x/report.csv"), ',');
  EXPECT_EQ(default_delimiter("/x/report.csv.gz"), ',');
  csv_options o;
  o.delimiter = '\t';
  auto p = read_all(write_file(dir, "a.tsv", "a\tb\tc\n1,5\t\"x\ty\"\t\n"), o);
  ASSERT_EQ(p.rows.size(), 2u);
  EXPECT_EQ(p.rows[1], (row{"1,5", "x\ty", ""}));
}

TEST(csv_reader, no_quoting_keeps_quotes_as_data) {
  temp_dir dir;
  csv_options o;
  o.delimiter = '\t';
  o.quote = 0;
  auto p = read_all(write_file(dir, "a.tsv", "t\tu\n\"Live\" at home\t1\n"), o);
  ASSERT_EQ(p.rows.size(), 2u);
  EXPECT_EQ(p.rows[1], (row{"\"Live\" at home", "1"}));
}

TEST(csv_reader, gzip_input_is_inflated_including_concatenated_members) {
  temp_dir dir;
  const std::string a = "a,b\n1,\"x\ny\"\n", b = "2,3\n";
  auto plain = read_all(write_file(dir, "p.csv", a + b));
  auto zipped = read_all(write_gzip(dir, "z.csv.gz", {a, b}));
  EXPECT_EQ(zipped.rows, plain.rows);
  EXPECT_EQ(zipped.lines, plain.lines);
  EXPECT_EQ(zipped.ends, plain.ends);  // offsets count uncompressed bytes
  ASSERT_EQ(zipped.rows.size(), 3u);

  // A truncated gzip file is an I/O failure, never a silent short read.
  std::string bytes;
  {
    std::ifstream in(dir.sub("z.csv.gz"), std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto cut = write_file(dir, "cut.csv.gz", bytes.substr(0, bytes.size() - 12));
  auto in = byte_source::open(cut);
  ASSERT_TRUE(in);
  csv_reader reader(std::move(*in), {});
  csv_record rec;
  bool failed = false;
  for (int i = 0; i < 10; ++i) {
    auto got = reader.next(rec);
    if (!got) {
      failed = true;
      EXPECT_NE(got.error().message.find("truncated gzip"), std::string::npos) << got.error().message;
      break;
    }
    if (!*got) break;
  }
  EXPECT_TRUE(failed);
}

TEST(csv_reader, records_crossing_buffer_refills_parse_whole) {
  temp_dir dir;
  std::string text = "id,text\n";
  std::vector<std::string> expected;
  for (int i = 0; i < 3000; ++i) {
    std::string t =
        "v" + std::to_string(i) + std::string(static_cast<std::size_t>(i % 397), 'x') + "\"\"q,\n";
    text += std::to_string(i) + ",\"" + t + "\"\r\n";
    std::string unescaped = t;
    unescaped.replace(unescaped.find("\"\""), 2, "\"");
    expected.push_back(unescaped);
  }
  auto p = read_all(write_file(dir, "big.csv", text));
  ASSERT_EQ(p.rows.size(), 3001u);
  for (int i = 0; i < 3000; ++i) {
    ASSERT_EQ(p.rows[static_cast<std::size_t>(i) + 1],
              (row{std::to_string(i), expected[static_cast<std::size_t>(i)]}))
        << "record " << i;
    ASSERT_EQ(p.lines[static_cast<std::size_t>(i) + 1], 2u + 2u * static_cast<uint64_t>(i));
  }
  EXPECT_EQ(p.ends.back(), text.size());
}

TEST(csv_reader, malformed_record_costs_one_line_and_reading_goes_on) {
  temp_dir dir;
  auto p = read_all(write_file(dir, "a.csv", "a,b\n1,\"x\"y\n2,ok\n3,\"never closed\n4,ok\n"));
  ASSERT_EQ(p.rows.size(), 5u);
  EXPECT_NE(p.errors[1].find("after a closing quote"), std::string::npos) << p.errors[1];
  EXPECT_EQ(p.raw[1], "1,\"x\"y");
  EXPECT_EQ(p.rows[2], (row{"2", "ok"}));
  EXPECT_NE(p.errors[3].find("never closed"), std::string::npos) << p.errors[3];
  EXPECT_EQ(p.raw[3], "3,\"never closed");
  EXPECT_EQ(p.lines[3], 4u);
  EXPECT_EQ(p.rows[4], (row{"4", "ok"}));
  EXPECT_EQ(p.lines[4], 5u);
}

TEST(csv_reader, an_overlong_record_is_cut_at_its_first_line) {
  temp_dir dir;
  csv_options o;
  o.max_record_bytes = 4096;
  std::string text = "a,b\n1,\"open\n";
  for (int i = 0; i < 1000; ++i) text += std::to_string(i) + ",fine\n";
  ASSERT_GT(text.size(), 4096u);
  auto p = read_all(write_file(dir, "a.csv", text), o);
  ASSERT_EQ(p.rows.size(), 1002u);
  EXPECT_NE(p.errors[1].find("longer than 4096"), std::string::npos) << p.errors[1];
  EXPECT_EQ(p.raw[1], "1,\"open");
  EXPECT_EQ(p.rows[2], (row{"0", "fine"}));
  EXPECT_EQ(p.lines[1001], 1002u);
}

TEST(csv_reader, skip_to_a_committed_offset_keeps_line_numbers) {
  temp_dir dir;
  const std::string text = "a,b\n1,\"x\ny\"\n2,z\n3,w\n";
  auto full = read_all(write_file(dir, "a.csv", text));
  ASSERT_EQ(full.rows.size(), 4u);
  auto tail = read_all(dir.sub("a.csv"), {}, full.ends[1]);
  ASSERT_EQ(tail.rows.size(), 2u);
  EXPECT_EQ(tail.rows[0], full.rows[2]);
  EXPECT_EQ(tail.lines[0], full.lines[2]);
  EXPECT_EQ(tail.lines[1], full.lines[3]);
}

// --- Row mapper and file batches --------------------------------------------------------------

struct capture_sink : batch_sink {
  std::vector<ingest_batch> batches;
  status deliver(ingest_batch&& b) override {
    batches.push_back(std::move(b));
    return ok;
  }
};

source_config make_source() {
  source_config s;
  s.name = "label-files";
  s.dsp = "spotify";
  s.columns = default_field_aliases();
  s.key_fields = default_key_fields();
  return s;
}

const std::string header = "isrc,upc,territory,period,units,revenue,currency,transaction_id,title,artist\n";

TEST(row_mapper, drifted_header_resolves_through_an_alias) {
  temp_dir dir;
  auto src = make_source();
  src.columns["isrc"] = {"ISRC", "Track ISRC"};
  src.columns["units"] = {"Streams", "Play Count"};
  src.columns["revenue"] = {"Net Revenue"};
  const auto path = write_file(dir, "r.csv",
                               "  track isrc ,UPC,Territory,Period,PLAY COUNT,net revenue,Currency,id\n"
                               "USRC17607839,036000291452,US,2026-10,12,1.5,USD,t-1\n");
  auto id = identify_file(path);
  ASSERT_TRUE(id);
  capture_sink sink;
  std::string binding;
  auto st = read_csv_file(src, {}, *id, 0, sink, &binding);
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_NE(binding.find("isrc <- \"track isrc\""), std::string::npos) << binding;
  ASSERT_EQ(sink.batches.size(), 1u);
  ASSERT_EQ(sink.batches[0].records.size(), 1u);
  const auto& r = sink.batches[0].records[0].record;
  EXPECT_EQ(r.isrc, "USRC17607839");
  EXPECT_EQ(r.units, 12);
  EXPECT_EQ(r.revenue.to_string(), "1.5");
  EXPECT_EQ(r.dsp, "spotify");
}

TEST(row_mapper, header_without_a_needed_column_fails_naming_file_and_aliases) {
  temp_dir dir;
  auto src = make_source();
  src.columns["revenue"] = {"Earnings (USD)"};
  const auto path = write_file(dir, "r.csv", "isrc,units,currency,period,id\nUSRC17607839,1,USD,2026-01,t\n");
  auto id = identify_file(path);
  ASSERT_TRUE(id);
  capture_sink sink;
  auto st = read_csv_file(src, {}, *id, 0, sink);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find(path), std::string::npos) << st.error().message;
  EXPECT_NE(st.error().message.find("revenue (looked for \"Earnings (USD)\")"), std::string::npos)
      << st.error().message;
  EXPECT_TRUE(sink.batches.empty());
}

TEST(row_mapper, bad_rows_are_quarantined_with_line_and_raw_and_the_rest_is_ingested) {
  temp_dir dir;
  const std::string bad_isrc = "NOT-AN-ISRC,036000291452,US,2026-10,1,0.5,USD,t-2,Song,A";
  const std::string short_row = "USRC17607839,036000291452,US";
  const std::string text = header + "USRC17607839,036000291452,US,2026-10,1,0.5,USD,t-1,Song,A\n" + bad_isrc +
                           "\n" + short_row + "\r\n" +
                           "USRC17607840,036000291452,\"GB\",2026-10,2,0.25,USD,t-3,\"A, B\",C\n";
  const auto path = write_file(dir, "r.csv", text);
  auto id = identify_file(path);
  ASSERT_TRUE(id);
  capture_sink sink;
  auto st = read_csv_file(make_source(), {}, *id, 0, sink);
  ASSERT_TRUE(st) << st.error().message;
  ASSERT_EQ(sink.batches.size(), 1u);
  const auto& b = sink.batches[0];
  EXPECT_EQ(b.records_in, 4u);
  ASSERT_EQ(b.records.size(), 2u);
  EXPECT_EQ(b.records[0].position, 2u);
  EXPECT_EQ(b.records[1].position, 5u);
  EXPECT_EQ(b.records[1].record.title, "A, B");
  ASSERT_EQ(b.quarantined.size(), 2u);
  EXPECT_EQ(b.quarantined[0].position, 3u);
  EXPECT_EQ(b.quarantined[0].raw, bad_isrc);
  EXPECT_EQ(b.quarantined[0].errors.front().code, ec::bad_isrc);
  EXPECT_EQ(b.quarantined[1].position, 4u);
  EXPECT_EQ(b.quarantined[1].raw, short_row);
  EXPECT_NE(b.quarantined[1].errors.front().message.find("expected 10 fields"), std::string::npos);
  EXPECT_NE(b.request.find(path), std::string::npos) << b.request;  // the file travels with the batch
  // The bronze body is a descriptor, not the file's bytes.
  EXPECT_NE(b.body.find(id->sha256), std::string::npos);
  EXPECT_EQ(b.body.find("USRC17607839"), std::string::npos);
}

TEST(row_mapper, batches_chain_file_cursors_and_resume_where_committed) {
  temp_dir dir;
  std::string text = header;
  for (int i = 0; i < 7; ++i)
    text += "USRC1760783" + std::to_string(i) + ",036000291452,US,2026-10,1,0.5,USD,t-" + std::to_string(i) +
            ",S,A\n";
  const auto path = write_file(dir, "r.csv", text);
  auto id = identify_file(path);
  ASSERT_TRUE(id);
  auto src = make_source();
  src.batch_rows = 3;
  capture_sink all;
  ASSERT_TRUE(read_csv_file(src, {}, *id, 0, all));
  ASSERT_EQ(all.batches.size(), 3u);  // 3 + 3 + 1 rows
  EXPECT_EQ(all.batches[0].source, "label-files/" + id->sha256.substr(0, 16));
  EXPECT_EQ(all.batches[0].cursor_before, id->sha256 + ":0");
  for (std::size_t i = 1; i < all.batches.size(); ++i)
    EXPECT_EQ(all.batches[i].cursor_before, all.batches[i - 1].cursor_after);
  EXPECT_FALSE(all.batches[1].caught_up);
  EXPECT_TRUE(all.batches[2].caught_up);
  EXPECT_EQ(all.batches[2].cursor_after, id->sha256 + ":" + std::to_string(text.size()));

  // Resume from the cursor after the first batch: the same rows and keys as the uninterrupted read.
  auto offset = parse_file_cursor(all.batches[0].cursor_after, *id);
  ASSERT_TRUE(offset);
  capture_sink resumed;
  ASSERT_TRUE(read_csv_file(src, {}, *id, *offset, resumed));
  ASSERT_EQ(resumed.batches.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(resumed.batches[i].cursor_before, all.batches[i + 1].cursor_before);
    EXPECT_EQ(resumed.batches[i].cursor_after, all.batches[i + 1].cursor_after);
    ASSERT_EQ(resumed.batches[i].records.size(), all.batches[i + 1].records.size());
    for (std::size_t k = 0; k < resumed.batches[i].records.size(); ++k) {
      EXPECT_EQ(resumed.batches[i].records[k].key, all.batches[i + 1].records[k].key);
      EXPECT_EQ(resumed.batches[i].records[k].position, all.batches[i + 1].records[k].position);
    }
  }
  EXPECT_FALSE(parse_file_cursor("deadbeef:12", *id));
}

TEST(row_mapper, defaults_and_a_derived_transaction_id) {
  temp_dir dir;
  auto src = make_source();
  src.columns = {{"isrc", {"ISRC"}},
                 {"units", {"Quantity"}},
                 {"revenue", {"Earnings (USD)"}},
                 {"territory", {"Country of Sale"}}};
  for (const auto& [f, aliases] : default_field_aliases())
    if (!src.columns.count(f)) src.columns[f] = aliases;
  src.currency = "USD";
  src.reporting_period_from = period_source::filename;
  const std::string rows =
      "Store\tISRC\tQuantity\tCountry of Sale\tEarnings (USD)\n"
      "Spotify\tUSRC17607839\t10\tUS\t0.1\n"
      "Apple\tUSRC17607839\t10\tUS\t0.1\n"
      "Spotify\tUSRC17607839\t11\tUS\t0.2\n";
  const auto path = write_file(dir, "Sales_2026_03.tsv", rows);
  auto id = identify_file(path);
  ASSERT_TRUE(id);
  capture_sink sink;
  auto st = read_csv_file(src, {}, *id, 0, sink);
  ASSERT_TRUE(st) << st.error().message;
  ASSERT_EQ(sink.batches.at(0).records.size(), 3u);
  const auto& r = sink.batches[0].records;
  EXPECT_EQ(r[0].record.currency, "USD");
  EXPECT_EQ(r[0].record.reporting_period, "2026-03");
  EXPECT_EQ(r[0].record.transaction_id.rfind("row-", 0), 0u);
  // Another store is another line; the same line with changed amounts keeps its id (a restatement).
  EXPECT_NE(r[0].record.transaction_id, r[1].record.transaction_id);
  EXPECT_EQ(r[0].record.transaction_id, r[2].record.transaction_id);
  EXPECT_EQ(r[0].key, r[2].key);
}

// --- sources config ---------------------------------------------------------------------------

TEST(sources_config, errors_name_the_field_path) {
  auto cfg = parse_config(R"({"sources": [
      {"name": "dk", "format": "xls"},
      {"name": "tc", "delimiter": "ab", "columns": {"isrcs": "ISRC", "units": []}, "currency": "XXY"},
      {"name": "dk", "format": "dsr", "delimiter": ","}]})");
  ASSERT_FALSE(cfg);
  const auto& m = cfg.error().message;
  EXPECT_NE(m.find("sources[0].format: expected one of csv|dsr, got \"xls\""), std::string::npos) << m;
  EXPECT_NE(m.find("sources[1].delimiter: expected one character"), std::string::npos) << m;
  EXPECT_NE(m.find("sources[1].columns.isrcs: unknown canonical field"), std::string::npos) << m;
  EXPECT_NE(m.find("sources[1].columns.units: expected a string or a non-empty array"), std::string::npos)
      << m;
  EXPECT_NE(m.find("sources[1].currency: expected an ISO 4217"), std::string::npos) << m;
  EXPECT_NE(m.find("sources[2].name: duplicate source name \"dk\""), std::string::npos) << m;
  EXPECT_NE(m.find("sources[2].delimiter: only used with format csv"), std::string::npos) << m;
}

TEST(sources_config, a_valid_source_keeps_default_aliases_for_unmapped_fields) {
  auto cfg = parse_config(R"json({"sources": [{"name": "dk", "dsp": "distrokid", "delimiter": "\t",
      "columns": {"units": ["Quantity", "Qty"], "revenue": "Earnings (USD)"}, "currency": "usd"}]})json");
  ASSERT_TRUE(cfg) << cfg.error().message;
  ASSERT_EQ(cfg->sources.size(), 1u);
  const auto& s = cfg->sources[0];
  EXPECT_EQ(s.dsp, "distrokid");
  EXPECT_EQ(s.delimiter, '\t');
  EXPECT_EQ(s.currency, "USD");
  EXPECT_EQ(s.columns.at("units"), (std::vector<std::string>{"Quantity", "Qty"}));
  EXPECT_EQ(s.columns.at("isrc"), default_field_aliases().at("isrc"));
  EXPECT_EQ(s.key_fields, default_key_fields());
}

TEST(sources_config, every_shipped_preset_parses) {
  for (const char* name : {"distrokid", "tunecore", "cdbaby", "symphonic", "ddex-dsr"}) {
    auto s = load_source_preset(std::string(DSPSYNC_SOURCE_DIR) + "/examples/presets/" + name + ".json");
    EXPECT_TRUE(s) << name << ": " << (s ? "" : s.error().message);
  }
}

}  // namespace
}  // namespace dspsync
