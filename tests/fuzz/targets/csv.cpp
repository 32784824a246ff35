// CSV/TSV reports: the first byte picks the options (delimiter, quoting, batch size, plain or a
// gzip member), the rest is the file. For any file: every record's raw bytes are the file's bytes
// at its offset; a file that reads is fully accounted (rows in = rows mapped + rows quarantined,
// batches chain cursor to cursor, the last one is caught up); and resuming from any batch's cursor
// gives exactly the rows an uninterrupted read gave from there (what a restart after a crash does).
// A file that does not read fails with a message naming it.

#include <zlib.h>

#include <algorithm>

#include "config/config.hpp"
#include "protocol/csv_reader.hpp"
#include "protocol/row_mapper.hpp"
#include "tests/fuzz/file_batches.hpp"

namespace dspsync::fuzz {

namespace {

std::string gzip(std::string_view bytes) {
  z_stream z{};
  deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, bytes.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  return out;
}

/// Keys of every row, in file order (records and quarantined rows by position).
std::vector<std::pair<uint64_t, record_key>> row_keys(const std::vector<ingest_batch>& batches,
                                                      std::size_t from) {
  std::vector<std::pair<uint64_t, record_key>> out;
  for (std::size_t i = from; i < batches.size(); ++i) {
    for (const auto& r : batches[i].records) out.emplace_back(r.position, r.key);
    for (const auto& q : batches[i].quarantined) out.emplace_back(q.position, q.key);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

void check_reader(std::string_view file_bytes, const std::string& path, const csv_options& options) {
  auto in = byte_source::open(path);
  FUZZ_CHECK("csv", static_cast<bool>(in), "cannot open the scratch file");
  csv_reader reader(std::move(*in), options);
  csv_record rec;
  uint64_t last_end = 0;
  for (int guard = 0; guard < 1'000'000; ++guard) {
    auto got = reader.next(rec);
    if (!got) {
      FUZZ_CHECK("csv", got.error().message.find(path) != std::string::npos,
                 "read error does not name the file: " + got.error().message);
      return;
    }
    if (!*got) return;
    FUZZ_CHECK("csv", rec.offset >= last_end && rec.end_offset > rec.offset,
               "record offsets go backwards or do not advance at line " + std::to_string(rec.line));
    FUZZ_CHECK("csv", rec.end_offset <= file_bytes.size(), "a record ends past the end of the file");
    FUZZ_CHECK(
        "csv", file_bytes.substr(rec.offset, rec.raw.size()) == rec.raw,
        "the raw bytes of line " + std::to_string(rec.line) + " are not the file's bytes at its offset");
    last_end = rec.end_offset;
  }
  fuzz_fail("csv", "the reader did not finish");
}

}  // namespace

int fuzz_csv(const uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const uint8_t opts = data[0];
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  source_config src;
  src.name = "fuzz";
  src.dsp = "spotify";
  src.columns = default_field_aliases();
  src.key_fields = default_key_fields();
  src.delimiter = (opts & 1) != 0 ? '\t' : ',';
  src.quote = (opts & 2) != 0 ? '\0' : '"';
  src.batch_rows = 1 + ((opts >> 2) & 7);
  const bool compressed = (opts & 0x20) != 0;
  const std::string bytes = compressed ? gzip(text) : std::string(text);
  const std::string path = scratch_file(bytes, compressed ? ".csv.gz" : ".csv");

  if (!compressed) {
    csv_options options;
    options.delimiter = src.delimiter;
    options.quote = src.quote;
    check_reader(text, path, options);
  }

  auto id = identify_file(path);
  FUZZ_CHECK("csv", static_cast<bool>(id), "cannot identify the scratch file");
  capture_sink all;
  auto st = read_csv_file(src, territory_options{}, *id, 0, all);
  if (!st) {
    FUZZ_CHECK("csv", st.error().message.find(path) != std::string::npos,
               "error does not name the file: " + st.error().message);
    return 0;
  }
  FUZZ_CHECK("csv", !all.batches.empty(), "a file that reads delivered no batch");
  check_batches("csv", all.batches);

  // Resume from the middle batch's committed cursor, as a restart would.
  const std::size_t k = all.batches.size() / 2;
  if (k == 0) return 0;
  auto offset = parse_file_cursor(all.batches[k].cursor_before, *id);
  FUZZ_CHECK("csv", static_cast<bool>(offset), "a batch cursor does not parse back");
  capture_sink resumed;
  auto again = read_csv_file(src, territory_options{}, *id, *offset, resumed);
  FUZZ_CHECK(
      "csv", static_cast<bool>(again),
      "resuming at byte " + std::to_string(*offset) + " failed: " + (again ? "" : again.error().message));
  FUZZ_CHECK("csv", row_keys(resumed.batches, 0) == row_keys(all.batches, k),
             "resuming at byte " + std::to_string(*offset) + " gave other rows than the uninterrupted read");
  return 0;
}

}  // namespace dspsync::fuzz

DSPSYNC_FUZZ_ENTRY(fuzz_csv)
