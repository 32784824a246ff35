// DDEX DSR flat files: any bytes either fail the scan with a message naming the file, or scan into
// reports; a report with problems becomes one refused batch that names them; a clean report emits
// batches in which every usage row is accounted for (rows in = rows mapped + rows quarantined) and
// each batch starts where the previous one ended. The first byte picks strict or lenient quoting.

#include "config/config.hpp"
#include "protocol/dsr_reader.hpp"
#include "tests/fuzz/file_batches.hpp"

namespace dspsync::fuzz {

int fuzz_dsr(const uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  source_config src;
  src.name = "fuzz-dsr";
  src.dsp = "spotify";
  src.format = source_format::dsr;
  src.key_fields = default_key_fields();
  src.lenient_quotes = (data[0] & 1) != 0;
  src.batch_rows = 1 + ((data[0] >> 1) & 7);
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::string path =
      scratch_file(text, "_DSR_PADPIDA2026010101A_PADPIDA2026020202B_Premium_2026-01_US_1of1.tsv");
  auto id = identify_file(path);
  FUZZ_CHECK("dsr", static_cast<bool>(id), "cannot identify the scratch file");

  dsr_reader reader(src, territory_options{});
  auto reports = reader.scan({*id});
  if (!reports) {
    FUZZ_CHECK("dsr", reports.error().message.find(path) != std::string::npos,
               "scan error does not name the file: " + reports.error().message);
    return 0;
  }
  for (auto& report : *reports) {
    FUZZ_CHECK("dsr", !report.files.empty(), "a report without files");
    if (!report.problems.empty()) {
      for (const auto& p : report.problems) FUZZ_CHECK("dsr", !p.empty(), "an empty problem text");
      const auto refused = reader.problem_batch(report, "");
      FUZZ_CHECK("dsr", refused.records.empty(), "a report with problems still maps records");
      continue;
    }
    capture_sink sink;
    std::vector<std::optional<uint64_t>> start(report.files.size(), uint64_t{0});
    auto st = reader.emit(report, start, sink);
    if (!st) {
      FUZZ_CHECK("dsr", !st.error().message.empty(), "emit failed without a message");
      continue;
    }
    const uint64_t rows = check_batches("dsr", sink.batches);
    FUZZ_CHECK("dsr", rows == report.usage_rows(),
               "the scan counted " + std::to_string(report.usage_rows()) + " usage rows, emit delivered " +
                   std::to_string(rows));
  }
  return 0;
}

}  // namespace dspsync::fuzz

DSPSYNC_FUZZ_ENTRY(fuzz_dsr)
