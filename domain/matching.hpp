#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace dspsync {

// Fuzzy matching of a reported track (title and artists) against the catalog, used only when the
// ISRC is unknown. It only ever PROPOSES; the reconciler applies a proposal when the score reaches
// the configured threshold AND the best candidate leads the runner-up by the configured margin.
//
// The measure, step by step:
//
// 1. Folding (`fold`): UTF-8 is decoded; Latin letters with diacritics become their base letters
//    (é -> e, ñ -> n, ø -> o, ß -> ss, æ -> ae, ł -> l, ...; Latin-1 Supplement and Latin
//    Extended-A), combining marks (U+0300-U+036F) are dropped, ASCII is lower-cased, typographic
//    quotes and dashes become their ASCII forms. Other scripts are kept as they are.
// 2. Titles (`normalize_track`): a bracketed part `(...)` / `[...]` or a ` - ` suffix is dropped
//    when it names a remaster (a word starting with "remaster": "(Remastered 2011)",
//    "- 2011 Remaster") or a featured artist ("(feat. X)", "[ft. X]", "(featuring X)"); an
//    unbracketed "feat. X" / "ft. X" / "featuring X" ends the title. Featured artists move to the
//    artist list. Other brackets stay: "(Live)" and "(Remix)" are different recordings.
// 3. Tokens: apostrophes vanish (o'neil -> oneil), `&` becomes "and", every other character that is
//    not a letter or digit separates words; runs of spaces collapse.
// 4. Artists: each name is folded and tokenised the same way, a leading "the " is dropped
//    ("The Lanterns" = "Lanterns"), "A feat. B" becomes A and B; duplicates go, the list is sorted.
// 5. Title similarity: 1 - Levenshtein distance / length of the longer title, over code points;
//    but 0 when the titles' numbers differ ("Part 1" is not "Part 2", "Symphony No. 5" is not
//    "No. 9").
// 6. Artist similarity: for each artist of the shorter list, the best similarity (as in 5) to an
//    artist of the other list, averaged. A featured artist missing on one side costs nothing; no
//    artists on either side gives 0.
// 7. Score = 0.7 * title + 0.3 * artists, in [0, 1]. Identical normalised tracks score 1.
//
// So a different song by the same artist scores at most 0.3 + 0.7 * title similarity, and the same
// title by a different artist (a cover) at most 0.7 + 0.3 * artist similarity.

/// Folds text (step 1 above).
std::string fold(std::string_view utf8);

/// A track in normalised form.
struct normalized_track {
  /// Space-separated tokens of the title.
  std::string title;
  /// Sorted, distinct normalised artist names.
  std::vector<std::string> artists;
};

/// Normalises a title and its artists (steps 1-4).
normalized_track normalize_track(std::string_view title, const std::vector<std::string>& artists);

/// Title similarity (step 5), in [0, 1].
double title_similarity(std::string_view a, std::string_view b);

/// Artist similarity (step 6), in [0, 1].
double artist_similarity(const std::vector<std::string>& a, const std::vector<std::string>& b);

/// The score of two normalised tracks (step 7), in [0, 1].
double match_score(const normalized_track& a, const normalized_track& b);

/// When a proposal may be applied.
struct fuzzy_options {
  /// Lowest score that may allocate money.
  double threshold = 0.92;
  /// How far the best candidate must lead the runner-up.
  double margin = 0.05;
};

/// A candidate with its score.
struct scored_candidate {
  std::size_t id = 0;
  double score = 0;
};

/// An index of catalog tracks for fuzzy look-ups: candidates share at least one title token with
/// the query; the 256 sharing the most tokens are scored in full.
class track_index {
 public:
  /// Adds a track under a caller's id.
  void add(std::size_t id, normalized_track track);

  /// The best `n` candidates, best first; equal scores in id order.
  std::vector<scored_candidate> best(const normalized_track& query, std::size_t n) const;

  std::size_t size() const { return tracks_.size(); }

 private:
  std::vector<std::pair<std::size_t, normalized_track>> tracks_;
  std::unordered_map<std::string, std::vector<std::size_t>> by_token_;
};

}  // namespace dspsync
