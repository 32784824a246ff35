#include "protocol/recording.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "domain/timefmt.hpp"
#include "protocol/pagination.hpp"

namespace dspsync {

namespace {

// --- Randomness ------------------------------------------------------------------------------
// splitmix64 (Steele, Lea, Flood 2014): one multiply-xorshift finaliser serves as the generator and
// as the hash that gives every row its own stream, so a row's bytes depend only on (seed, index)
// and a duplicate or a re-served row can be written again byte for byte without being stored.

constexpr uint64_t golden_gamma = 0x9e3779b97f4a7c15ULL;

constexpr uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// The hash of (seed, stream, index): the start of an independent generator.
constexpr uint64_t hash3(uint64_t seed, uint64_t which, uint64_t index) {
  return mix(mix(seed + golden_gamma * (which + 1)) ^ (index * golden_gamma + 0x632be59bd9b4e019ULL));
}

/// Independent random streams of one recording.
enum stream : uint64_t {
  base_rows = 1,
  restated_rows,
  malformed_rows,
  layout_stream,
  window_stream,
  har_stream,
  track_stream
};

/// A splitmix64 generator.
class prng {
 public:
  explicit prng(uint64_t seed) : state_(seed) {}

  uint64_t next() { return mix(state_ += golden_gamma); }
  /// Uniform in [0, n); 0 when n is 0. The modulo bias (n / 2^64) is irrelevant here.
  uint64_t below(uint64_t n) { return n == 0 ? 0 : next() % n; }
  /// True with probability p, decided on integers so that every platform agrees.
  bool chance(double p) { return static_cast<double>(next() >> 11) * 0x1.0p-53 < p; }

 private:
  uint64_t state_;
};

// --- Catalogue tables ------------------------------------------------------------------------

/// A currency the synthetic DSP pays in, with its per-stream rate range in micro-units.
struct pay_currency {
  std::string_view code;
  /// No minor units (JPY): revenue is written as a whole number.
  bool whole;
  int64_t rate_lo;
  int64_t rate_hi;
};

constexpr std::array<pay_currency, 5> currencies{{
    {"USD", false, 3'000, 5'000},
    {"EUR", false, 2'800, 4'600},
    {"GBP", false, 2'400, 3'900},
    {"JPY", true, 400'000, 650'000},
    {"SEK", false, 30'000, 52'000},
}};

/// A territory and the currency it is reported in.
struct territory {
  std::string_view code;
  uint8_t currency;
};

constexpr std::array<territory, 24> territories{{
    {"US", 0}, {"CA", 0}, {"MX", 0}, {"BR", 0}, {"AU", 0}, {"KR", 0}, {"IN", 0}, {"ZA", 0},
    {"GB", 2}, {"IE", 1}, {"DE", 1}, {"FR", 1}, {"ES", 1}, {"IT", 1}, {"NL", 1}, {"BE", 1},
    {"AT", 1}, {"FI", 1}, {"DK", 1}, {"NO", 1}, {"PL", 1}, {"CH", 1}, {"SE", 4}, {"JP", 3},
}};

constexpr std::array<std::string_view, 10> isrc_countries{"US", "GB", "DE", "FR", "SE",
                                                          "JP", "NL", "CA", "AU", "BR"};

constexpr std::string_view alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

// Titles and names include quotes, a backslash and non-ASCII letters so that readers' escaping and
// UTF-8 handling are exercised by every recording.
constexpr std::array<std::string_view, 16> title_first{
    "Midnight", "Golden", "Electric", "Silent", "Neon",     "Broken", "Velvet",  "Endless",
    "Summer",   "Paper",  "Crystal",  "Wild",   "Northern", "Fading", "Café de", "夜明けの"};
constexpr std::array<std::string_view, 16> title_second{
    "Echoes", "River", "Hearts", "Lights",  "Dreams", "Skyline", "Garden", "Letters",
    "Tides",  "Fire",  "Roads",  "Mirrors", "Sonata", "Mañana",  "Nights", "Rain"};
constexpr std::array<std::string_view, 8> title_suffix{
    "", "", "", "", " (Remix)", " (Live)", " - Radio Edit", " (The \"Blue\" Version)"};
constexpr std::array<std::string_view, 16> artist_names{
    "Nova Lane",  "The Lanterns", "Björn Ek", "DJ Kaito",   "Amélie Roux", "Los Faros",
    "Mira & Co",  "Kofi Mensah",  "Yuna",     "Ash Harbor", "Sam O'Neil",  "Luz del Sur",
    "AC\\DC Kid", "Élan",         "MC Vega",  "Hanna Berg"};

// --- Rows ------------------------------------------------------------------------------------

/// What a row in the served stream is.
enum class row_kind : uint8_t { base, restated, duplicate, malformed };

/// How a malformed row is broken; the kinds cycle in this order.
enum class fault : uint8_t { none, bad_isrc, bad_currency, missing_field, broken_number };

/// A row of the served stream. `index` is the base record (base, duplicate), the restatement or the
/// malformed row.
struct row_ref {
  uint32_t index;
  row_kind kind;
};

/// The values of one row, before they are written.
struct row_values {
  uint64_t track = 0;
  uint8_t territory = 0;
  int64_t units = 0;
  /// Revenue in millionths of the currency (whole units for JPY).
  int64_t revenue_micros = 0;
  /// `tx-<n>` for well-formed rows, `tx-q<n>` for malformed ones.
  bool quarantine_tx = false;
  uint64_t tx_number = 0;
  fault broken = fault::none;
  /// Seconds since the epoch for `updated_at`; negative when the style has none.
  int64_t updated_at = -1;
};

/// What every row of one recording shares.
struct row_context {
  uint64_t seed = 0;
  uint64_t tracks = 1;
  /// `,"reporting_period":"2026-10"` and `,"streams":`, escaped once.
  std::string period_member;
  std::string units_key;
};

void append_escaped(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 0x0F];
    } else {
      out += ch;
    }
  }
}

void append_int(std::string& out, int64_t v) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

/// Writes `digits` decimal digits of v, zero-padded.
void append_padded(std::string& out, uint64_t v, int digits) {
  char buf[20];
  for (int i = digits - 1; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  out.append(buf, static_cast<std::size_t>(digits));
}

/// Micro-units as a JSON number: `12.3456`, `-0.004`, `7` (no exponent, no trailing zeros).
void append_micros(std::string& out, int64_t micros) {
  uint64_t mag = micros < 0 ? 0 - static_cast<uint64_t>(micros) : static_cast<uint64_t>(micros);
  if (micros < 0) out += '-';
  append_int(out, static_cast<int64_t>(mag / 1'000'000));
  uint64_t frac = mag % 1'000'000;
  if (frac == 0) return;
  int digits = 6;
  while (frac % 10 == 0) {
    frac /= 10;
    --digits;
  }
  out += '.';
  append_padded(out, frac, digits);
}

/// ISRC of a track: a country prefix, a registrant, then year and designation, which encode the
/// track number (at most 10^7 tracks) so that distinct tracks never share an ISRC.
void append_isrc(std::string& out, const row_context& ctx, uint64_t track) {
  prng r(hash3(ctx.seed, track_stream, track / 64));  // a registrant owns runs of tracks
  out += isrc_countries[r.below(isrc_countries.size())];
  for (int i = 0; i < 3; ++i) out += alnum[r.below(alnum.size())];
  // 7919 is coprime with 10^7: a bijection of the track numbers, so ISRCs stay distinct.
  const uint64_t code = (track * 7919 + mix(ctx.seed) % 10'000'000) % 10'000'000;
  append_padded(out, code / 100'000, 2);
  append_padded(out, code % 100'000, 5);
}

/// UPC-A of a track's release (about twelve tracks each), with its mod-10 check digit.
void append_upc(std::string& out, const row_context& ctx, uint64_t track) {
  constexpr uint64_t body_span = 10'000'000'000ULL;
  const uint64_t release = track / 12;
  static constexpr std::array<char, 4> number_systems{'0', '1', '6', '8'};
  char digits[12];
  digits[0] = number_systems[mix(ctx.seed ^ release) % number_systems.size()];
  // 7919 is coprime with 10, so distinct releases get distinct bodies.
  uint64_t body = (release * 7919 + mix(ctx.seed) % body_span) % body_span;
  for (int i = 10; i >= 1; --i) {
    digits[i] = static_cast<char>('0' + body % 10);
    body /= 10;
  }
  // Weights 3,1,3,... from the right, the check digit being position 1 (weight 1).
  int sum = 0;
  for (int i = 0; i < 11; ++i) sum += (digits[i] - '0') * ((12 - i) % 2 == 0 ? 3 : 1);
  digits[11] = static_cast<char>('0' + (10 - sum % 10) % 10);
  out.append(digits, 12);
}

/// A track's title and artists (unescaped). The catalog generator draws them the same way.
void draw_title_and_artists(const row_context& ctx, uint64_t track, std::string& title,
                            std::vector<std::string_view>& artists) {
  prng r(hash3(ctx.seed, track_stream, track) ^ 0x5bd1e995);
  title.clear();
  title += title_first[r.below(title_first.size())];
  title += ' ';
  title += title_second[r.below(title_second.size())];
  title += title_suffix[r.below(title_suffix.size())];
  artists.clear();
  const uint64_t roll = r.below(10);
  const int count = 1 + (roll < 2 ? 1 : 0) + (roll == 0 ? 1 : 0);
  uint64_t first = r.below(artist_names.size());
  for (int i = 0; i < count; ++i)
    artists.push_back(artist_names[(first + static_cast<uint64_t>(i) * 5) % artist_names.size()]);
}

void append_title_and_artists(std::string& out, const row_context& ctx, uint64_t track) {
  thread_local std::string title;
  thread_local std::vector<std::string_view> artists;
  draw_title_and_artists(ctx, track, title, artists);
  out += ",\"title\":\"";
  append_escaped(out, title);
  out += "\",\"artists\":[";
  for (std::size_t i = 0; i < artists.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    append_escaped(out, artists[i]);
    out += '"';
  }
  out += ']';
}

/// Draws the values of a well-formed row.
row_values draw_values(const row_context& ctx, prng& r) {
  row_values v;
  v.track = r.below(ctx.tracks);
  v.territory = static_cast<uint8_t>(r.chance(0.3) ? 0 : r.below(territories.size()));
  const auto& cur = currencies[territories[v.territory].currency];
  // Streams have a long tail: most rows are small, a few are hits.
  const uint64_t bucket = r.below(100);
  if (bucket < 60)
    v.units = static_cast<int64_t>(1 + r.below(200));
  else if (bucket < 90)
    v.units = static_cast<int64_t>(200 + r.below(5'000));
  else if (bucket < 99)
    v.units = static_cast<int64_t>(5'000 + r.below(100'000));
  else
    v.units = static_cast<int64_t>(100'000 + r.below(2'000'000));
  const int64_t rate =
      cur.rate_lo + static_cast<int64_t>(r.below(static_cast<uint64_t>(cur.rate_hi - cur.rate_lo + 1)));
  v.revenue_micros = v.units * rate;
  if (cur.whole) v.revenue_micros = (v.revenue_micros + 500'000) / 1'000'000 * 1'000'000;
  if (r.chance(0.005)) {  // a void: the DSP takes back plays and money
    v.units = -v.units;
    v.revenue_micros = -v.revenue_micros;
  }
  return v;
}

row_values base_values(const row_context& ctx, uint32_t index) {
  prng r(hash3(ctx.seed, base_rows, index));
  row_values v = draw_values(ctx, r);
  v.tx_number = uint64_t{index} + 1;
  return v;
}

/// A restatement of base record `origin`: same key fields, more units and more revenue.
row_values restated_values(const row_context& ctx, uint32_t index, uint32_t origin) {
  row_values v = base_values(ctx, origin);
  prng r(hash3(ctx.seed, restated_rows, index));
  const auto& cur = currencies[territories[v.territory].currency];
  const int64_t added = static_cast<int64_t>(1 + r.below(500));
  v.units += added;
  int64_t delta = added * cur.rate_lo;
  if (cur.whole) delta = std::max<int64_t>(1, (delta + 500'000) / 1'000'000) * 1'000'000;
  v.revenue_micros += delta;
  return v;
}

row_values malformed_values(const row_context& ctx, uint32_t index) {
  prng r(hash3(ctx.seed, malformed_rows, index));
  row_values v = draw_values(ctx, r);
  v.quarantine_tx = true;
  v.tx_number = uint64_t{index} + 1;
  v.broken = static_cast<fault>(1 + index % 4);
  return v;
}

void append_row(std::string& out, const row_context& ctx, const row_values& v) {
  out += '{';
  if (v.broken != fault::missing_field) {
    out += "\"isrc\":\"";
    const std::size_t at = out.size();
    append_isrc(out, ctx, v.track);
    if (v.broken == fault::bad_isrc) out.replace(at, 2, "00");  // digits where the prefix letters go
    out += "\",";
  }
  out += "\"upc\":\"";
  append_upc(out, ctx, v.track);
  out += "\",\"territory\":\"";
  out += territories[v.territory].code;
  out += '"';
  out += ctx.period_member;
  out += ctx.units_key;
  append_int(out, v.units);
  out += ",\"revenue\":";
  if (v.broken == fault::broken_number)
    out += "\"12,5x\"";
  else
    append_micros(out, v.revenue_micros);
  out += ",\"currency\":\"";
  if (v.broken == fault::bad_currency)
    out += v.tx_number % 2 == 0 ? "US$" : "EURO";
  else
    out += currencies[territories[v.territory].currency].code;
  out += v.quarantine_tx ? "\",\"transaction_id\":\"tx-q" : "\",\"transaction_id\":\"tx-";
  append_int(out, static_cast<int64_t>(v.tx_number));
  out += '"';
  append_title_and_artists(out, ctx, v.track);
  if (v.updated_at >= 0) {
    out += ",\"updated_at\":\"";
    out += format_rfc3339(v.updated_at);
    out += '"';
  }
  out += '}';
}

// --- Layout ----------------------------------------------------------------------------------

/// The served stream: base rows in order with the extra rows interleaved.
struct layout {
  std::vector<row_ref> rows;
  /// Base record each restatement restates.
  std::vector<uint32_t> restated_origin;
  std::size_t malformed = 0;
};

std::size_t extra_rows(std::size_t n, double rate) {
  if (!(rate > 0)) return 0;
  return static_cast<std::size_t>(static_cast<double>(n) * rate + 0.5);
}

/// Places the extra rows. An extra row goes before a base row `slot`, never after the last base row
/// (so the stream always ends with a well-formed row). A repeat of base record o is placed at least
/// one page of base rows after it, so it lands on a later page; restated and duplicated records are
/// disjoint, so a duplicate is always identical to the latest version of its record.
layout build_layout(const recording_options& opts, std::size_t page_size) {
  const std::size_t n = opts.records;
  prng r(hash3(opts.seed, layout_stream, 0));
  const std::size_t gap = n > page_size ? page_size : 1;
  const std::size_t eligible = n > page_size ? n - page_size : (n >= 2 ? n - 1 : 0);
  const std::size_t restated = std::min(extra_rows(n, opts.restatement_rate), eligible);
  const std::size_t duplicated = std::min(extra_rows(n, opts.duplicate_rate), eligible - restated);
  const std::size_t malformed = n == 0 ? 0 : extra_rows(n, opts.malformed_rate);

  // Distinct originals: a partial Fisher-Yates shuffle of the eligible base records.
  std::vector<uint32_t> pool;
  if (restated + duplicated > 0) {
    pool.resize(eligible);
    std::iota(pool.begin(), pool.end(), 0U);
    for (std::size_t k = 0; k < restated + duplicated; ++k)
      std::swap(pool[k], pool[k + r.below(eligible - k)]);
  }

  struct extra {
    uint64_t slot;
    uint64_t tie;
    row_ref ref;
  };
  std::vector<extra> extras;
  extras.reserve(restated + duplicated + malformed);
  layout out;
  auto after = [&](uint32_t origin) { return origin + gap + r.below(n - (origin + gap)); };
  for (std::size_t j = 0; j < restated; ++j) {
    out.restated_origin.push_back(pool[j]);
    extras.push_back({after(pool[j]), r.next(), {static_cast<uint32_t>(j), row_kind::restated}});
  }
  for (std::size_t j = 0; j < duplicated; ++j) {
    const uint32_t origin = pool[restated + j];
    extras.push_back({after(origin), r.next(), {origin, row_kind::duplicate}});
  }
  for (std::size_t j = 0; j < malformed; ++j)
    extras.push_back({r.below(n), r.next(), {static_cast<uint32_t>(j), row_kind::malformed}});
  std::sort(extras.begin(), extras.end(), [](const extra& a, const extra& b) {
    if (a.slot != b.slot) return a.slot < b.slot;
    if (a.tie != b.tie) return a.tie < b.tie;
    if (a.ref.kind != b.ref.kind) return a.ref.kind < b.ref.kind;
    return a.ref.index < b.ref.index;
  });

  out.malformed = malformed;
  out.rows.reserve(n + extras.size());
  auto next_extra = extras.begin();
  for (std::size_t i = 0; i < n; ++i) {
    for (; next_extra != extras.end() && next_extra->slot == i; ++next_extra)
      out.rows.push_back(next_extra->ref);
    out.rows.push_back({static_cast<uint32_t>(i), row_kind::base});
  }
  return out;
}

// --- updated_since windows -------------------------------------------------------------------

/// Timestamps of the `updated_since` style, assigned as rows are first served. Rows sorted by
/// updated_at share seconds often (so every full page ends in a group that the next window serves
/// again) but a group never fills a page, a malformed row never closes a full page (so it is never
/// re-served) and the last row of a full page is later than the window start (so windows advance).
class window_clock {
 public:
  window_clock(const recording_options& opts, const layout& lay, std::size_t page_size, int64_t start)
      : r_(hash3(opts.seed, window_stream, 0)),
        base_(opts.records, 0),
        restated_(lay.restated_origin.size(), 0),
        malformed_(lay.malformed, 0),
        last_(start),
        group_cap_(std::max<std::size_t>(1, page_size / 4)) {}

  int64_t& at(row_ref x) {
    switch (x.kind) {
      case row_kind::base:
      case row_kind::duplicate:
        return base_[x.index];
      case row_kind::restated:
        return restated_[x.index];
      case row_kind::malformed:
        break;
    }
    return malformed_[x.index];
  }

  /// Prepares rows [pos, end) of a window starting at `since`; rows before `served` already have
  /// their timestamps.
  void prepare(std::vector<row_ref>& rows, std::size_t pos, std::size_t end, std::size_t served, bool full,
               int64_t since) {
    auto closes = [](row_ref x) { return x.kind == row_kind::base || x.kind == row_kind::restated; };
    const std::size_t first_new = std::max(pos, served);
    std::size_t closer = end;
    if (full) {
      if (first_new >= end)
        throw std::logic_error("recording: an updated_since window has no new row to advance");
      // The last well-formed new row of the page closes the window.
      for (std::size_t q = end; q-- > first_new;) {
        if (closes(rows[q])) {
          closer = q;
          break;
        }
      }
      if (closer == end) {
        // None on the page: bring the next one forward; the rest keep their order (a duplicate
        // never precedes its original, which is a closer before it).
        std::size_t q = end;
        while (q < rows.size() && !closes(rows[q])) ++q;
        if (q == rows.size())
          throw std::logic_error(
              "recording: too many extra rows for this page size; a window cannot advance");
        std::rotate(rows.begin() + static_cast<std::ptrdiff_t>(end - 1),
                    rows.begin() + static_cast<std::ptrdiff_t>(q),
                    rows.begin() + static_cast<std::ptrdiff_t>(q + 1));
        closer = end - 1;
      }
      // Malformed rows after the closer move just before it, so that none is served twice.
      const auto first = rows.begin() + static_cast<std::ptrdiff_t>(closer);
      const auto moved = std::stable_partition(first, rows.begin() + static_cast<std::ptrdiff_t>(end),
                                               [](row_ref x) { return x.kind == row_kind::malformed; });
      closer += static_cast<std::size_t>(moved - first);
    }
    for (std::size_t q = first_new; q < end; ++q) {
      const row_ref x = rows[q];
      if (x.kind == row_kind::duplicate) continue;  // keeps its original's bytes
      const bool must_advance = after_malformed_ || group_ >= group_cap_ || (q == closer && last_ <= since);
      const int64_t step = must_advance || !r_.chance(0.35) ? 1 + static_cast<int64_t>(r_.below(4)) : 0;
      last_ += step;
      group_ = step == 0 ? group_ + 1 : 1;
      after_malformed_ = x.kind == row_kind::malformed;
      at(x) = last_;
    }
  }

 private:
  prng r_;
  std::vector<int64_t> base_;
  std::vector<int64_t> restated_;
  std::vector<int64_t> malformed_;
  int64_t last_;
  std::size_t group_ = 0;
  std::size_t group_cap_;
  bool after_malformed_ = false;
};

/// Start of the month after `period` (`YYYY-MM`), when its data starts arriving; 2026-11-01 when
/// the period has another form.
int64_t updates_start(const std::string& period) {
  int64_t year = 2026;
  unsigned month = 10;
  if (period.size() >= 7 && period[4] == '-') {
    int64_t y = 0;
    unsigned m = 0;
    auto ry = std::from_chars(period.data(), period.data() + 4, y);
    auto rm = std::from_chars(period.data() + 5, period.data() + 7, m);
    if (ry.ec == std::errc() && rm.ec == std::errc() && m >= 1 && m <= 12) {
      year = y;
      month = m;
    }
  }
  if (++month == 13) {
    month = 1;
    ++year;
  }
  return days_from_civil(year, month, 1) * 86'400 + 6 * 3'600;
}

// --- Pages -----------------------------------------------------------------------------------

/// An opaque cursor token: base64 of ten bytes, starting with `+/` and ending with `==`, so that
/// every recording exercises the percent-encoding of the cursor parameter.
std::string cursor_token(uint64_t seed, std::size_t page) {
  static constexpr char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const uint64_t h = hash3(seed, har_stream, page);
  std::array<uint8_t, 10> bytes{};
  bytes[0] = 0xFB;
  bytes[1] = static_cast<uint8_t>(0xF0 | (h & 0x0F));
  for (int i = 0; i < 4; ++i) bytes[2 + i] = static_cast<uint8_t>(page >> (24 - 8 * i));  // unique per page
  for (int i = 0; i < 4; ++i) bytes[6 + i] = static_cast<uint8_t>(h >> (8 + 8 * i));
  std::string out;
  for (std::size_t i = 0; i + 3 <= bytes.size(); i += 3) {
    const uint32_t w = uint32_t{bytes[i]} << 16 | uint32_t{bytes[i + 1]} << 8 | bytes[i + 2];
    for (int s = 18; s >= 0; s -= 6) out += b64[(w >> s) & 0x3F];
  }
  const uint32_t w = uint32_t{bytes[9]} << 16;
  out += b64[(w >> 18) & 0x3F];
  out += b64[(w >> 12) & 0x3F];
  out += "==";
  return out;
}

/// `2026-11-03T04:05:06.789Z` for a time in milliseconds.
std::string har_time(int64_t ms) {
  std::string text = format_rfc3339(ms / 1000);
  std::string frac = ".";
  append_padded(frac, static_cast<uint64_t>(ms % 1000), 3);
  text.insert(text.size() - 1, frac);
  return text;
}

endpoint_config make_endpoint(const recording_options& opts) {
  endpoint_config ep;
  ep.name = opts.endpoint_name;
  ep.dsp = opts.dsp;
  ep.base_url = opts.origin;
  ep.path = opts.path;
  auto& p = ep.pagination;
  p.style = opts.style;
  p.page_size = opts.page_size;
  p.records_pointer = "/data";
  switch (opts.style) {
    case pagination_style::offset:
      p.total_pointer = "/total";
      break;
    case pagination_style::cursor:
      p.next_pointer = "/next_cursor";
      break;
    case pagination_style::next_url:
      p.next_pointer = "/next";
      break;
    case pagination_style::updated_since:
      p.next_pointer = "/high_water_mark";
      break;
  }
  ep.fields = default_field_aliases();
  auto& units = ep.fields["units"];
  if (std::find(units.begin(), units.end(), opts.units_field) == units.end())
    units.push_back(opts.units_field);
  ep.key_fields = default_key_fields();
  return ep;
}

/// Indented JSON; arrays of scalars stay on one line.
void append_pretty(std::string& out, const boost::json::value& v, int indent) {
  const std::string pad(static_cast<std::size_t>(indent) + 2, ' ');
  if (v.is_object() && !v.get_object().empty()) {
    out += "{\n";
    bool first = true;
    for (const auto& member : v.get_object()) {
      if (!first) out += ",\n";
      first = false;
      out += pad;
      out += boost::json::serialize(boost::json::value(member.key()));
      out += ": ";
      append_pretty(out, member.value(), indent + 2);
    }
    out += '\n';
    out.append(static_cast<std::size_t>(indent), ' ');
    out += '}';
    return;
  }
  if (v.is_array()) {
    const auto& a = v.get_array();
    const bool flat = std::none_of(a.begin(), a.end(), [](const auto& e) { return e.is_structured(); });
    out += '[';
    for (std::size_t i = 0; i < a.size(); ++i) {
      out += i == 0 ? (flat ? "" : "\n") : (flat ? ", " : ",\n");
      if (!flat) out += pad;
      append_pretty(out, a[i], indent + 2);
    }
    if (!flat && !a.empty()) {
      out += '\n';
      out.append(static_cast<std::size_t>(indent), ' ');
    }
    out += ']';
    return;
  }
  out += boost::json::serialize(v);
}

}  // namespace

recording generate_recording(const recording_options& opts) {
  const bool windows = opts.style == pagination_style::updated_since;
  if (opts.page_size < 1 || (windows && opts.page_size < 4))
    throw std::invalid_argument("recording: page_size must be at least " + std::string(windows ? "4" : "1") +
                                " for " + to_string(opts.style) + " pagination");
  if (opts.records >= std::numeric_limits<uint32_t>::max())
    throw std::invalid_argument("recording: at most 4294967294 records");
  const auto page_size = static_cast<std::size_t>(opts.page_size);

  recording rec;
  rec.endpoint = make_endpoint(opts);
  const endpoint_config& ep = rec.endpoint;
  auto& counts = rec.expected;

  row_context ctx;
  ctx.seed = opts.seed;
  ctx.tracks = std::clamp<uint64_t>(opts.records / 8, 1, 9'999'999);
  ctx.period_member = ",\"reporting_period\":\"";
  append_escaped(ctx.period_member, opts.period);
  ctx.period_member += '"';
  ctx.units_key = ",\"";
  append_escaped(ctx.units_key, opts.units_field);
  ctx.units_key += "\":";

  layout lay = build_layout(opts, page_size);
  auto& rows = lay.rows;
  std::optional<window_clock> clock;
  if (windows) clock.emplace(opts, lay, page_size, updates_start(opts.period));

  prng har_rng(hash3(opts.seed, har_stream, ~uint64_t{0}));
  int64_t clock_ms =
      (days_from_civil(2026, 11, 3) * 86'400 + static_cast<int64_t>(har_rng.below(86'400))) * 1000;

  std::string cursor = initial_cursor(ep);
  std::size_t pos = 0;     // first row of the page being served
  std::size_t served = 0;  // rows before this were served on an earlier page
  for (std::size_t page = 0;; ++page) {
    const std::size_t end = std::min(pos + page_size, rows.size());
    const bool full = end - pos == page_size;
    int64_t since = 0;
    if (windows) {
      since = parse_rfc3339(cursor).value_or(0);
      clock->prepare(rows, pos, end, served, full, since);
    }

    std::string body;
    body.reserve((end - pos) * 330 + 128);
    body += "{\"data\":[";
    int64_t high_water = -1;
    for (std::size_t q = pos; q < end; ++q) {
      const row_ref x = rows[q];
      row_values v;
      switch (x.kind) {
        case row_kind::base:
        case row_kind::duplicate:
          v = base_values(ctx, x.index);
          break;
        case row_kind::restated:
          v = restated_values(ctx, x.index, lay.restated_origin[x.index]);
          break;
        case row_kind::malformed:
          v = malformed_values(ctx, x.index);
          break;
      }
      if (windows) {
        v.updated_at = clock->at(x);
        high_water = std::max(high_water, v.updated_at);
      }
      if (q > pos) body += ',';
      append_row(body, ctx, v);

      ++counts.records_in;
      if (q < served || x.kind == row_kind::duplicate) {
        ++counts.duplicates;  // an injected repeat or a re-served window boundary row
      } else if (x.kind == row_kind::base) {
        ++counts.unique;
      } else if (x.kind == row_kind::restated) {
        ++counts.restatements;
      } else {
        ++counts.malformed;
        switch (v.broken) {
          case fault::bad_isrc:
            ++counts.bad_isrc;
            break;
          case fault::bad_currency:
            ++counts.bad_currency;
            break;
          case fault::missing_field:
            ++counts.missing_field;
            break;
          case fault::broken_number:
            ++counts.broken_number;
            break;
          case fault::none:
            break;
        }
      }
    }
    body += ']';

    // The rest of the document says where the next page is.
    std::string tail;
    const bool last = end == rows.size();
    switch (opts.style) {
      case pagination_style::offset:
        tail = ",\"total\":" + std::to_string(rows.size());
        break;
      case pagination_style::cursor:
        tail = last ? ",\"next_cursor\":null" : ",\"next_cursor\":\"" + cursor_token(opts.seed, page) + "\"";
        break;
      case pagination_style::next_url:
        if (last) {
          tail = ",\"next\":null";
        } else {
          tail = ",\"next\":\"";
          append_escaped(tail, opts.origin + opts.path + "?limit=" + std::to_string(page_size) +
                                   "&page=" + std::to_string(page + 2));
          tail += '"';
        }
        break;
      case pagination_style::updated_since:
        tail = high_water < 0 ? ",\"high_water_mark\":null"
                              : ",\"high_water_mark\":\"" + format_rfc3339(high_water) + "\"";
        break;
    }
    body += tail;
    body += '}';

    // The step the poller will take, worked out from the same document (its records array left
    // empty: the pagination pointers never look into it).
    boost::system::error_code parse_error;
    const boost::json::value skeleton = boost::json::parse("{\"data\":[]" + tail + "}", parse_error);
    if (parse_error)
      throw std::logic_error("recording: generated page is not JSON: " + parse_error.message());
    auto step = next_page(ep, cursor, skeleton, end - pos);
    if (!step)
      throw std::logic_error("recording: pagination rejected a generated page: " + step.error().message);

    har_entry entry;
    entry.method = "GET";
    entry.url = opts.origin + request_target(ep, cursor);
    entry.request_headers = {{"Accept", "application/json"}};
    entry.status = 200;
    entry.status_text = "OK";
    entry.response_headers = {{"Content-Type", "application/json"}};
    const auto time_ms = static_cast<int64_t>(15 + har_rng.below(60) + body.size() / 100'000);
    entry.started = har_time(clock_ms);
    entry.time_ms = static_cast<double>(time_ms);
    clock_ms += time_ms + 5 + static_cast<int64_t>(har_rng.below(20));
    entry.response_body = std::move(body);
    rec.har.entries.push_back(std::move(entry));
    ++counts.pages;

    served = std::max(served, end);
    if (step->done) break;
    if (end == pos) throw std::logic_error("recording: an empty page did not end the pagination");
    if (windows) {
      // The next window serves again every row of this page updated at the high-water mark.
      std::size_t next = pos;
      while (rows[next].kind == row_kind::duplicate || clock->at(rows[next]) < high_water) ++next;
      pos = next;
    } else {
      pos = end;
    }
    if (opts.style == pagination_style::offset && step->next_cursor != std::to_string(pos))
      throw std::logic_error("recording: offset cursor " + step->next_cursor + " is not row " +
                             std::to_string(pos));
    cursor = std::move(step->next_cursor);
  }
  return rec;
}

std::vector<recording_track> recording_tracks(const recording_options& opts) {
  row_context ctx;
  ctx.seed = opts.seed;
  ctx.tracks = std::clamp<uint64_t>(opts.records / 8, 1, 9'999'999);
  std::vector<recording_track> out;
  out.reserve(ctx.tracks);
  std::string title;
  std::vector<std::string_view> artists;
  for (uint64_t t = 0; t < ctx.tracks; ++t) {
    recording_track track;
    append_isrc(track.isrc, ctx, t);
    append_upc(track.upc, ctx, t);
    draw_title_and_artists(ctx, t, title, artists);
    track.title = title;
    track.artists.assign(artists.begin(), artists.end());
    out.push_back(std::move(track));
  }
  return out;
}

std::string endpoint_config_json(const endpoint_config& ep) {
  boost::json::object o;
  o["name"] = ep.name;
  o["dsp"] = ep.dsp;
  o["base_url"] = ep.base_url;
  o["path"] = ep.path;
  if (!ep.query.empty()) {
    boost::json::object q;
    for (const auto& [name, value] : ep.query) q[name] = value;
    o["query"] = std::move(q);
  }
  if (!ep.auth.token_env.empty()) {
    o["auth"] = boost::json::object{
        {"token_env", ep.auth.token_env}, {"header", ep.auth.header}, {"scheme", ep.auth.scheme}};
  }
  const auto& p = ep.pagination;
  boost::json::object pg;
  pg["style"] = to_string(p.style);
  pg["page_size"] = p.page_size;
  pg["limit_param"] = p.limit_param;
  switch (p.style) {
    case pagination_style::offset:
      pg["offset_param"] = p.offset_param;
      break;
    case pagination_style::cursor:
      pg["cursor_param"] = p.cursor_param;
      break;
    case pagination_style::next_url:
      break;
    case pagination_style::updated_since:
      pg["since_param"] = p.since_param;
      if (!p.initial_since.empty()) pg["initial_since"] = p.initial_since;
      break;
  }
  pg["records_pointer"] = p.records_pointer;
  if (!p.next_pointer.empty()) pg["next_pointer"] = p.next_pointer;
  if (!p.total_pointer.empty()) pg["total_pointer"] = p.total_pointer;
  o["pagination"] = std::move(pg);
  boost::json::object fields;
  for (const auto& [name, sources] : ep.fields) {
    boost::json::array a;
    for (const auto& s : sources) a.emplace_back(s);
    fields[name] = std::move(a);
  }
  o["fields"] = std::move(fields);
  boost::json::array keys;
  for (const auto& k : ep.key_fields) keys.emplace_back(k);
  o["key_fields"] = std::move(keys);
  if (ep.totals.enabled) {
    const auto& t = ep.totals;
    boost::json::object to;
    to["path"] = t.path;
    boost::json::object q;
    for (const auto& [name, value] : t.query) q[name] = value;
    to["query"] = std::move(q);
    to["rows_pointer"] = t.rows_pointer;
    to["period_field"] = t.period_field;
    to["currency_field"] = t.currency_field;
    to["revenue_field"] = t.revenue_field;
    to["units_field"] = t.units_field;
    to["records_field"] = t.records_field;
    o["totals"] = std::move(to);
  }

  std::string out;
  append_pretty(out, o, 0);
  out += '\n';
  return out;
}

}  // namespace dspsync
