#include "domain/matching.hpp"

#include <algorithm>
#include <set>

namespace dspsync {

namespace {

/// Decodes one UTF-8 code point at `i` and advances; invalid bytes come back as U+FFFD.
char32_t next_code_point(std::string_view s, std::size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i++]);
  if (b0 < 0x80) return b0;
  int extra = b0 >= 0xF0 ? 3 : b0 >= 0xE0 ? 2 : b0 >= 0xC0 ? 1 : -1;
  if (extra < 0) return 0xFFFD;
  char32_t cp = b0 & (0x3F >> extra);
  for (int k = 0; k < extra; ++k) {
    if (i >= s.size() || (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) return 0xFFFD;
    cp = (cp << 6) | (static_cast<unsigned char>(s[i++]) & 0x3F);
  }
  return cp;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Base letters of U+00C0..U+00FF ('.' = not a letter: becomes a space) and of U+0100..U+017F.
constexpr std::string_view latin1 = "aaaaaa_ceeeeiiiidnooooo.ouuuuy__aaaaaa_ceeeeiiiidnooooo.ouuuuy_y";
constexpr std::string_view latin_ext_a =
    "aaaaaa"
    "cccccccc"
    "dddd"
    "eeeeeeeeee"
    "gggggggg"
    "hhhh"
    "iiiiiiiiii"
    "__"
    "jj"
    "kkk"
    "llllllllll"
    "nnnnnnnnn"
    "oooooo"
    "__"
    "rrrrrr"
    "ssssssss"
    "tttttt"
    "uuuuuuuuuuuu"
    "ww"
    "yyy"
    "zzzzzz"
    "s";
static_assert(latin1.size() == 64 && latin_ext_a.size() == 128, "one letter per code point");

/// The ASCII folding of one code point, or nothing to keep it as it is.
std::string_view fold_code_point(char32_t cp) {
  switch (cp) {
    case 0xC6:
    case 0xE6:
      return "ae";
    case 0xDE:
    case 0xFE:
      return "th";
    case 0xDF:
      return "ss";
    case 0x132:
    case 0x133:
      return "ij";
    case 0x152:
    case 0x153:
      return "oe";
    case 0x2018:
    case 0x2019:
    case 0x201B:
    case 0x2032:
      return "'";
    case 0x201C:
    case 0x201D:
    case 0x201E:
      return "\"";
    case 0x2010:
    case 0x2011:
    case 0x2012:
    case 0x2013:
    case 0x2014:
    case 0x2015:
      return "-";
    case 0xA0:
      return " ";
    default:
      break;
  }
  if (cp >= 0xC0 && cp <= 0xFF) {
    const char c = latin1[cp - 0xC0];
    return c == '.' ? std::string_view(" ") : std::string_view(&latin1[cp - 0xC0], 1);
  }
  if (cp >= 0x100 && cp <= 0x17F) return std::string_view(&latin_ext_a[cp - 0x100], 1);
  return {};
}

bool is_alnum_ascii(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

/// Step 3: tokens separated by single spaces.
std::string tokens_text(std::string_view folded) {
  std::string out;
  bool space = false;
  for (const char c : folded) {
    if (c == '\'') continue;
    if (is_alnum_ascii(c) || static_cast<unsigned char>(c) >= 0x80) {
      if (space && !out.empty()) out += ' ';
      space = false;
      out += c;
    } else if (c == '&') {
      if (!out.empty()) out += ' ';
      out += "and";
      space = true;
    } else {
      space = true;
    }
  }
  return out;
}

std::vector<std::string> split_tokens(std::string_view text) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < text.size()) {
    auto sp = text.find(' ', i);
    if (sp == std::string_view::npos) sp = text.size();
    if (sp > i) out.emplace_back(text.substr(i, sp - i));
    i = sp + 1;
  }
  return out;
}

std::string join_tokens(const std::vector<std::string>& tokens, std::size_t from, std::size_t to) {
  std::string out;
  for (std::size_t k = from; k < to; ++k) {
    if (!out.empty()) out += ' ';
    out += tokens[k];
  }
  return out;
}

bool is_feat_word(std::string_view w) { return w == "feat" || w == "ft" || w == "featuring"; }

bool mentions_remaster(std::string_view tokens) {
  for (const auto& w : split_tokens(tokens))
    if (w.rfind("remaster", 0) == 0) return true;
  return false;
}

/// When `folded` starts with a feat word: the artists it names (split at `,` `/` `&` and the word
/// "and") go to `featured`, and the answer is true.
bool featured_clause(std::string_view folded, std::vector<std::string>& featured) {
  std::string text(folded);
  for (char& c : text)
    if (c == ',' || c == '/') c = '&';
  const auto tokens = split_tokens(tokens_text(text));
  if (tokens.empty() || !is_feat_word(tokens.front())) return false;
  std::size_t start = 1;
  for (std::size_t k = 1; k <= tokens.size(); ++k) {
    if (k == tokens.size() || tokens[k] == "and") {
      if (k > start) featured.push_back(join_tokens(tokens, start, k));
      start = k + 1;
    }
  }
  return true;
}

/// Step 2 on folded text: drops remaster and featuring parts; returns the title's tokens.
std::string strip_title(const std::string& folded, std::vector<std::string>& featured) {
  // Bracketed parts.
  std::string kept;
  std::size_t i = 0;
  while (i < folded.size()) {
    const char c = folded[i];
    if (c != '(' && c != '[') {
      kept += c;
      ++i;
      continue;
    }
    int depth = 0;
    std::size_t j = i;
    for (; j < folded.size(); ++j) {
      if (folded[j] == '(' || folded[j] == '[') ++depth;
      if ((folded[j] == ')' || folded[j] == ']') && --depth == 0) break;
    }
    const std::string inner = folded.substr(i + 1, std::min(j, folded.size()) - i - 1);
    if (!featured_clause(inner, featured) && !mentions_remaster(tokens_text(inner))) {
      kept += ' ';
      kept += inner;
      kept += ' ';
    }
    i = j < folded.size() ? j + 1 : folded.size();
  }
  // " - " suffixes, the last first.
  for (auto dash = kept.rfind(" - "); dash != std::string::npos; dash = kept.rfind(" - ")) {
    const std::string suffix = kept.substr(dash + 3);
    if (!featured_clause(suffix, featured) && !mentions_remaster(tokens_text(suffix))) break;
    kept.resize(dash);
  }
  // An unbracketed feat word (not the first word) ends the title.
  const auto tokens = split_tokens(tokens_text(kept));
  for (std::size_t k = 1; k < tokens.size(); ++k) {
    if (!is_feat_word(tokens[k])) continue;
    featured_clause(join_tokens(tokens, k, tokens.size()), featured);
    return join_tokens(tokens, 0, k);
  }
  return join_tokens(tokens, 0, tokens.size());
}

std::u32string code_points(std::string_view s) {
  std::u32string out;
  std::size_t i = 0;
  while (i < s.size()) out += next_code_point(s, i);
  return out;
}

std::size_t levenshtein(const std::u32string& a, const std::u32string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

double string_similarity(std::string_view a, std::string_view b) {
  if (a == b) return 1.0;
  const auto x = code_points(a), y = code_points(b);
  const std::size_t longest = std::max(x.size(), y.size());
  if (longest == 0) return 1.0;
  return 1.0 - static_cast<double>(levenshtein(x, y)) / static_cast<double>(longest);
}

std::multiset<std::string> numbers_of(std::string_view title) {
  std::multiset<std::string> out;
  for (auto& w : split_tokens(title)) {
    if (!w.empty() && std::all_of(w.begin(), w.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      // "05" and "5" are the same number.
      auto nz = w.find_first_not_of('0');
      out.insert(nz == std::string::npos ? "0" : w.substr(nz));
    }
  }
  return out;
}

}  // namespace

std::string fold(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  std::size_t i = 0;
  while (i < utf8.size()) {
    const char32_t cp = next_code_point(utf8, i);
    if (cp < 0x80) {
      out += static_cast<char>(cp >= 'A' && cp <= 'Z' ? cp - 'A' + 'a' : cp);
      continue;
    }
    if (cp >= 0x300 && cp <= 0x36F) continue;  // combining marks: the base letter stays
    auto folded = fold_code_point(cp);
    if (!folded.empty()) {
      out += folded;
      continue;
    }
    append_utf8(out, cp);
  }
  return out;
}

normalized_track normalize_track(std::string_view title, const std::vector<std::string>& artists) {
  normalized_track out;
  std::vector<std::string> featured;
  out.title = strip_title(fold(title), featured);
  std::set<std::string> names;
  auto add = [&](std::string name) {
    if (name.rfind("the ", 0) == 0) name.erase(0, 4);
    if (!name.empty()) names.insert(std::move(name));
  };
  for (const auto& a : artists) {
    const auto tokens = split_tokens(tokens_text(fold(a)));
    std::size_t k = 1;
    while (k < tokens.size() && !is_feat_word(tokens[k])) ++k;
    add(join_tokens(tokens, 0, std::min(k, tokens.size())));
    if (k < tokens.size()) featured_clause(join_tokens(tokens, k, tokens.size()), featured);
  }
  for (auto& f : featured) add(f);
  out.artists.assign(names.begin(), names.end());
  return out;
}

double title_similarity(std::string_view a, std::string_view b) {
  if (numbers_of(a) != numbers_of(b)) return 0.0;
  return string_similarity(a, b);
}

double artist_similarity(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  if (a.empty() || b.empty()) return 0.0;
  const auto& shorter = a.size() <= b.size() ? a : b;
  const auto& longer = a.size() <= b.size() ? b : a;
  double total = 0;
  for (const auto& x : shorter) {
    double best = 0;
    for (const auto& y : longer) best = std::max(best, string_similarity(x, y));
    total += best;
  }
  return total / static_cast<double>(shorter.size());
}

double match_score(const normalized_track& a, const normalized_track& b) {
  return 0.7 * title_similarity(a.title, b.title) + 0.3 * artist_similarity(a.artists, b.artists);
}

void track_index::add(std::size_t id, normalized_track track) {
  const std::size_t at = tracks_.size();
  std::set<std::string> seen;
  for (auto& t : split_tokens(track.title))
    if (seen.insert(t).second) by_token_[t].push_back(at);
  tracks_.emplace_back(id, std::move(track));
}

std::vector<scored_candidate> track_index::best(const normalized_track& query, std::size_t n) const {
  // Candidates share a title token with the query; only the `max_scored` sharing the most tokens are
  // scored in full (a common word would otherwise make every query score a large part of the
  // catalog). Ties in shared tokens keep catalog order, so the result is deterministic.
  constexpr std::size_t max_scored = 256;
  std::unordered_map<std::size_t, std::size_t> shared;
  std::set<std::string> seen;
  for (const auto& t : split_tokens(query.title)) {
    if (!seen.insert(t).second) continue;
    auto it = by_token_.find(t);
    if (it == by_token_.end()) continue;
    for (auto at : it->second) ++shared[at];
  }
  std::vector<std::pair<std::size_t, std::size_t>> pool(shared.begin(), shared.end());  // (at, shared)
  std::sort(pool.begin(), pool.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (pool.size() > max_scored) pool.resize(max_scored);
  std::vector<scored_candidate> out;
  out.reserve(pool.size());
  for (const auto& [at, count] : pool)
    out.push_back({tracks_[at].first, match_score(query, tracks_[at].second)});
  std::sort(out.begin(), out.end(), [](const scored_candidate& a, const scored_candidate& b) {
    return a.score != b.score ? a.score > b.score : a.id < b.id;
  });
  if (out.size() > n) out.resize(n);
  return out;
}

}  // namespace dspsync
