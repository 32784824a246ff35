#pragma once

// What the file readers' fuzz targets (csv, dsr) check of the batches a reader delivers.

#include <string>
#include <vector>

#include "protocol/row_mapper.hpp"
#include "tests/fuzz/fuzz_targets.hpp"

namespace dspsync::fuzz {

/// Keeps every batch a reader delivers.
struct capture_sink : batch_sink {
  std::vector<ingest_batch> batches;
  status deliver(ingest_batch&& b) override {
    batches.push_back(std::move(b));
    return ok;
  }
};

/// Every row is accounted for (rows in = mapped + quarantined, each quarantined row with a
/// reason), each batch starts where the previous one ended, and the last one is caught up.
/// Returns the rows in.
inline uint64_t check_batches(const char* target, const std::vector<ingest_batch>& batches) {
  uint64_t rows = 0;
  for (std::size_t i = 0; i < batches.size(); ++i) {
    const auto& b = batches[i];
    FUZZ_CHECK(target, b.records.size() + b.quarantined.size() == b.records_in,
               "batch " + std::to_string(i) + ": " + std::to_string(b.records_in) + " rows in, " +
                   std::to_string(b.records.size()) + " mapped + " + std::to_string(b.quarantined.size()) +
                   " quarantined");
    for (const auto& q : b.quarantined)
      FUZZ_CHECK(target, !q.errors.empty(), "a quarantined row without a reason");
    if (i > 0)
      FUZZ_CHECK(target, batches[i - 1].cursor_after == b.cursor_before,
                 "batch " + std::to_string(i) + " does not start where the previous one ended");
    rows += b.records_in;
  }
  FUZZ_CHECK(target, batches.empty() || batches.back().caught_up, "the last batch is not caught up");
  return rows;
}

}  // namespace dspsync::fuzz
