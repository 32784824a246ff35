#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/sources.hpp"
#include "domain/batch.hpp"
#include "domain/idempotency.hpp"
#include "domain/validation.hpp"
#include "protocol/csv_reader.hpp"

namespace dspsync {

/// Where a file reader hands its batches. The ledger commits them in order, each with the cursor
/// `<file sha256>:<byte offset after its last row>`.
class batch_sink {
 public:
  virtual ~batch_sink() = default;
  /// Takes one batch. A failure stops the reader.
  virtual status deliver(ingest_batch&& batch) = 0;
  /// Called now and then while reading: bytes of the file consumed so far, rows mapped so far.
  virtual void progress(uint64_t file_bytes, uint64_t rows) {
    (void)file_bytes;
    (void)rows;
  }
};

/// The checkpoint name of one file of a source: `<source>/<first 16 hex digits of its sha256>`, so
/// every file has its own cursor and a finished file is never read twice.
std::string file_source_name(std::string_view source, const file_identity& file);

/// The cursor of a file position: `<sha256>:<offset>`.
std::string file_cursor(const file_identity& file, uint64_t offset);

/// The offset in a file cursor; fails when the cursor belongs to another file or is not one.
expected<uint64_t> parse_file_cursor(std::string_view cursor, const file_identity& file);

/// Cuts one file's rows into batches of `batch_rows`, chaining their cursors from `start_offset`.
///
/// Bronze for files: a batch's `body` is a short descriptor of the bytes it covers (path, sha256,
/// byte and line range), not the bytes themselves. A report can be 5 GB; the file is the raw copy
/// and its sha256 pins the exact bytes, so keeping them again in the ledger would only double the
/// disk and break the constant-memory bound.
class file_batcher {
 public:
  file_batcher(std::string source, const file_identity& file, uint64_t start_offset, std::size_t batch_rows,
               batch_sink& sink);

  /// The batch the next row goes into.
  ingest_batch& current() { return batch_; }
  /// Notes that a row starting at `line` and ending at byte `end_offset` went into `current()`;
  /// delivers the batch when it is full.
  status row_done(uint64_t line, uint64_t end_offset);
  /// The end of the file at `end_offset`: delivers the last batch (possibly empty) as caught up.
  status finish(uint64_t end_offset);
  uint64_t rows() const { return rows_; }
  const std::string& source() const { return source_; }

 private:
  status deliver(uint64_t end_offset, bool caught_up);
  void start_batch();

  std::string source_;
  file_identity file_;
  std::size_t batch_rows_;
  batch_sink& sink_;
  ingest_batch batch_;
  uint64_t offset_;  // where the current batch starts
  uint64_t first_line_ = 0;
  uint64_t last_line_ = 0;
  uint64_t rows_ = 0;
  std::string cursor_;  // committed-to-be cursor the current batch starts at
  sha256 body_hash_;
};

/// Maps rows of a file source onto records: binds the header to canonical fields through the
/// source's aliases, validates, derives idempotency keys, and quarantines what is corrupt. Mirrors
/// `page_mapper`, so a record reported by file and by API gets the same key.
class row_mapper {
 public:
  row_mapper(const source_config& src, territory_options territories);

  /// Resolves the columns of a CSV header (names compared case-insensitively after trimming).
  /// Fails, naming the file and the header, when a column the records cannot do without is absent.
  status bind_header(const std::vector<std::string_view>& header, const std::string& file_path);

  /// A one-line description of the bound columns, e.g. `isrc <- "ISRC", units <- "Quantity"`.
  std::string describe_binding() const;

  /// Maps one CSV data row (or quarantines it) into `batch`. `quarantine_scope` is hashed with the
  /// raw row into the quarantine key (source and file sha256).
  void map_csv_row(const csv_record& row, std::string_view quarantine_scope, ingest_batch& batch);

  /// Validates already extracted fields (DSR rows) into `batch`. `note` is appended to the reason
  /// of a quarantined row (e.g. the revenue allocated to it).
  void map_fields(const raw_fields& fields, uint64_t position, std::string_view raw,
                  std::string_view quarantine_scope, const std::string& note, ingest_batch& batch);

  /// Quarantines a row for reasons found before validation.
  void quarantine(uint64_t position, std::string_view raw, std::vector<failure> errors,
                  std::string_view quarantine_scope, ingest_batch& batch);

  const source_config& source() const { return src_; }

 private:
  source_config src_;
  validation_context ctx_;
  key_deriver keys_;
  sha256 id_hash_;
  /// Column index of each canonical field; -1 when absent.
  std::array<int, field_count> column_{};
  std::array<std::string, field_count> column_name_{};
  /// Columns whose values make a derived transaction id (when no transaction_id column).
  std::vector<int> id_columns_;
  /// The name each of those columns is hashed under (the configured entry or the header).
  std::vector<std::string> id_labels_;
  std::vector<std::string> header_;
  std::string period_from_name_;
  std::string derived_id_;
  raw_fields raw_;
  validation_result result_;
};

/// Reads one CSV/TSV file of `src` from `start_offset` (a committed cursor; 0 for a new file),
/// delivering batches to `sink`. Row faults are quarantined and reading goes on; the result fails
/// only when the file as a whole cannot be read (I/O, a header without the needed columns).
status read_csv_file(const source_config& src, const territory_options& territories,
                     const file_identity& file, uint64_t start_offset, batch_sink& sink,
                     std::string* binding = nullptr);

}  // namespace dspsync
