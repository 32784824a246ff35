#include "domain/reconcile.hpp"

#include <cstdio>

namespace dspsync {

namespace {

constexpr const char* reason_names[] = {
    "none",
    "unknown_isrc",
    "fuzzy_below_threshold",
    "fuzzy_ambiguous",
    "missing_iswc",
    "unknown_work",
    "master_shares_incomplete",
    "mechanical_shares_incomplete",
    "performance_shares_incomplete",
};

/// A candidate below this is no proposal at all: nothing in the catalog resembles the record.
constexpr double proposal_floor = 0.5;

std::string score_text(double score) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.3f", score);
  return buf;
}

std::string describe(const recording_entry& r) {
  std::string artists;
  for (const auto& a : r.artists) artists += (artists.empty() ? "" : ", ") + a;
  return r.isrc + " \"" + r.title + "\" by " + (artists.empty() ? "(no artists)" : artists);
}

drift_event record_drift(drift_kind kind, const royalty_record& rec, std::string subject,
                         std::string reference, std::string observed, std::string detail, uint64_t version) {
  drift_event e;
  e.kind = kind;
  e.subject = std::move(subject);
  e.reference_value = std::move(reference);
  e.observed_value = std::move(observed);
  e.detail = std::move(detail);
  e.dsp = rec.dsp;
  e.territory = rec.territory;
  e.period = rec.reporting_period;
  e.catalog_version = version;
  return e;
}

}  // namespace

const char* to_string(pending_reason reason) {
  const auto i = static_cast<std::size_t>(reason);
  return i < std::size(reason_names) ? reason_names[i] : "unknown";
}

std::optional<pending_reason> pending_reason_from_name(std::string_view name) {
  for (std::size_t i = 0; i < std::size(reason_names); ++i)
    if (name == reason_names[i]) return static_cast<pending_reason>(i);
  return std::nullopt;
}

catalog_index::catalog_index(std::vector<recording_entry> recordings, std::vector<work_entry> works,
                             uint64_t version)
    : recordings_(std::move(recordings)), works_(std::move(works)), version_(version) {
  normalized_.reserve(recordings_.size());
  for (std::size_t i = 0; i < recordings_.size(); ++i) {
    by_isrc_[recordings_[i].isrc] = i;
    normalized_.push_back(normalize_track(recordings_[i].title, recordings_[i].artists));
    fuzzy_.add(i, normalized_.back());
  }
  for (std::size_t i = 0; i < works_.size(); ++i) by_iswc_[works_[i].iswc] = i;
}

const recording_entry* catalog_index::recording(std::string_view isrc) const {
  auto it = by_isrc_.find(std::string(isrc));
  return it == by_isrc_.end() ? nullptr : &recordings_[it->second];
}

const work_entry* catalog_index::work(std::string_view iswc) const {
  auto it = by_iswc_.find(std::string(iswc));
  return it == by_iswc_.end() ? nullptr : &works_[it->second];
}

std::vector<std::pair<const recording_entry*, double>> catalog_index::candidates(
    const normalized_track& track, std::size_t n) const {
  std::string key = track.title;
  for (const auto& a : track.artists) key += '\x1f' + a;
  key += '\x1e' + std::to_string(n);
  auto it = cache_.find(key);
  if (it == cache_.end()) {
    if (cache_.size() >= 100'000) cache_.clear();  // bounded memory
    it = cache_.emplace(std::move(key), fuzzy_.best(track, n)).first;
  }
  std::vector<std::pair<const recording_entry*, double>> out;
  for (const auto& c : it->second) out.emplace_back(&recordings_[c.id], c.score);
  return out;
}

const normalized_track& catalog_index::normalized(const recording_entry& r) const {
  return normalized_[static_cast<std::size_t>(&r - recordings_.data())];
}

reconcile_decision reconcile(const royalty_record& record, const catalog_index& catalog,
                             const reconcile_options& opts) {
  reconcile_decision d;
  d.catalog_version = catalog.version();
  const std::string version_note = " (catalog version " + std::to_string(catalog.version()) + ")";
  const recording_entry* rec = catalog.recording(record.isrc);
  if (rec != nullptr) {
    d.method = "isrc";
    if (!record.title.empty()) {
      const auto reported = normalize_track(record.title, record.artists);
      if (reported.title != catalog.normalized(*rec).title)
        d.drift.push_back(record_drift(drift_kind::title_change, record, rec->isrc, rec->title, record.title,
                                       record.dsp + " reports \"" + record.title + "\" for " + rec->isrc +
                                           "; the catalog's title is \"" + rec->title + "\"",
                                       catalog.version()));
    }
  } else {
    const auto track = normalize_track(record.title, record.artists);
    const auto found = catalog.candidates(track, 2);
    if (found.empty() || found[0].second < proposal_floor) {
      d.reason = pending_reason::unknown_isrc;
      d.message = "ISRC " + record.isrc + " is not in the catalog" + version_note +
                  " and no recording there resembles \"" + record.title + "\"";
      return d;
    }
    match_proposal p;
    p.isrc = found[0].first->isrc;
    p.score = found[0].second;
    if (found.size() > 1) {
      p.runner_up_isrc = found[1].first->isrc;
      p.runner_up_score = found[1].second;
    }
    d.proposal = p;
    const auto& best = catalog.normalized(*found[0].first);
    if (best.title == track.title && best.artists == track.artists)
      d.drift.push_back(record_drift(drift_kind::isrc_reissue, record, found[0].first->isrc,
                                     found[0].first->isrc, record.isrc,
                                     record.dsp + " reports " + record.isrc + " for \"" + record.title +
                                         "\", which the catalog holds as " + found[0].first->isrc,
                                     catalog.version()));
    const std::string head = "ISRC " + record.isrc + " is not in the catalog" + version_note +
                             "; best fuzzy match " + describe(*found[0].first) + " scores " +
                             score_text(p.score);
    if (p.score < opts.fuzzy.threshold) {
      d.reason = pending_reason::fuzzy_below_threshold;
      d.message = head + ", below the threshold " + score_text(opts.fuzzy.threshold);
      return d;
    }
    if (found.size() > 1 && p.score - p.runner_up_score < opts.fuzzy.margin) {
      d.reason = pending_reason::fuzzy_ambiguous;
      d.message = head + " but " + describe(*found[1].first) + " scores " + score_text(p.runner_up_score) +
                  " (a lead of " + score_text(opts.fuzzy.margin) + " is needed)";
      return d;
    }
    rec = found[0].first;
    d.method = "fuzzy";
  }
  d.recording_isrc = rec->isrc;
  d.recording_version = rec->catalog_version;
  if (!record.upc.empty() && !rec->upc.empty() && record.upc != rec->upc)
    d.drift.push_back(record_drift(drift_kind::upc_mismatch, record, rec->isrc, rec->upc, record.upc,
                                   record.dsp + " reports UPC " + record.upc + " for " + rec->isrc +
                                       "; the catalog's UPC is " + rec->upc,
                                   catalog.version()));

  std::vector<std::pair<pending_reason, std::string>> problems;
  const std::string where = record.territory.empty() ? "" : " in " + record.territory;
  if (opts.pools.master > 0) {
    const int64_t sum = sum_shares(effective_shares(rec->master, right_type::master, record.territory));
    if (sum != share_whole)
      problems.emplace_back(
          pending_reason::master_shares_incomplete,
          "master shares of " + rec->isrc + " sum to " + format_share(sum) + where + " (expected 100%)");
  }
  if (opts.pools.mechanical > 0 || opts.pools.performance > 0) {
    if (rec->iswc.empty()) {
      problems.emplace_back(pending_reason::missing_iswc, "recording " + rec->isrc +
                                                              " has no ISWC in the catalog" + version_note +
                                                              ", so its publishing shares are unknown");
    } else if (const work_entry* w = catalog.work(rec->iswc); w == nullptr) {
      problems.emplace_back(pending_reason::unknown_work, "work " + rec->iswc + " of recording " + rec->isrc +
                                                              " is not in the rights registry" +
                                                              version_note);
    } else {
      d.iswc = w->iswc;
      d.work_version = w->catalog_version;
      for (auto right : {right_type::mechanical, right_type::performance}) {
        if (opts.pools.of(right) == 0) continue;
        const int64_t sum = sum_shares(effective_shares(w->shares, right, record.territory));
        if (sum != share_whole)
          problems.emplace_back(right == right_type::mechanical
                                    ? pending_reason::mechanical_shares_incomplete
                                    : pending_reason::performance_shares_incomplete,
                                std::string("publishing (") + to_string(right) + ") shares of " + w->iswc +
                                    " sum to " + format_share(sum) + where + " (expected 100%)");
      }
    }
  }
  if (problems.empty()) {
    d.state = record_state::reconciled;
    return d;
  }
  d.reason = problems.front().first;
  for (const auto& [reason, text] : problems) d.message += (d.message.empty() ? "" : "; ") + text;
  return d;
}

}  // namespace dspsync
