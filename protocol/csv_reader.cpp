#include "protocol/csv_reader.hpp"

#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "domain/idempotency.hpp"

namespace dspsync {

namespace {

constexpr std::size_t io_chunk = 1 << 20;

bool ends_with(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  for (std::size_t i = 0; i < suffix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[s.size() - suffix.size() + i])) != suffix[i]) return false;
  return true;
}

uint64_t count_newlines(const char* p, std::size_t n) {
  uint64_t count = 0;
  const char* end = p + n;
  while (p < end) {
    const void* hit = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
    if (hit == nullptr) break;
    ++count;
    p = static_cast<const char*>(hit) + 1;
  }
  return count;
}

}  // namespace

char default_delimiter(std::string_view path) {
  if (ends_with(path, ".gz")) path.remove_suffix(3);
  return ends_with(path, ".tsv") || ends_with(path, ".txt") ? '\t' : ',';
}

expected<file_identity> identify_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return failure{ec::io_failure, path + ": cannot read: " + std::strerror(errno)};
  file_identity id;
  id.path = path;
  sha256 hash;
  std::vector<char> buf(io_chunk);
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) {
    hash.update(std::string_view(buf.data(), n));
    id.size += n;
  }
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (failed) return failure{ec::io_failure, path + ": read error: " + std::strerror(err)};
  id.sha256 = to_hex(hash.finish());
  return id;
}

// --- byte_source ----------------------------------------------------------------------------

struct byte_source::inflater {
  z_stream strm{};
  std::vector<unsigned char> in = std::vector<unsigned char>(io_chunk);
  bool member_open = true;
  bool in_eof = false;
  ~inflater() { inflateEnd(&strm); }
};

byte_source::~byte_source() {
  if (file_ != nullptr) std::fclose(file_);
}

expected<std::unique_ptr<byte_source>> byte_source::open(const std::string& path) {
  std::unique_ptr<byte_source> s(new byte_source());
  s->path_ = path;
  s->file_ = std::fopen(path.c_str(), "rb");
  if (s->file_ == nullptr) return failure{ec::io_failure, path + ": cannot read: " + std::strerror(errno)};
  struct stat st {};
  if (::fstat(fileno(s->file_), &st) == 0) s->file_size_ = static_cast<uint64_t>(st.st_size);
  unsigned char magic[2] = {0, 0};
  const std::size_t got = std::fread(magic, 1, 2, s->file_);
  s->gzip_ = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  if (std::fseek(s->file_, 0, SEEK_SET) != 0)
    return failure{ec::io_failure, path + ": cannot seek: " + std::strerror(errno)};
  if (s->gzip_) {
    s->z_ = std::make_unique<inflater>();
    // 15 + 16: gzip wrapper only, largest window.
    if (inflateInit2(&s->z_->strm, 15 + 16) != Z_OK)
      return failure{ec::io_failure, path + ": cannot initialise zlib"};
  }
  return expected<std::unique_ptr<byte_source>>(std::move(s));
}

expected<std::size_t> byte_source::read(char* out, std::size_t n) {
  if (n == 0) return std::size_t{0};
  if (!gzip_) {
    const std::size_t r = std::fread(out, 1, n, file_);
    if (r < n && std::ferror(file_))
      return failure{ec::io_failure, path_ + ": read error: " + std::strerror(errno)};
    file_read_ += r;
    return r;
  }
  auto& z = *z_;
  z.strm.next_out = reinterpret_cast<unsigned char*>(out);
  z.strm.avail_out = static_cast<uInt>(std::min<std::size_t>(n, 1u << 30));
  const std::size_t want = z.strm.avail_out;
  for (;;) {
    const std::size_t produced = want - z.strm.avail_out;
    if (produced > 0) return produced;
    if (z.strm.avail_in == 0 && !z.in_eof) {
      const std::size_t r = std::fread(z.in.data(), 1, z.in.size(), file_);
      if (r == 0 && std::ferror(file_))
        return failure{ec::io_failure, path_ + ": read error: " + std::strerror(errno)};
      file_read_ += r;
      if (r == 0) z.in_eof = true;
      z.strm.next_in = z.in.data();
      z.strm.avail_in = static_cast<uInt>(r);
    }
    if (z.strm.avail_in == 0 && z.in_eof) {
      if (!z.member_open) return std::size_t{0};
      return failure{ec::io_failure,
                     path_ + ": truncated gzip data (the file ends inside a compressed member)"};
    }
    if (!z.member_open) {
      // Concatenated members (`cat a.gz b.gz`) are one stream.
      inflateReset(&z.strm);
      z.member_open = true;
    }
    const int ret = inflate(&z.strm, Z_NO_FLUSH);
    if (ret == Z_STREAM_END) {
      z.member_open = false;
    } else if (ret != Z_OK && ret != Z_BUF_ERROR) {
      return failure{ec::io_failure, path_ + ": corrupt gzip data at compressed byte " +
                                         std::to_string(file_read_ - z.strm.avail_in) + ": " +
                                         (z.strm.msg != nullptr ? z.strm.msg : "inflate failed")};
    }
  }
}

// --- csv_reader -----------------------------------------------------------------------------

csv_reader::csv_reader(std::unique_ptr<byte_source> in, csv_options options)
    : in_(std::move(in)), opt_(options) {
  buf_.resize(std::min<std::size_t>(256 * 1024, opt_.max_record_bytes + 64 * 1024));
}

expected<bool> csv_reader::fill() {
  if (eof_) return false;
  if (pos_ > 0) {
    std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
    base_ += pos_;
    end_ -= pos_;
    pos_ = 0;
  }
  if (end_ == buf_.size()) buf_.resize(buf_.size() * 2);
  auto n = in_->read(buf_.data() + end_, buf_.size() - end_);
  if (!n) return n.error();
  if (*n == 0) {
    eof_ = true;
    return false;
  }
  end_ += *n;
  return true;
}

csv_reader::parse_result csv_reader::parse_at(std::size_t start, csv_record& rec, std::size_t& end,
                                              std::string& why) {
  spans_.clear();
  scratch_.clear();
  const char* b = buf_.data();
  const char delim = opt_.delimiter;
  const char quote = opt_.quote;
  uint64_t newlines = 0;
  std::size_t i = start;
  for (;;) {
    if (quote != 0 && i < end_ && b[i] == quote) {
      ++i;
      std::size_t seg = i;
      bool copied = false;
      const std::size_t scratch_begin = scratch_.size();
      for (;;) {
        const void* hit = std::memchr(b + i, quote, end_ - i);
        if (hit == nullptr) {
          if (!eof_) return parse_result::need_more;
          why = "a quoted field is never closed";
          return parse_result::malformed;
        }
        const std::size_t q = static_cast<std::size_t>(static_cast<const char*>(hit) - b);
        newlines += count_newlines(b + i, q - i);
        if (q + 1 == end_ && !eof_) return parse_result::need_more;  // "" split across reads?
        if (q + 1 < end_ && b[q + 1] == quote) {
          scratch_.append(b + seg, q + 1 - seg);  // keeps one of the two quotes
          copied = true;
          i = q + 2;
          seg = i;
          continue;
        }
        if (copied) {
          scratch_.append(b + seg, q - seg);
          spans_.push_back(span{true, scratch_begin, scratch_.size() - scratch_begin});
        } else {
          spans_.push_back(span{false, seg, q - seg});
        }
        i = q + 1;
        break;
      }
      if (i == end_) {
        if (!eof_) return parse_result::need_more;
        end = i;
        break;
      }
      const char c = b[i];
      if (c == delim) {
        ++i;
        continue;
      }
      if (c == '\n') {
        end = i + 1;
        break;
      }
      if (c == '\r') {
        if (i + 1 == end_ && !eof_) return parse_result::need_more;
        if (i + 1 == end_ || b[i + 1] == '\n') {
          end = std::min(i + 2, end_);
          break;
        }
      }
      why = std::string("unexpected character '") + c + "' after a closing quote";
      return parse_result::malformed;
    }
    std::size_t j = i;
    while (j < end_ && b[j] != delim && b[j] != '\n') ++j;
    if (j == end_) {
      if (!eof_) return parse_result::need_more;
      std::size_t stop = j;
      if (stop > i && b[stop - 1] == '\r') --stop;
      spans_.push_back(span{false, i, stop - i});
      end = j;
      break;
    }
    if (b[j] == delim) {
      spans_.push_back(span{false, i, j - i});
      i = j + 1;
      continue;
    }
    std::size_t stop = j;
    if (stop > i && b[stop - 1] == '\r') --stop;
    spans_.push_back(span{false, i, stop - i});
    end = j + 1;
    break;
  }
  // The record is complete: [start, end).
  std::size_t raw_end = end;
  if (raw_end > start && b[raw_end - 1] == '\n') {
    --raw_end;
    ++newlines;
    if (raw_end > start && b[raw_end - 1] == '\r') --raw_end;
  } else if (raw_end > start && b[raw_end - 1] == '\r') {
    --raw_end;
  }
  rec.raw = std::string_view(b + start, raw_end - start);
  rec.fields.clear();
  for (const auto& s : spans_)
    rec.fields.emplace_back(s.scratch ? scratch_.data() + s.begin : b + s.begin, s.size);
  rec.line = line_;
  line_ += newlines;
  return parse_result::complete;
}

expected<bool> csv_reader::next(csv_record& rec) {
  if (!bom_checked_) {
    while (end_ - pos_ < 3 && !eof_) {
      auto f = fill();
      if (!f) return f.error();
    }
    if (end_ - pos_ >= 3 && std::memcmp(buf_.data() + pos_, "\xEF\xBB\xBF", 3) == 0) pos_ += 3;
    bom_checked_ = true;
  }
  for (;;) {
    if (pos_ == end_) {
      auto f = fill();
      if (!f) return f.error();
      if (!*f) return false;
    }
    std::size_t end = 0;
    std::string why;
    rec.error.reset();
    auto r = parse_at(pos_, rec, end, why);
    if (r == parse_result::need_more && end_ - pos_ < opt_.max_record_bytes) {
      auto f = fill();
      if (!f) return f.error();
      continue;  // parse again with more bytes (or at the end of input)
    }
    if (r == parse_result::complete) {
      rec.offset = base_ + pos_;
      rec.end_offset = base_ + end;
      pos_ = end;
      if (rec.raw.empty() && rec.fields.size() == 1) continue;  // a blank line
      return true;
    }
    if (r == parse_result::need_more)
      why = "record longer than " + std::to_string(opt_.max_record_bytes) + " bytes (a quote never closed?)";
    // Malformed: quarantine the first physical line of the record and read on after it, so one
    // stray quote costs one line, not the rest of the file.
    rec.fields.clear();
    rec.line = line_;
    rec.offset = base_ + pos_;
    const void* nl = std::memchr(buf_.data() + pos_, '\n', end_ - pos_);
    std::size_t line_end =
        nl != nullptr ? static_cast<std::size_t>(static_cast<const char*>(nl) - buf_.data()) : end_;
    std::size_t raw_end = line_end;
    if (raw_end > pos_ && buf_[raw_end - 1] == '\r') --raw_end;
    rec.raw = std::string_view(buf_.data() + pos_, raw_end - pos_);
    rec.error = failure{ec::bad_value, "line " + std::to_string(line_) + ": malformed CSV: " + why};
    if (nl == nullptr && !eof_) {
      // One physical line longer than the limit: keep its head for the quarantine and drop the rest.
      scratch_.assign(rec.raw.substr(0, 64 * 1024));
      rec.raw = scratch_;
      rec.error->message += " (line truncated to 64 KiB in quarantine)";
      for (;;) {
        pos_ = end_;
        auto f = fill();
        if (!f) return f.error();
        if (!*f) break;
        const void* hit = std::memchr(buf_.data() + pos_, '\n', end_ - pos_);
        if (hit != nullptr) {
          pos_ = static_cast<std::size_t>(static_cast<const char*>(hit) - buf_.data()) + 1;
          break;
        }
      }
      rec.end_offset = base_ + pos_;
      ++line_;
      return true;
    }
    pos_ = nl != nullptr ? line_end + 1 : end_;
    rec.end_offset = base_ + pos_;
    ++line_;
    return true;
  }
}

status csv_reader::skip_to(uint64_t target) {
  while (offset() < target) {
    if (pos_ == end_) {
      auto f = fill();
      if (!f) return f.error();
      if (!*f)
        return failure{ec::io_failure, in_->path() + ": ends at byte " + std::to_string(offset()) +
                                           ", before the committed offset " + std::to_string(target)};
    }
    const std::size_t n = static_cast<std::size_t>(std::min<uint64_t>(end_ - pos_, target - offset()));
    line_ += count_newlines(buf_.data() + pos_, n);
    pos_ += n;
  }
  bom_checked_ = true;
  return ok;
}

}  // namespace dspsync
