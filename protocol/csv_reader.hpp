#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/expected.hpp"

namespace dspsync {

/// A report file as the ledger knows it: its content hash names its checkpoint, so a renamed copy
/// resumes (or is skipped) like the original.
struct file_identity {
  std::string path;
  /// Lower-case hex SHA-256 of the file's bytes as stored (compressed, for a .gz).
  std::string sha256;
  /// Size on disk.
  uint64_t size = 0;
};

/// Hashes a file in one streaming pass with a fixed buffer.
expected<file_identity> identify_file(const std::string& path);

/// A file's bytes, inflated on the fly when they start with the gzip magic (1f 8b); concatenated
/// gzip members are read one after the other. Reads through a fixed buffer: memory does not grow
/// with the file. Offsets handed out by readers count these (uncompressed) bytes.
class byte_source {
 public:
  static expected<std::unique_ptr<byte_source>> open(const std::string& path);
  ~byte_source();
  byte_source(const byte_source&) = delete;
  byte_source& operator=(const byte_source&) = delete;

  /// Reads up to `n` bytes; 0 at the end. Fails on an I/O error or corrupt/truncated gzip data.
  expected<std::size_t> read(char* out, std::size_t n);

  /// Bytes consumed from the file itself (compressed bytes for gzip): progress against `file_size`.
  uint64_t file_bytes_read() const { return file_read_; }
  uint64_t file_size() const { return file_size_; }
  bool gzip() const { return gzip_; }
  const std::string& path() const { return path_; }

 private:
  byte_source() = default;
  struct inflater;
  std::string path_;
  std::FILE* file_ = nullptr;
  uint64_t file_read_ = 0;
  uint64_t file_size_ = 0;
  bool gzip_ = false;
  std::unique_ptr<inflater> z_;
};

/// Options of the CSV reader.
struct csv_options {
  char delimiter = ',';
  /// 0: no quoting, every `"` is data (plain TSV exports).
  char quote = '"';
  /// Longest record accepted; a longer one (typically an unterminated quote swallowing the rest of
  /// the file) is reported as malformed and reading resumes on the line after its start.
  std::size_t max_record_bytes = 1 << 20;
};

/// One record (a row) of a CSV file. Views stay valid until the next call to `next`.
struct csv_record {
  std::vector<std::string_view> fields;
  /// The record's bytes as in the file, without its line terminator.
  std::string_view raw;
  /// Physical line (1-based) where the record starts.
  uint64_t line = 0;
  /// Byte offset of its first byte and of the byte after its terminator.
  uint64_t offset = 0;
  uint64_t end_offset = 0;
  /// Set when the record is malformed (`fields` is then empty): quarantine it, read on.
  std::optional<failure> error;
};

/// A streaming RFC 4180 reader: quoted fields with delimiters, line breaks and doubled quotes
/// inside, CRLF or LF line ends, a UTF-8 BOM skipped, any single-byte delimiter. Lenient where real
/// exports are sloppy and nothing is lost: a quote inside an unquoted field is data; blank lines are
/// skipped. A malformed record (text after a closing quote, a quote never closed) comes back with
/// `error` set and the reader goes on with the next line. Memory is one buffer of about
/// `max_record_bytes`, whatever the file size.
class csv_reader {
 public:
  csv_reader(std::unique_ptr<byte_source> in, csv_options options);

  /// Reads the next record; false at the end of the input. Fails only on I/O errors.
  expected<bool> next(csv_record& rec);

  /// Skips forward to `offset`, which must be a record boundary at or after the current position
  /// (a committed cursor); lines are counted on the way so positions stay exact.
  status skip_to(uint64_t offset);

  /// Offset of the next unread byte.
  uint64_t offset() const { return base_ + pos_; }
  const byte_source& source() const { return *in_; }

 private:
  /// Makes at least one more byte available after `end_`; false at the end of input.
  expected<bool> fill();
  enum class parse_result { complete, need_more, malformed };
  parse_result parse_at(std::size_t start, csv_record& rec, std::size_t& end, std::string& why);

  std::unique_ptr<byte_source> in_;
  csv_options opt_;
  std::vector<char> buf_;
  std::size_t pos_ = 0;  // next unread byte in buf_
  std::size_t end_ = 0;  // end of valid bytes in buf_
  uint64_t base_ = 0;    // file offset of buf_[0]
  uint64_t line_ = 1;
  bool eof_ = false;
  bool bom_checked_ = false;
  std::string scratch_;  // unescaped copies of fields with doubled quotes
  struct span {
    bool scratch;
    std::size_t begin;
    std::size_t size;
  };
  std::vector<span> spans_;
};

/// The delimiter a file gets when its source does not set one: tab for `.tsv` / `.txt` (also under
/// a `.gz`), comma otherwise.
char default_delimiter(std::string_view path);

}  // namespace dspsync
