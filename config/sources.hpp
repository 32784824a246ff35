#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/fwd.hpp>

#include "domain/expected.hpp"

namespace dspsync {

/// What kind of file a source delivers.
enum class source_format {
  /// CSV or TSV sales report with a header row (RFC 4180 quoting), optionally gzip-compressed.
  csv,
  /// DDEX DSR flat file (tab-separated, HEAD / SYxx / blocks / FOOT), optionally gzip-compressed.
  dsr,
};

/// `csv` or `dsr`.
const char* to_string(source_format format);

/// Where a file source takes its reporting period from when no column carries it.
enum class period_source {
  /// A mapped column (or the fixed `reporting_period` when the column is absent).
  column,
  /// The first `YYYY-MM` or `YYYYMM` in the file's name (`Sales_2026-01.tsv`).
  filename,
};

/// How a DSR usage row's transaction id is formed.
enum class transaction_scope {
  /// The SalesTransactionId as sent, so that the same usage reported by the DSP's API with that id
  /// is one record.
  transaction,
  /// `MessageId:SalesTransactionId`, for senders whose ids are only unique within one message.
  message,
};

/// One file source (`dspsync ingest-csv` / `ingest-dsr --source NAME`): a distributor's or DSP's
/// report layout. Records read from it go through the same validation, idempotency keys and ledger
/// as records polled from an API endpoint; with the same `dsp`, the same usage is one record.
struct source_config {
  std::string name;
  /// The DSP the records are attributed to (part of the idempotency key); defaults to `name`.
  std::string dsp;
  source_format format = source_format::csv;
  /// Field delimiter; 0 picks by extension (`.tsv` and `.txt`, also under `.gz`: tab, else comma).
  char delimiter = 0;
  /// Quote character for CSV; 0 disables quoting (every `"` is data).
  char quote = '"';
  /// Canonical field -> header names tried in order (aliases for drifted headers). Header names
  /// match case-insensitively after trimming. Fields the config does not map keep the default
  /// aliases (see `default_field_aliases`).
  std::map<std::string, std::vector<std::string>> columns;
  /// Currency used when no currency column is present (e.g. a header "Earnings (USD)").
  std::string currency;
  /// Reporting period used when no period column is present.
  std::string reporting_period;
  period_source reporting_period_from = period_source::column;
  /// When no transaction_id column is mapped, a row's transaction id is derived from the values of
  /// these columns (header names, or canonical field names standing for the column bound to them);
  /// empty means every column not mapped to units or revenue.
  std::vector<std::string> transaction_id_columns;
  /// Canonical fields that make the idempotency key, in this order.
  std::vector<std::string> key_fields;
  /// Rows per ingest batch (one checkpoint step).
  std::size_t batch_rows = 5000;
  /// DSR only: accept cells wrapped in double quotes (which the flat-file format does not use) and
  /// strip them.
  bool lenient_quotes = false;
  /// DSR only.
  transaction_scope transaction_id_scope = transaction_scope::transaction;
};

/// One problem in a `sources` document: the field path and what is wrong with it.
struct config_issue {
  std::string path;
  std::string what;
};

/// Reads the engine config's `sources` array (`path` is its field path, e.g. `sources`). Every
/// problem is appended to `issues`, naming its path, e.g.
/// `sources[0].format: expected one of csv|dsr, got "xls"`.
std::vector<source_config> parse_sources(const boost::json::value& v, const std::string& path,
                                         std::vector<config_issue>& issues);

/// Reads one source object (a preset file holds one, ready to paste into `sources`).
source_config parse_source(const boost::json::value& v, const std::string& path,
                           std::vector<config_issue>& issues);

/// Reads a preset file holding one source object (comments allowed, as in the config).
expected<source_config> load_source_preset(const std::string& path);

}  // namespace dspsync
