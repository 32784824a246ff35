#include "protocol/demo_catalog.hpp"

#include <array>
#include <set>
#include <string_view>

namespace dspsync {

namespace {

constexpr int64_t pct = money::one;

constexpr uint64_t mix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

constexpr std::array<std::string_view, 3> labels{"Northern Lights Records", "Café Musique SARL",
                                                 "Tokyo Sound KK"};
constexpr std::array<std::string_view, 3> publishers{"Echo Publishing", "Nordic Songs AB", "Edition Lumière"};
constexpr std::array<std::string_view, 8> writers{"Ada Lindqvist", "Marcus Reed",   "Sofia Almeida",
                                                  "Kenji Mori",    "Claire Dubois", "Tomás Ruiz",
                                                  "Grace Okafor",  "Lena Vogel"};
constexpr std::string_view german_subpublisher = "Echo Musikverlag GmbH";
constexpr std::string_view new_label = "Harbor Lights Music Group";

/// What happens to one track; at most one fault each.
enum class fault : int {
  missing = 0,
  reissued,
  no_iswc,
  performance_de,
  master_incomplete,
  title_changed,
  upc_changed,
  unknown_work,
  reassigned,
  none,
};

std::string digits(uint64_t v, int n) {
  std::string out(static_cast<std::size_t>(n), '0');
  for (int i = n - 1; i >= 0; --i, v /= 10)
    out[static_cast<std::size_t>(i)] = static_cast<char>('0' + v % 10);
  return out;
}

/// A valid ISWC from nine digits.
std::string iswc_of(uint64_t nine) {
  const std::string d = digits(nine, 9);
  int sum = 1;
  for (int i = 1; i <= 9; ++i) sum += i * (d[static_cast<std::size_t>(i) - 1] - '0');
  const int check = (10 - sum % 10) % 10;
  return "T-" + d.substr(0, 3) + "." + d.substr(3, 3) + "." + d.substr(6, 3) + "-" + std::to_string(check);
}

/// EAN-13 of a UPC-A body (11 digits) with its check digit (weights 3,1 from the right).
std::string ean_of(const std::string& body11) {
  const std::string body = "0" + body11;
  int sum = 0;
  for (std::size_t i = 0; i < 12; ++i) sum += (body[i] - '0') * (i % 2 == 1 ? 3 : 1);
  return body + std::to_string((10 - sum % 10) % 10);
}

rights_share line(std::string_view holder, const char* role, right_type right, int64_t share,
                  std::string territory = {}) {
  return rights_share{std::string(holder), role, right, std::move(territory), share};
}

void build(const std::vector<recording_options>& recordings, bool fixed, demo_catalog& out) {
  catalog_data& data = fixed ? out.fix : out.first;
  std::set<std::string> seen;
  for (std::size_t e = 0; e < recordings.size(); ++e) {
    const auto tracks = recording_tracks(recordings[e]);
    for (std::size_t t = 0; t < tracks.size(); ++t) {
      const auto& track = tracks[t];
      if (!seen.insert(track.isrc).second) continue;
      const uint64_t h = mix(recordings[e].seed * 1'000'003 + t);
      const auto k = static_cast<int>((h >> 8) % 200);
      const auto f = k < static_cast<int>(fault::none) ? static_cast<fault>(k) : fault::none;
      if (!fixed) {
        ++out.tracks;
        switch (f) {
          case fault::missing:
            ++out.missing;
            break;
          case fault::reissued:
            ++out.reissued;
            break;
          case fault::no_iswc:
            ++out.no_iswc;
            break;
          case fault::performance_de:
            ++out.performance_de;
            break;
          case fault::master_incomplete:
            ++out.master_incomplete;
            break;
          case fault::title_changed:
            ++out.title_changed;
            break;
          case fault::upc_changed:
            ++out.upc_changed;
            break;
          case fault::unknown_work:
            ++out.unknown_work;
            break;
          case fault::reassigned:
            ++out.reassigned;
            break;
          case fault::none:
            break;
        }
      }
      if (f == fault::missing) continue;
      // Works: publisher and writer share each right half and half; one in twenty has German
      // performance lines for a sub-publisher.
      const std::string iswc = iswc_of(static_cast<uint64_t>(e) * 100'000'000 + t);
      work_entry w;
      w.iswc = iswc;
      w.title = track.title;
      const auto publisher = publishers[h % publishers.size()];
      const auto writer = writers[(h >> 4) % writers.size()];
      for (auto right : {right_type::mechanical, right_type::performance}) {
        w.shares.push_back(line(publisher, "publisher", right, 50 * pct));
        w.shares.push_back(line(writer, "writer", right, 50 * pct));
      }
      if (f == fault::performance_de && !fixed) {
        w.shares.push_back(
            line(german_subpublisher, "sub-publisher", right_type::performance, 4'750'000'000, "DE"));
        w.shares.push_back(line(writer, "writer", right_type::performance, 50 * pct, "DE"));
      } else if (f == fault::performance_de || (h >> 16) % 20 == 0) {
        w.shares.push_back(
            line(german_subpublisher, "sub-publisher", right_type::performance, 50 * pct, "DE"));
        w.shares.push_back(line(writer, "writer", right_type::performance, 50 * pct, "DE"));
      }
      data.works.push_back(std::move(w));

      recording_entry r;
      r.isrc = track.isrc;
      r.title = track.title;
      r.artists = track.artists;
      r.upc = "0" + track.upc;
      r.release_date = "20" + digits(10 + h % 16, 2) + "-" + digits(1 + (h >> 12) % 12, 2) + "-15";
      r.iswc = iswc;
      const auto label = f == fault::reassigned && fixed ? new_label : labels[(h >> 20) % labels.size()];
      r.master.push_back(
          line(label, "label", right_type::master, f == fault::master_incomplete ? 70 * pct : 80 * pct));
      r.master.push_back(line(track.artists.front(), "artist", right_type::master, 20 * pct));
      switch (f) {
        case fault::reissued:
          r.isrc = "QZDM" + digits(e, 1) + digits(t, 7);
          break;
        case fault::no_iswc:
          if (!fixed) r.iswc.clear();
          break;
        case fault::title_changed:
          r.title += " (Album Version)";
          break;
        case fault::upc_changed:
          r.upc = ean_of(digits((h >> 24) % 100'000'000'000ULL, 11));
          break;
        case fault::unknown_work:
          r.iswc = iswc_of(900'000'000 + t);
          break;
        default:
          break;
      }
      data.recordings.push_back(std::move(r));
    }
  }
}

}  // namespace

demo_catalog make_demo_catalog(const std::vector<recording_options>& recordings) {
  demo_catalog out;
  build(recordings, false, out);
  build(recordings, true, out);
  out.payee_currencies = {{"Café Musique SARL", "EUR"},
                          {"Tokyo Sound KK", "JPY"},
                          {"Nordic Songs AB", "SEK"},
                          {"Edition Lumière", "EUR"},
                          {"Echo Musikverlag GmbH", "EUR"},
                          {"Björn Ek", "SEK"},
                          {"Amélie Roux", "EUR"},
                          {"Yuna", "JPY"},
                          {"DJ Kaito", "JPY"},
                          {"Hanna Berg", "SEK"}};
  return out;
}

std::string demo_fx_table() {
  return "# Demo FX table for 2026-10: 1 FROM = RATE TO (exact decimals)\n"
         "from,to,rate\n"
         "USD,EUR,0.92\nUSD,JPY,149.85\nUSD,SEK,10.62\n"
         "EUR,USD,1.087\nEUR,JPY,162.88\nEUR,SEK,11.54\n"
         "GBP,USD,1.271\nGBP,EUR,1.169\nGBP,JPY,190.45\nGBP,SEK,13.49\n"
         "JPY,USD,0.006673\nJPY,EUR,0.006139\nJPY,SEK,0.07087\n"
         "SEK,USD,0.09416\nSEK,EUR,0.08666\nSEK,JPY,14.11\n";
}

}  // namespace dspsync
