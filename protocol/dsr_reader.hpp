#pragma once

// DDEX DSR flat files (Digital Sales Report Message Suite: dsr1 architecture, dsr3 Basic Audio
// Profile, dsr8 record type definitions), read in the subset dspsync needs.
//
// Where the layout comes from: the cell order below follows the BasicAudioProfile 1.2 XML schema
// of the DDEX flat-file library (github.com/ddexnet/dsrf, schemas/BasicAudioProfile/1.2), whose
// element order is the cell order of each record. The standard's own PDFs were not available to
// check against, so treat the positions as that schema's, documented here precisely so a
// difference can be found and fixed in one place (the `cell` constants in dsr_reader.cpp).
//
// File shape (dsr1 conventions):
//  - UTF-8 text, one record per line (LF or CRLF), cells separated by TAB, the record type in
//    cell 1. No quoting: a TAB, LF or backslash inside a cell is written `\t`, `\n`, `\\`; a `|`
//    separates the values of a multi-value cell and a literal `|` is written `\|`. Any other
//    `\x` is read as `x`. With `lenient_quotes` (or `ingest-dsr --lenient`), a cell wrapped in
//    double quotes, which some senders emit, is unwrapped and its `""` read as `"`.
//  - A line starting with `#` is a comment (a commented-out record); an empty line is an empty
//    record. Both count as lines for FOOT.
//  - The record type may carry its version (`SY02.02`, `AS02.02`); the part before the dot decides.
//  - Order: HEAD, summary records (SYxx), blocks, FOOT. A block is a run of records with the same
//    BlockId (cell 2): release (RE01, RE02), resources (AS01 / AS02, each AS01 possibly followed by
//    MW01 musical works), and usage records (SU01, SU02).
//  - A report may span several files (file name `..._1of2_...`, HEAD FileNumber / NumberOfFiles).
//    Files are joined by HEAD MessageId and read in FileNumber order; every file 1..N must be given.
//
// Cells read (1-based, as the standard counts them):
//  HEAD  1 RecordType  2 MessageVersion  3 Profile  4 ProfileVersion  5 MessageId
//        6 MessageCreatedDateTime  7 FileNumber  8 NumberOfFiles  9 UsageStartDate  10 UsageEndDate
//        (11 SenderPartyId  12 SenderName  13 ServiceDescription  14 RecipientPartyId ... not used)
//  SY01 / SY02 (summary; SY01.01 and SY02.02 share these positions)
//        2 SummaryRecordId  7 Territory  11 CurrencyOfReporting  12 NetRevenue
//        (3 DistributionChannel  5 CommercialModel  6 UseType  8 ServiceDescription  9 Usages ...
//        not used). Other SYxx records (SY03, SY04, SY05 ...) are counted for FOOT; usage rows that
//        point at them are quarantined (not supported).
//  RE01  2 BlockId  3 ReleaseReference  7 ICPN (UPC/EAN)  10 Title
//  AS01  2 BlockId  3 ResourceReference  5 ISRC (multi-value: the first is used)  6 Title
//        8 DisplayArtistName (multi-value: one artist per value)
//  AS02  as AS01, plus 12 ISWC
//  MW01  2 BlockId  4 ISWC: the musical work of the AS01 record just before it
//  SU01  (downloads) 2 BlockId  3 SummaryRecordId  4 SalesTransactionId  5 TransactedRelease
//        6 TransactedResource  9 Usages  10 Returns; units = Usages - Returns
//  SU02  (streams) 2 BlockId  3 SummaryRecordId  4 SalesTransactionId  5 TransactedRelease
//        6 TransactedResource  8 NumberOfStreams; units = NumberOfStreams
//  FOOT  2 NumberOfLinesInFile  3 NumberOfLinesInReport (optional)  4 NumberOfSummaryRecords
//        5 NumberOfBlocksInFile  6 NumberOfBlocksInReport (optional)
//  Other record types (RE02, LI01, ...) are counted and skipped.
//
// Mapping of one usage row (SU01/SU02) to a record:
//  isrc and title and artists from the AS record named by TransactedResource; iswc from AS02 cell
//  12 or the MW01 after the AS01; upc from the ICPN of the RE01 named by TransactedRelease, else
//  the block's first RE01; territory and currency from the summary record; reporting period from
//  HEAD UsageStartDate..UsageEndDate (a whole month gives `YYYY-MM`, a whole quarter `YYYY-Qn`, a
//  whole year `YYYY`, anything else `start--end`); transaction_id is the SalesTransactionId
//  (`MessageId:SalesTransactionId` with transaction_id_scope "message"); units as above.
//
// Revenue: in the Basic Audio Profile net revenue sits in the summary record. It is allocated to
// the usage rows of that summary pro rata to their units, exactly, in 10^-8 units of the currency
// with the largest-remainder rule: each row gets floor(R * w / W); the units left over go one each
// to the rows with the largest remainders (ties: larger w first, then file order), so the parts
// always sum to NetRevenue. A negative NetRevenue is allocated by its magnitude and negated.
//
// Checks: FOOT NumberOfLinesInFile, NumberOfSummaryRecords and NumberOfBlocksInFile against what
// the file holds (per file), and NumberOfLinesInReport / NumberOfBlocksInReport (when given)
// against the whole report. A mismatch, a missing HEAD or FOOT, a missing file of a multi-file
// report, a summary whose revenue no usage row can take, or a HEAD without a usable period is a
// report-level problem: none of that report's rows are committed, the problem is kept in quarantine
// and the command fails. A bad usage row (unknown resource, bad ISRC, units not a number) is
// quarantined on its own and the rest of the report goes on.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/sources.hpp"
#include "domain/batch.hpp"
#include "domain/money.hpp"
#include "protocol/csv_reader.hpp"
#include "protocol/row_mapper.hpp"

namespace dspsync {

/// One line of a DSR file, split into cells (still escaped: see `dsr_unescape`).
struct dsr_line {
  /// Record type without its version suffix (`SY02` for `SY02.02`); empty for comments and blanks.
  std::string_view type;
  /// `cells[0]` is the record type, so `cells[i]` is the standard's cell i+1.
  std::vector<std::string_view> cells;
  /// The line as in the file, without its terminator.
  std::string_view raw;
  uint64_t line = 0;
  uint64_t offset = 0;
  uint64_t end_offset = 0;
};

/// Reads a DSR file line by line through a fixed buffer.
class dsr_line_reader {
 public:
  dsr_line_reader(std::unique_ptr<byte_source> in, bool lenient_quotes);
  /// The next line; false at the end. Fails on I/O errors and on a line longer than 16 MiB.
  expected<bool> next(dsr_line& out);
  const byte_source& source() const { return *in_; }
  uint64_t offset() const { return base_ + pos_; }

 private:
  std::unique_ptr<byte_source> in_;
  bool lenient_;
  std::vector<char> buf_;
  std::size_t pos_ = 0;
  std::size_t end_ = 0;
  uint64_t base_ = 0;
  uint64_t line_ = 0;
  bool eof_ = false;
  bool bom_checked_ = false;
  std::string unquoted_;
};

/// A single-valued cell with its escapes resolved (`\t`, `\n`, `\\`, `\|`).
std::string dsr_unescape(std::string_view cell);

/// A multi-value cell split on unescaped `|`, each value unescaped; empty values dropped.
std::vector<std::string> dsr_values(std::string_view cell);

/// Exact pro-rata allocation of one amount over weighted rows (largest-remainder rule).
class allocation_plan {
 public:
  /// Counts one row of weight `w` (>= 0) during the first pass.
  void add_weight(int64_t w) { ++groups_[w].rows; }
  /// Fixes the parts once every weight is known. False when the amount is non-zero and the
  /// weights sum to zero (nothing can take it).
  bool plan(money total);
  /// The part of the next row of weight `w`, in file order (second pass).
  money take(int64_t w);
  uint64_t rows() const;
  __int128 weight_sum() const { return weight_sum_; }

 private:
  struct group {
    uint64_t rows = 0;
    int64_t base = 0;
    uint64_t extra = 0;  // the first `extra` rows of this weight get one unit more
    uint64_t seen = 0;
  };
  std::map<int64_t, group> groups_;
  __int128 weight_sum_ = 0;
  bool negative_ = false;
};

/// One summary record.
struct dsr_summary {
  std::string id;
  /// `SY02`, `SY01`, ...
  std::string type;
  std::string territory;
  std::string currency;
  std::string net_revenue_text;
  /// Why usage rows cannot use it (unsupported type, bad NetRevenue); empty when usable.
  std::string unusable;
  money net_revenue;
  allocation_plan allocation;
};

/// One file of a report, as the first pass found it.
struct dsr_file {
  file_identity id;
  std::string message_id;
  int64_t file_number = 0;
  int64_t number_of_files = 0;
  std::string usage_start;
  std::string usage_end;
  std::string head_line;
  std::string foot_line;
  uint64_t lines = 0;
  uint64_t summaries = 0;
  uint64_t blocks = 0;
  uint64_t usage_rows = 0;
  uint64_t skipped_records = 0;
};

/// A sales report message: its files in order, summaries and allocation.
struct dsr_report {
  std::string message_id;
  std::vector<dsr_file> files;
  std::map<std::string, dsr_summary> summaries;
  /// Canonical reporting period from HEAD.
  std::string period;
  /// Report-level problems; when any, nothing of the report may be committed.
  std::vector<std::string> problems;
  uint64_t usage_rows() const;
};

/// Reads DSR reports in two passes over their files, both streaming with constant memory (apart
/// from one entry per summary record and per distinct units value of its rows): the first checks
/// structure and FOOT counts and sums the allocation weights, the second maps usage rows.
class dsr_reader {
 public:
  dsr_reader(const source_config& src, territory_options territories);

  /// First pass over every file given (in any order): groups them into reports by MessageId.
  /// Fails only on I/O errors; structural problems land in each report's `problems`.
  expected<std::vector<dsr_report>> scan(const std::vector<file_identity>& files);

  /// Second pass over one problem-free report: delivers each file's usage rows in batches.
  /// `start[i]` is the committed offset of `report.files[i]`, or nullopt when that file is done
  /// (it is still read, for block state and allocation order, but nothing of it is delivered).
  status emit(dsr_report& report, const std::vector<std::optional<uint64_t>>& start, batch_sink& sink);

  /// The batch that keeps a problem report in quarantine (a page-level fault: the cursor stays).
  /// `cursor` is the committed cursor of the report's first file ("" when none).
  ingest_batch problem_batch(const dsr_report& report, const std::string& cursor) const;

 private:
  source_config src_;
  row_mapper mapper_;
};

}  // namespace dspsync
