#include "protocol/row_mapper.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>

#include <boost/json.hpp>

#include "config/config.hpp"

namespace dspsync {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string quoted(std::string_view s) {
  return boost::json::serialize(boost::json::string_view(s.data(), s.size()));
}

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

/// The first `YYYY-MM`, `YYYY_MM` or `YYYYMM` (a plausible month) in a file's base name.
std::string period_in_name(std::string_view path) {
  if (auto slash = path.rfind('/'); slash != std::string_view::npos) path.remove_prefix(slash + 1);
  auto digit = [&](std::size_t i) {
    return i < path.size() && std::isdigit(static_cast<unsigned char>(path[i]));
  };
  for (std::size_t i = 0; i + 6 <= path.size(); ++i) {
    if (i > 0 && digit(i - 1)) continue;
    if (!(digit(i) && digit(i + 1) && digit(i + 2) && digit(i + 3))) continue;
    std::size_t m = i + 4;
    if (m < path.size() && (path[m] == '-' || path[m] == '_')) ++m;
    if (!(digit(m) && digit(m + 1)) || digit(m + 2)) continue;
    const int year = std::stoi(std::string(path.substr(i, 4)));
    const int month = std::stoi(std::string(path.substr(m, 2)));
    if (year >= 1990 && year <= 2200 && month >= 1 && month <= 12)
      return std::string(path.substr(i, 4)) + "-" + std::string(path.substr(m, 2));
  }
  return "";
}

}  // namespace

std::string file_source_name(std::string_view source, const file_identity& file) {
  return std::string(source) + "/" + file.sha256.substr(0, 16);
}

std::string file_cursor(const file_identity& file, uint64_t offset) {
  return file.sha256 + ":" + std::to_string(offset);
}

expected<uint64_t> parse_file_cursor(std::string_view cursor, const file_identity& file) {
  const auto colon = cursor.find(':');
  const auto digits = colon == std::string_view::npos ? std::string_view() : cursor.substr(colon + 1);
  if (colon == std::string_view::npos || cursor.substr(0, colon) != file.sha256 || digits.empty() ||
      digits.size() > 19 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return failure{ec::bad_value, file.path + ": committed cursor \"" + std::string(cursor) +
                                      "\" is not a position in this file (expected " + file.sha256 +
                                      ":OFFSET)"};
  return std::stoull(std::string(digits));
}

// --- file_batcher ---------------------------------------------------------------------------

file_batcher::file_batcher(std::string source, const file_identity& file, uint64_t start_offset,
                           std::size_t batch_rows, batch_sink& sink)
    : source_(std::move(source)),
      file_(file),
      batch_rows_(std::max<std::size_t>(batch_rows, 1)),
      sink_(sink),
      offset_(start_offset),
      cursor_(file_cursor(file, start_offset)) {
  start_batch();
}

void file_batcher::start_batch() {
  batch_ = ingest_batch{};
  batch_.source = source_;
  batch_.cursor_before = cursor_;
  batch_.records.reserve(std::min<std::size_t>(batch_rows_, 8192));
  first_line_ = 0;
  last_line_ = 0;
}

status file_batcher::row_done(uint64_t line, uint64_t end_offset) {
  if (first_line_ == 0) first_line_ = line;
  last_line_ = line;
  ++rows_;
  ++batch_.records_in;
  if (batch_.records_in >= batch_rows_) return deliver(end_offset, false);
  return ok;
}

status file_batcher::finish(uint64_t end_offset) { return deliver(end_offset, true); }

status file_batcher::deliver(uint64_t end_offset, bool caught_up) {
  batch_.cursor_after = file_cursor(file_, end_offset);
  batch_.caught_up = caught_up;
  batch_.request =
      "FILE " + file_.path + " bytes " + std::to_string(offset_) + "-" + std::to_string(end_offset);
  batch_.correlation_id = "file-" + file_.sha256.substr(0, 16) + "-" + std::to_string(offset_);
  batch_.fetched_at_ms = now_ms();
  // The descriptor, not the data: see the class comment.
  boost::json::object d;
  d["file"] = file_.path;
  d["sha256"] = file_.sha256;
  d["bytes"] = boost::json::array{offset_, end_offset};
  d["lines"] = boost::json::array{first_line_, last_line_};
  d["rows"] = batch_.records_in;
  batch_.body = boost::json::serialize(d);
  body_hash_.reset();
  body_hash_.update(batch_.body);
  batch_.body_sha256 = to_hex(body_hash_.finish());
  auto st = sink_.deliver(std::move(batch_));
  cursor_ = file_cursor(file_, end_offset);
  offset_ = end_offset;
  start_batch();
  return st;
}

// --- row_mapper -----------------------------------------------------------------------------

row_mapper::row_mapper(const source_config& src, territory_options territories)
    : src_(src), keys_(src.key_fields.empty() ? default_key_fields() : src.key_fields) {
  ctx_.territories = std::move(territories);
  ctx_.dsp = src_.dsp.empty() ? src_.name : src_.dsp;
  column_.fill(-1);
}

status row_mapper::bind_header(const std::vector<std::string_view>& header, const std::string& file_path) {
  header_.clear();
  for (auto h : header) header_.push_back(lower(trim(h)));
  auto find = [&](std::string_view name) -> int {
    const std::string want = lower(trim(name));
    for (std::size_t i = 0; i < header_.size(); ++i)
      if (header_[i] == want) return static_cast<int>(i);
    return -1;
  };
  const auto& defaults = default_field_aliases();
  std::array<std::vector<std::string>, field_count> tried;
  for (std::size_t f = 0; f < field_count; ++f) {
    const std::string name(field_name(static_cast<field>(f)));
    auto it = src_.columns.find(name);
    tried[f] = it != src_.columns.end() ? it->second : defaults.at(name);
    column_[f] = -1;
    for (const auto& alias : tried[f]) {
      if (int c = find(alias); c >= 0) {
        column_[f] = c;
        column_name_[f] = std::string(trim(header[static_cast<std::size_t>(c)]));
        break;
      }
    }
  }
  period_from_name_.clear();
  if (src_.reporting_period_from == period_source::filename) period_from_name_ = period_in_name(file_path);

  std::vector<std::string> missing;
  auto need = [&](field f, bool have_default) {
    const auto i = static_cast<std::size_t>(f);
    if (column_[i] >= 0 || have_default) return;
    std::string aliases;
    for (const auto& a : tried[i]) aliases += (aliases.empty() ? "" : ", ") + quoted(a);
    missing.push_back(std::string(field_name(f)) + " (looked for " + aliases + ")");
  };
  need(field::isrc, false);
  need(field::revenue, false);
  need(field::currency, !src_.currency.empty());
  need(field::reporting_period, !src_.reporting_period.empty() || !period_from_name_.empty());
  id_columns_.clear();
  id_labels_.clear();
  if (column_[static_cast<std::size_t>(field::transaction_id)] < 0) {
    if (!src_.transaction_id_columns.empty()) {
      for (const auto& name : src_.transaction_id_columns) {
        // A canonical field name stands for the column bound to it, whichever alias matched.
        int c = -1;
        if (auto f = field_from_name(name)) c = column_[static_cast<std::size_t>(*f)];
        if (c < 0) c = find(name);
        if (c < 0) {
          missing.push_back("transaction_id_columns entry " + quoted(name));
        } else {
          id_columns_.push_back(c);
          id_labels_.push_back(lower(trim(name)));
        }
      }
    } else {
      // Every column but the amounts: a corrected amount for the same line is then a restatement.
      for (std::size_t i = 0; i < header_.size(); ++i) {
        const int c = static_cast<int>(i);
        if (c != column_[static_cast<std::size_t>(field::units)] &&
            c != column_[static_cast<std::size_t>(field::revenue)]) {
          id_columns_.push_back(c);
          id_labels_.push_back(header_[i]);
        }
      }
    }
  }
  if (missing.empty()) return ok;
  std::string what = file_path + ": source \"" + src_.name + "\": the header has no column for ";
  for (std::size_t i = 0; i < missing.size(); ++i) what += (i ? "; " : "") + missing[i];
  if (src_.reporting_period_from == period_source::filename && period_from_name_.empty())
    what += "; and the file name holds no YYYY-MM for reporting_period_from \"filename\"";
  what += ". Header: ";
  for (std::size_t i = 0; i < header.size(); ++i) what += (i ? ", " : "") + quoted(trim(header[i]));
  what += ". Add the header name to the source's \"columns\" aliases.";
  return failure{ec::missing_field, what};
}

std::string row_mapper::describe_binding() const {
  std::string out;
  for (std::size_t f = 0; f < field_count; ++f) {
    const std::string name(field_name(static_cast<field>(f)));
    std::string from;
    if (column_[f] >= 0)
      from = quoted(column_name_[f]);
    else if (static_cast<field>(f) == field::currency && !src_.currency.empty())
      from = src_.currency + " (fixed)";
    else if (static_cast<field>(f) == field::reporting_period && !period_from_name_.empty())
      from = period_from_name_ + " (file name)";
    else if (static_cast<field>(f) == field::reporting_period && !src_.reporting_period.empty())
      from = src_.reporting_period + " (fixed)";
    else if (static_cast<field>(f) == field::transaction_id)
      from = "derived from " + std::to_string(id_columns_.size()) + " columns";
    else
      continue;
    out += (out.empty() ? "" : ", ") + name + " <- " + from;
  }
  return out;
}

void row_mapper::map_csv_row(const csv_record& row, std::string_view quarantine_scope, ingest_batch& batch) {
  if (row.error) {
    quarantine(row.line, row.raw, {*row.error}, quarantine_scope, batch);
    return;
  }
  if (row.fields.size() != header_.size()) {
    quarantine(row.line, row.raw,
               {failure{ec::bad_value, "line " + std::to_string(row.line) + ": expected " +
                                           std::to_string(header_.size()) + " fields as in the header, got " +
                                           std::to_string(row.fields.size())}},
               quarantine_scope, batch);
    return;
  }
  raw_.clear();
  for (std::size_t f = 0; f < field_count; ++f) {
    if (column_[f] < 0) continue;
    const auto cell = row.fields[static_cast<std::size_t>(column_[f])];
    if (static_cast<field>(f) == field::artists) {
      if (!trim(cell).empty()) raw_.artists.push_back(cell);
    } else {
      raw_[static_cast<field>(f)] = cell;
    }
  }
  auto blank = [&](field f) { return !raw_[f] || trim(*raw_[f]).empty(); };
  if (blank(field::currency) && !src_.currency.empty()) raw_[field::currency] = src_.currency;
  if (blank(field::reporting_period)) {
    if (!period_from_name_.empty())
      raw_[field::reporting_period] = period_from_name_;
    else if (!src_.reporting_period.empty())
      raw_[field::reporting_period] = src_.reporting_period;
  }
  if (column_[static_cast<std::size_t>(field::transaction_id)] < 0) {
    id_hash_.reset();
    for (std::size_t k = 0; k < id_columns_.size(); ++k) {
      id_hash_.update(id_labels_[k]);
      id_hash_.update("=");
      id_hash_.update(trim(row.fields[static_cast<std::size_t>(id_columns_[k])]));
      id_hash_.update("\x1f");
    }
    derived_id_ = "row-" + to_hex(id_hash_.finish()).substr(0, 32);
    raw_[field::transaction_id] = derived_id_;
  }
  map_fields(raw_, row.line, row.raw, quarantine_scope, "", batch);
}

void row_mapper::map_fields(const raw_fields& fields, uint64_t position, std::string_view raw,
                            std::string_view quarantine_scope, const std::string& note, ingest_batch& batch) {
  // Validated straight into its place in the batch (taken back when the row is corrupt).
  keyed_record& kr = batch.records.emplace_back();
  validate(fields, ctx_, result_, kr.record);
  if (result_.outcome == verdict::corrupt) {
    batch.records.pop_back();
    auto errors = result_.faults;
    if (!note.empty() && !errors.empty()) errors.front().message += " (" + note + ")";
    quarantine(position, raw, std::move(errors), quarantine_scope, batch);
    return;
  }
  kr.position = position;
  kr.key = keys_.key(kr.record);
  if (result_.outcome == verdict::pending) {
    kr.state = record_state::pending_reconciliation;
    for (const auto& f : result_.faults) {
      if (!kr.faults.empty()) kr.faults += "; ";
      kr.faults += f.message;
    }
  }
}

void row_mapper::quarantine(uint64_t position, std::string_view raw, std::vector<failure> errors,
                            std::string_view quarantine_scope, ingest_batch& batch) {
  quarantined_item q;
  q.position = position;
  q.raw.assign(raw.data(), raw.size());
  q.errors = std::move(errors);
  q.key = keys_.quarantine_key(quarantine_scope, q.raw);
  batch.quarantined.push_back(std::move(q));
}

// --- CSV files ------------------------------------------------------------------------------

status read_csv_file(const source_config& src, const territory_options& territories,
                     const file_identity& file, uint64_t start_offset, batch_sink& sink,
                     std::string* binding) {
  auto in = byte_source::open(file.path);
  if (!in) return in.error();
  csv_options options;
  options.delimiter = src.delimiter != 0 ? src.delimiter : default_delimiter(file.path);
  options.quote = src.quote;
  csv_reader reader(std::move(*in), options);
  csv_record rec;
  auto got = reader.next(rec);
  if (!got) return got.error();
  if (!*got) return failure{ec::missing_field, file.path + ": empty file: expected a header row"};
  if (rec.error)
    return failure{ec::bad_value, file.path + ": the header row is malformed: " + rec.error->message};
  row_mapper mapper(src, territories);
  if (auto st = mapper.bind_header(rec.fields, file.path); !st) return st;
  if (binding != nullptr) *binding = mapper.describe_binding();
  if (start_offset != 0) {
    if (start_offset < reader.offset())
      return failure{ec::bad_value, file.path + ": committed offset " + std::to_string(start_offset) +
                                        " lies inside the header row"};
    if (auto st = reader.skip_to(start_offset); !st) return st;
  }
  const std::string scope = src.name + "/" + file.sha256;
  file_batcher batcher(file_source_name(src.name, file), file, start_offset, src.batch_rows, sink);
  uint64_t rows = 0;
  for (;;) {
    got = reader.next(rec);
    if (!got) return got.error();
    if (!*got) break;
    mapper.map_csv_row(rec, scope, batcher.current());
    if (auto st = batcher.row_done(rec.line, rec.end_offset); !st) return st;
    if ((++rows & 8191) == 0) sink.progress(reader.source().file_bytes_read(), rows);
  }
  if (auto st = batcher.finish(reader.offset()); !st) return st;
  sink.progress(reader.source().file_bytes_read(), rows);
  return ok;
}

}  // namespace dspsync
