#include "domain/identifiers.hpp"

#include <algorithm>
#include <array>

// The ISO tables and the lookups that use them: territories (ISO 3166-1), ISRC prefixes and currencies
// (ISO 4217). Both tables are sorted by their key and searched by bisection; static_asserts below
// keep them sorted and complete when someone edits them.

namespace dspsync {

namespace {

struct territory_row {
  std::string_view alpha3;
  std::string_view alpha2;
};

/// ISO 3166-1: all 249 officially assigned codes, sorted by alpha-3 (as of ISO 3166-1:2020 and its
/// newsletters up to 2024; the list has not changed in size since South Sudan, 2011).
constexpr std::array<territory_row, 249> territories = {{
    {"ABW", "AW"}, {"AFG", "AF"}, {"AGO", "AO"}, {"AIA", "AI"}, {"ALA", "AX"}, {"ALB", "AL"}, {"AND", "AD"},
    {"ARE", "AE"}, {"ARG", "AR"}, {"ARM", "AM"}, {"ASM", "AS"}, {"ATA", "AQ"}, {"ATF", "TF"}, {"ATG", "AG"},
    {"AUS", "AU"}, {"AUT", "AT"}, {"AZE", "AZ"}, {"BDI", "BI"}, {"BEL", "BE"}, {"BEN", "BJ"}, {"BES", "BQ"},
    {"BFA", "BF"}, {"BGD", "BD"}, {"BGR", "BG"}, {"BHR", "BH"}, {"BHS", "BS"}, {"BIH", "BA"}, {"BLM", "BL"},
    {"BLR", "BY"}, {"BLZ", "BZ"}, {"BMU", "BM"}, {"BOL", "BO"}, {"BRA", "BR"}, {"BRB", "BB"}, {"BRN", "BN"},
    {"BTN", "BT"}, {"BVT", "BV"}, {"BWA", "BW"}, {"CAF", "CF"}, {"CAN", "CA"}, {"CCK", "CC"}, {"CHE", "CH"},
    {"CHL", "CL"}, {"CHN", "CN"}, {"CIV", "CI"}, {"CMR", "CM"}, {"COD", "CD"}, {"COG", "CG"}, {"COK", "CK"},
    {"COL", "CO"}, {"COM", "KM"}, {"CPV", "CV"}, {"CRI", "CR"}, {"CUB", "CU"}, {"CUW", "CW"}, {"CXR", "CX"},
    {"CYM", "KY"}, {"CYP", "CY"}, {"CZE", "CZ"}, {"DEU", "DE"}, {"DJI", "DJ"}, {"DMA", "DM"}, {"DNK", "DK"},
    {"DOM", "DO"}, {"DZA", "DZ"}, {"ECU", "EC"}, {"EGY", "EG"}, {"ERI", "ER"}, {"ESH", "EH"}, {"ESP", "ES"},
    {"EST", "EE"}, {"ETH", "ET"}, {"FIN", "FI"}, {"FJI", "FJ"}, {"FLK", "FK"}, {"FRA", "FR"}, {"FRO", "FO"},
    {"FSM", "FM"}, {"GAB", "GA"}, {"GBR", "GB"}, {"GEO", "GE"}, {"GGY", "GG"}, {"GHA", "GH"}, {"GIB", "GI"},
    {"GIN", "GN"}, {"GLP", "GP"}, {"GMB", "GM"}, {"GNB", "GW"}, {"GNQ", "GQ"}, {"GRC", "GR"}, {"GRD", "GD"},
    {"GRL", "GL"}, {"GTM", "GT"}, {"GUF", "GF"}, {"GUM", "GU"}, {"GUY", "GY"}, {"HKG", "HK"}, {"HMD", "HM"},
    {"HND", "HN"}, {"HRV", "HR"}, {"HTI", "HT"}, {"HUN", "HU"}, {"IDN", "ID"}, {"IMN", "IM"}, {"IND", "IN"},
    {"IOT", "IO"}, {"IRL", "IE"}, {"IRN", "IR"}, {"IRQ", "IQ"}, {"ISL", "IS"}, {"ISR", "IL"}, {"ITA", "IT"},
    {"JAM", "JM"}, {"JEY", "JE"}, {"JOR", "JO"}, {"JPN", "JP"}, {"KAZ", "KZ"}, {"KEN", "KE"}, {"KGZ", "KG"},
    {"KHM", "KH"}, {"KIR", "KI"}, {"KNA", "KN"}, {"KOR", "KR"}, {"KWT", "KW"}, {"LAO", "LA"}, {"LBN", "LB"},
    {"LBR", "LR"}, {"LBY", "LY"}, {"LCA", "LC"}, {"LIE", "LI"}, {"LKA", "LK"}, {"LSO", "LS"}, {"LTU", "LT"},
    {"LUX", "LU"}, {"LVA", "LV"}, {"MAC", "MO"}, {"MAF", "MF"}, {"MAR", "MA"}, {"MCO", "MC"}, {"MDA", "MD"},
    {"MDG", "MG"}, {"MDV", "MV"}, {"MEX", "MX"}, {"MHL", "MH"}, {"MKD", "MK"}, {"MLI", "ML"}, {"MLT", "MT"},
    {"MMR", "MM"}, {"MNE", "ME"}, {"MNG", "MN"}, {"MNP", "MP"}, {"MOZ", "MZ"}, {"MRT", "MR"}, {"MSR", "MS"},
    {"MTQ", "MQ"}, {"MUS", "MU"}, {"MWI", "MW"}, {"MYS", "MY"}, {"MYT", "YT"}, {"NAM", "NA"}, {"NCL", "NC"},
    {"NER", "NE"}, {"NFK", "NF"}, {"NGA", "NG"}, {"NIC", "NI"}, {"NIU", "NU"}, {"NLD", "NL"}, {"NOR", "NO"},
    {"NPL", "NP"}, {"NRU", "NR"}, {"NZL", "NZ"}, {"OMN", "OM"}, {"PAK", "PK"}, {"PAN", "PA"}, {"PCN", "PN"},
    {"PER", "PE"}, {"PHL", "PH"}, {"PLW", "PW"}, {"PNG", "PG"}, {"POL", "PL"}, {"PRI", "PR"}, {"PRK", "KP"},
    {"PRT", "PT"}, {"PRY", "PY"}, {"PSE", "PS"}, {"PYF", "PF"}, {"QAT", "QA"}, {"REU", "RE"}, {"ROU", "RO"},
    {"RUS", "RU"}, {"RWA", "RW"}, {"SAU", "SA"}, {"SDN", "SD"}, {"SEN", "SN"}, {"SGP", "SG"}, {"SGS", "GS"},
    {"SHN", "SH"}, {"SJM", "SJ"}, {"SLB", "SB"}, {"SLE", "SL"}, {"SLV", "SV"}, {"SMR", "SM"}, {"SOM", "SO"},
    {"SPM", "PM"}, {"SRB", "RS"}, {"SSD", "SS"}, {"STP", "ST"}, {"SUR", "SR"}, {"SVK", "SK"}, {"SVN", "SI"},
    {"SWE", "SE"}, {"SWZ", "SZ"}, {"SXM", "SX"}, {"SYC", "SC"}, {"SYR", "SY"}, {"TCA", "TC"}, {"TCD", "TD"},
    {"TGO", "TG"}, {"THA", "TH"}, {"TJK", "TJ"}, {"TKL", "TK"}, {"TKM", "TM"}, {"TLS", "TL"}, {"TON", "TO"},
    {"TTO", "TT"}, {"TUN", "TN"}, {"TUR", "TR"}, {"TUV", "TV"}, {"TWN", "TW"}, {"TZA", "TZ"}, {"UGA", "UG"},
    {"UKR", "UA"}, {"UMI", "UM"}, {"URY", "UY"}, {"USA", "US"}, {"UZB", "UZ"}, {"VAT", "VA"}, {"VCT", "VC"},
    {"VEN", "VE"}, {"VGB", "VG"}, {"VIR", "VI"}, {"VNM", "VN"}, {"VUT", "VU"}, {"WLF", "WF"}, {"WSM", "WS"},
    {"YEM", "YE"}, {"ZAF", "ZA"}, {"ZMB", "ZM"}, {"ZWE", "ZW"},
}};

/// ISO 4217 list one, as published on 2026-01-01, sorted by code. Minor units "N.A." (gold, silver,
/// SDR, bond-market units, XTS, XXX...) are stored as 0: such units have no decimal subdivision by
/// definition, and 0 makes any amount with decimals stand out instead of being silently rounded.
/// Withdrawn codes (ANG, BGN, CUC, HRK, SLL, ZWL...) are absent: a report in one of them is rejected
/// and goes to quarantine, where a person decides.
constexpr std::array<currency_info, 178> currencies = {{
    {"AED", 2}, {"AFN", 2}, {"ALL", 2}, {"AMD", 2}, {"AOA", 2}, {"ARS", 2}, {"AUD", 2}, {"AWG", 2},
    {"AZN", 2}, {"BAM", 2}, {"BBD", 2}, {"BDT", 2}, {"BHD", 3}, {"BIF", 0}, {"BMD", 2}, {"BND", 2},
    {"BOB", 2}, {"BOV", 2}, {"BRL", 2}, {"BSD", 2}, {"BTN", 2}, {"BWP", 2}, {"BYN", 2}, {"BZD", 2},
    {"CAD", 2}, {"CDF", 2}, {"CHE", 2}, {"CHF", 2}, {"CHW", 2}, {"CLF", 4}, {"CLP", 0}, {"CNY", 2},
    {"COP", 2}, {"COU", 2}, {"CRC", 2}, {"CUP", 2}, {"CVE", 2}, {"CZK", 2}, {"DJF", 0}, {"DKK", 2},
    {"DOP", 2}, {"DZD", 2}, {"EGP", 2}, {"ERN", 2}, {"ETB", 2}, {"EUR", 2}, {"FJD", 2}, {"FKP", 2},
    {"GBP", 2}, {"GEL", 2}, {"GHS", 2}, {"GIP", 2}, {"GMD", 2}, {"GNF", 0}, {"GTQ", 2}, {"GYD", 2},
    {"HKD", 2}, {"HNL", 2}, {"HTG", 2}, {"HUF", 2}, {"IDR", 2}, {"ILS", 2}, {"INR", 2}, {"IQD", 3},
    {"IRR", 2}, {"ISK", 0}, {"JMD", 2}, {"JOD", 3}, {"JPY", 0}, {"KES", 2}, {"KGS", 2}, {"KHR", 2},
    {"KMF", 0}, {"KPW", 2}, {"KRW", 0}, {"KWD", 3}, {"KYD", 2}, {"KZT", 2}, {"LAK", 2}, {"LBP", 2},
    {"LKR", 2}, {"LRD", 2}, {"LSL", 2}, {"LYD", 3}, {"MAD", 2}, {"MDL", 2}, {"MGA", 2}, {"MKD", 2},
    {"MMK", 2}, {"MNT", 2}, {"MOP", 2}, {"MRU", 2}, {"MUR", 2}, {"MVR", 2}, {"MWK", 2}, {"MXN", 2},
    {"MXV", 2}, {"MYR", 2}, {"MZN", 2}, {"NAD", 2}, {"NGN", 2}, {"NIO", 2}, {"NOK", 2}, {"NPR", 2},
    {"NZD", 2}, {"OMR", 3}, {"PAB", 2}, {"PEN", 2}, {"PGK", 2}, {"PHP", 2}, {"PKR", 2}, {"PLN", 2},
    {"PYG", 0}, {"QAR", 2}, {"RON", 2}, {"RSD", 2}, {"RUB", 2}, {"RWF", 0}, {"SAR", 2}, {"SBD", 2},
    {"SCR", 2}, {"SDG", 2}, {"SEK", 2}, {"SGD", 2}, {"SHP", 2}, {"SLE", 2}, {"SOS", 2}, {"SRD", 2},
    {"SSP", 2}, {"STN", 2}, {"SVC", 2}, {"SYP", 2}, {"SZL", 2}, {"THB", 2}, {"TJS", 2}, {"TMT", 2},
    {"TND", 3}, {"TOP", 2}, {"TRY", 2}, {"TTD", 2}, {"TWD", 2}, {"TZS", 2}, {"UAH", 2}, {"UGX", 0},
    {"USD", 2}, {"USN", 2}, {"UYI", 0}, {"UYU", 2}, {"UYW", 4}, {"UZS", 2}, {"VED", 2}, {"VES", 2},
    {"VND", 0}, {"VUV", 0}, {"WST", 2}, {"XAD", 2}, {"XAF", 0}, {"XAG", 0}, {"XAU", 0}, {"XBA", 0},
    {"XBB", 0}, {"XBC", 0}, {"XBD", 0}, {"XCD", 2}, {"XCG", 2}, {"XDR", 0}, {"XOF", 0}, {"XPD", 0},
    {"XPF", 0}, {"XPT", 0}, {"XSU", 0}, {"XTS", 0}, {"XUA", 0}, {"XXX", 0}, {"YER", 2}, {"ZAR", 2},
    {"ZMW", 2}, {"ZWG", 2},
}};

template <class Array, class Key>
constexpr bool sorted_by(const Array& rows, Key key) {
  for (size_t i = 1; i < rows.size(); ++i) {
    if (!(key(rows[i - 1]) < key(rows[i]))) return false;
  }
  return true;
}

static_assert(sorted_by(territories, [](const territory_row& r) { return r.alpha3; }),
              "territories must be sorted by alpha-3 and free of duplicates");
static_assert(sorted_by(currencies, [](const currency_info& c) { return c.code; }),
              "currencies must be sorted by code and free of duplicates");

constexpr bool three_letter_codes() {
  for (const auto& c : currencies)
    if (c.code.size() != 3) return false;
  return true;
}
static_assert(three_letter_codes(), "find_currency compares three characters of every code");

/// Index of an alpha-2 code in a 26x26 bit table.
constexpr size_t alpha2_index(char a, char b) { return static_cast<size_t>((a - 'A') * 26 + (b - 'A')); }

constexpr std::array<bool, 26 * 26> make_alpha2_set() {
  std::array<bool, 26 * 26> set{};
  for (const auto& row : territories) set[alpha2_index(row.alpha2[0], row.alpha2[1])] = true;
  return set;
}

/// Membership of ISO 3166-1 alpha-2, checked per record, hence a bit table rather than a search.
constexpr std::array<bool, 26 * 26> alpha2_set = make_alpha2_set();

constexpr size_t count_alpha2() {
  size_t n = 0;
  for (bool b : alpha2_set) n += b ? 1 : 0;
  return n;
}
static_assert(count_alpha2() == territories.size(), "every alpha-2 code appears once");

/// Prefixes the ISRC agency allocated outside ISO 3166-1: QM, QT and QZ (United States overflow),
/// ZZ (International ISRC Agency), CP and DG (reserved), and UK, used for the United Kingdom before
/// GB was enforced and still found on older recordings.
constexpr std::array<std::string_view, 7> isrc_extra_prefixes = {"CP", "DG", "QM", "QT", "QZ", "UK", "ZZ"};

bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }

char to_upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = to_upper(c);
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// The raw text as it goes into an error message: quoted, control bytes escaped, cut short.
std::string quoted(std::string_view raw) {
  constexpr size_t max_shown = 64;
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (size_t i = 0; i < raw.size() && i < max_shown; ++i) {
    const auto c = static_cast<unsigned char>(raw[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (raw.size() > max_shown) out += "...";
  out += '"';
  return out;
}

bool is_alpha2(std::string_view code) {
  return code.size() == 2 && is_upper(code[0]) && is_upper(code[1]) &&
         alpha2_set[alpha2_index(code[0], code[1])];
}

/// The alpha-2 code for an upper-case alpha-3 code, or empty.
std::string_view alpha2_of(std::string_view alpha3) {
  const auto* it = std::lower_bound(territories.begin(), territories.end(), alpha3,
                                    [](const territory_row& r, std::string_view k) { return r.alpha3 < k; });
  return it != territories.end() && it->alpha3 == alpha3 ? it->alpha2 : std::string_view{};
}

}  // namespace

bool isrc_prefix_known(std::string_view isrc) {
  if (isrc.size() < 2) return false;
  const char prefix[2] = {to_upper(isrc[0]), to_upper(isrc[1])};
  const std::string_view code(prefix, 2);
  return is_alpha2(code) ||
         std::find(isrc_extra_prefixes.begin(), isrc_extra_prefixes.end(), code) != isrc_extra_prefixes.end();
}

expected<std::string> normalize_territory(std::string_view raw, const territory_options& opts,
                                          std::string_view field) {
  const std::string code = upper(trim(raw));
  // Two letters, the usual case, first and without string comparisons (every record comes here).
  if (code.size() == 2) {
    if (code[0] == 'W' && code[1] == 'W') return std::string("WW");
    if (code[0] == 'U' && code[1] == 'K') return std::string("GB");
    if (is_alpha2(code)) return code;
  } else if (code == "WORLD" || code == "WORLDWIDE") {
    return std::string("WW");
  }
  if (code.size() == 3) {
    if (auto a2 = alpha2_of(code); !a2.empty()) return std::string(a2);
  }
  const auto configured = [&](std::string_view c) {
    return std::any_of(opts.pseudo.begin(), opts.pseudo.end(),
                       [&](const std::string& p) { return upper(p) == c; });
  };
  if (!code.empty() && configured(code)) return code;
  // Kosovo has no ISO code; reports that use alpha-3 write the user-assigned XKX (or XKS).
  if ((code == "XKX" || code == "XKS") && configured("XK")) return std::string("XK");
  return failure{ec::bad_territory,
                 std::string(field) +
                     ": expected an ISO 3166-1 alpha-2 or alpha-3 code, UK, Worldwide or a "
                     "configured pseudo-territory, got " +
                     quoted(raw)};
}

const currency_info* find_currency(std::string_view code) {
  code = trim(code);
  if (code.size() != 3) return nullptr;
  const char key[3] = {to_upper(code[0]), to_upper(code[1]), to_upper(code[2])};
  // Codes are three characters: compared in place (as `std::string_view` orders them, by unsigned
  // character) rather than by a library call per step of the search; every record comes here.
  const auto compare = [&](std::string_view c) {
    for (int i = 0; i < 3; ++i) {
      const auto a = static_cast<unsigned char>(c[i]), b = static_cast<unsigned char>(key[i]);
      if (a != b) return a < b ? -1 : 1;
    }
    return 0;
  };
  const auto* it = std::lower_bound(currencies.begin(), currencies.end(), 0,
                                    [&](const currency_info& c, int) { return compare(c.code) < 0; });
  return it != currencies.end() && compare(it->code) == 0 ? &*it : nullptr;
}

expected<std::string> normalize_currency(std::string_view raw, std::string_view field) {
  if (const currency_info* info = find_currency(raw)) return std::string(info->code);
  return failure{ec::bad_currency,
                 std::string(field) + ": expected an ISO 4217 currency code, got " + quoted(raw)};
}

}  // namespace dspsync
