#pragma once

// Byte layouts of the lifecycle databases (catalog, decisions, drift, settlements, periods,
// reported totals). Internal to storage. Every value starts with a format byte (1).

#include <cmath>
#include <cstring>
#include <string>
#include <string_view>

#include "storage/codec.hpp"
#include "storage/lifecycle_types.hpp"
#include "storage/lmdb.hpp"

namespace dspsync::lifecycle_codec {

[[noreturn]] inline void corrupt(const char* what) { throw lmdb::error(what, MDB_CORRUPTED); }

inline void put_shares(codec::writer& w, const std::vector<rights_share>& shares) {
  w.varint(shares.size());
  for (const auto& s : shares) {
    w.str(s.holder);
    w.str(s.role);
    w.u8(static_cast<uint8_t>(s.right));
    w.str(s.territory);
    w.svarint(s.share);
  }
}

inline std::vector<rights_share> get_shares(codec::reader& r) {
  std::vector<rights_share> out;
  auto n = r.varint();
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    rights_share s;
    s.holder = std::string(r.str());
    s.role = std::string(r.str());
    s.right = static_cast<right_type>(r.u8());
    s.territory = std::string(r.str());
    s.share = r.svarint();
    out.push_back(std::move(s));
  }
  return out;
}

/// Catalog keys: the identifier, then the catalog version big-endian, so one entity's versions sit
/// together in version order.
inline std::string versioned_key(std::string_view id, uint64_t version) {
  std::string k(id);
  codec::writer(k).u64be(version);
  return k;
}

inline std::string encode(const recording_entry& e) {
  std::string out;
  codec::writer w(out);
  w.u8(1);
  w.str(e.isrc);
  w.str(e.title);
  w.varint(e.artists.size());
  for (const auto& a : e.artists) w.str(a);
  w.str(e.upc);
  w.str(e.release_date);
  w.str(e.iswc);
  put_shares(w, e.master);
  w.varint(e.catalog_version);
  return out;
}

inline recording_entry decode_recording(std::string_view bytes) {
  codec::reader r(bytes);
  recording_entry e;
  r.u8();
  e.isrc = std::string(r.str());
  e.title = std::string(r.str());
  auto n = r.varint();
  for (uint64_t i = 0; i < n && r.ok(); ++i) e.artists.emplace_back(r.str());
  e.upc = std::string(r.str());
  e.release_date = std::string(r.str());
  e.iswc = std::string(r.str());
  e.master = get_shares(r);
  e.catalog_version = r.varint();
  if (!r.ok()) corrupt("corrupt catalog recording");
  return e;
}

inline std::string encode(const work_entry& e) {
  std::string out;
  codec::writer w(out);
  w.u8(1);
  w.str(e.iswc);
  w.str(e.title);
  put_shares(w, e.shares);
  w.varint(e.catalog_version);
  return out;
}

inline work_entry decode_work(std::string_view bytes) {
  codec::reader r(bytes);
  work_entry e;
  r.u8();
  e.iswc = std::string(r.str());
  e.title = std::string(r.str());
  e.shares = get_shares(r);
  e.catalog_version = r.varint();
  if (!r.ok()) corrupt("corrupt catalog work");
  return e;
}

/// Scores are kept in millionths: exact to compare, enough to show three decimals.
inline int64_t score_units(double score) { return static_cast<int64_t>(std::llround(score * 1e6)); }

inline std::string encode(const reconcile_decision& d, int64_t decided_at_ms) {
  std::string out;
  codec::writer w(out);
  w.u8(1);
  w.u8(static_cast<uint8_t>(d.state));
  w.u8(static_cast<uint8_t>(d.reason));
  w.str(d.message);
  w.str(d.method);
  w.str(d.recording_isrc);
  w.varint(d.recording_version);
  w.str(d.iswc);
  w.varint(d.work_version);
  w.u8(d.proposal ? 1 : 0);
  if (d.proposal) {
    w.str(d.proposal->isrc);
    w.svarint(score_units(d.proposal->score));
    w.str(d.proposal->runner_up_isrc);
    w.svarint(score_units(d.proposal->runner_up_score));
  }
  w.varint(d.catalog_version);
  w.svarint(decided_at_ms);
  return out;
}

inline stored_decision decode_decision(uint64_t seq, std::string_view bytes) {
  codec::reader r(bytes);
  stored_decision s;
  s.record_seq = seq;
  auto& d = s.decision;
  r.u8();
  d.state = static_cast<record_state>(r.u8());
  d.reason = static_cast<pending_reason>(r.u8());
  d.message = std::string(r.str());
  d.method = std::string(r.str());
  d.recording_isrc = std::string(r.str());
  d.recording_version = r.varint();
  d.iswc = std::string(r.str());
  d.work_version = r.varint();
  if (r.u8() != 0) {
    match_proposal p;
    p.isrc = std::string(r.str());
    p.score = static_cast<double>(r.svarint()) / 1e6;
    p.runner_up_isrc = std::string(r.str());
    p.runner_up_score = static_cast<double>(r.svarint()) / 1e6;
    d.proposal = p;
  }
  d.catalog_version = r.varint();
  s.decided_at_ms = r.svarint();
  if (!r.ok()) corrupt("corrupt reconciliation decision");
  return s;
}

/// The catalog version a stored decision was made against, without decoding all of it.
inline uint64_t decision_catalog_version(std::string_view bytes) {
  return decode_decision(0, bytes).decision.catalog_version;
}

inline std::string encode(const drift_event& e) {
  std::string out;
  codec::writer w(out);
  w.u8(1);
  w.u8(static_cast<uint8_t>(e.kind));
  w.str(e.subject);
  w.str(e.reference_value);
  w.str(e.observed_value);
  w.str(e.detail);
  w.str(e.dsp);
  w.str(e.territory);
  w.str(e.period);
  w.u8(e.record ? 1 : 0);
  if (e.record) w.raw(std::string_view(reinterpret_cast<const char*>(e.record->data()), e.record->size()));
  w.varint(e.catalog_version);
  w.svarint(e.detected_at_ms);
  return out;
}

inline drift_event decode_drift(std::string_view bytes) {
  codec::reader r(bytes);
  drift_event e;
  r.u8();
  e.kind = static_cast<drift_kind>(r.u8());
  e.subject = std::string(r.str());
  e.reference_value = std::string(r.str());
  e.observed_value = std::string(r.str());
  e.detail = std::string(r.str());
  e.dsp = std::string(r.str());
  e.territory = std::string(r.str());
  e.period = std::string(r.str());
  if (r.u8() != 0) {
    auto k = r.raw(32);
    record_key key{};
    if (r.ok()) std::memcpy(key.data(), k.data(), 32);
    e.record = key;
  }
  e.catalog_version = r.varint();
  e.detected_at_ms = r.svarint();
  if (!r.ok()) corrupt("corrupt drift event");
  return e;
}

inline std::string encode(const settled_entry& e) {
  std::string out;
  codec::writer w(out);
  w.u8(1);
  w.str(e.period);
  w.str(e.original_period);
  w.u8(static_cast<uint8_t>(e.kind));
  w.raw(std::string_view(reinterpret_cast<const char*>(e.key.data()), e.key.size()));
  w.varint(e.record_seq);
  w.varint(e.version);
  for (const auto* s : {&e.dsp, &e.territory, &e.isrc, &e.title, &e.currency}) w.str(*s);
  w.svarint(e.units);
  w.svarint(e.gross.units());
  w.str(e.method);
  w.str(e.recording_isrc);
  w.varint(e.recording_version);
  w.str(e.iswc);
  w.varint(e.work_version);
  w.varint(e.lines.size());
  for (const auto& l : e.lines) {
    w.str(l.holder);
    w.str(l.role);
    w.u8(static_cast<uint8_t>(l.right));
    w.svarint(l.pool_share);
    w.svarint(l.holder_share);
    w.svarint(l.net.units());
    w.str(l.payee_currency);
    w.svarint(l.fx_rate);
    w.svarint(l.payee_net.units());
  }
  w.svarint(e.settled_at_ms);
  return out;
}

inline settled_entry decode_entry(std::string_view bytes) {
  codec::reader r(bytes);
  settled_entry e;
  r.u8();
  e.period = std::string(r.str());
  e.original_period = std::string(r.str());
  e.kind = static_cast<entry_kind>(r.u8());
  auto k = r.raw(32);
  if (r.ok()) std::memcpy(e.key.data(), k.data(), 32);
  e.record_seq = r.varint();
  e.version = static_cast<uint32_t>(r.varint());
  for (auto* s : {&e.dsp, &e.territory, &e.isrc, &e.title, &e.currency}) *s = std::string(r.str());
  e.units = r.svarint();
  e.gross = money::from_units(r.svarint());
  e.method = std::string(r.str());
  e.recording_isrc = std::string(r.str());
  e.recording_version = r.varint();
  e.iswc = std::string(r.str());
  e.work_version = r.varint();
  auto n = r.varint();
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    settled_line l;
    l.holder = std::string(r.str());
    l.role = std::string(r.str());
    l.right = static_cast<right_type>(r.u8());
    l.pool_share = r.svarint();
    l.holder_share = r.svarint();
    l.net = money::from_units(r.svarint());
    l.payee_currency = std::string(r.str());
    l.fx_rate = r.svarint();
    l.payee_net = money::from_units(r.svarint());
    e.lines.push_back(std::move(l));
  }
  e.settled_at_ms = r.svarint();
  if (!r.ok()) corrupt("corrupt settlement entry");
  return e;
}

inline std::string encode(const period_info& p) {
  std::string out;
  codec::writer w(out);
  w.u8(1);
  w.u8(p.settled ? 1 : 0);
  w.svarint(p.settled_at_ms);
  for (auto v : {p.regular, p.adjustments, p.lines, p.left_pending, p.left_unreconciled}) w.varint(v);
  w.varint(p.gross_by_currency.size());
  for (const auto& [cur, m] : p.gross_by_currency) {
    w.str(cur);
    w.svarint(m.units());
  }
  return out;
}

inline period_info decode_period(std::string_view period, std::string_view bytes) {
  codec::reader r(bytes);
  period_info p;
  p.period = std::string(period);
  r.u8();
  p.settled = r.u8() != 0;
  p.settled_at_ms = r.svarint();
  for (auto* v : {&p.regular, &p.adjustments, &p.lines, &p.left_pending, &p.left_unreconciled})
    *v = r.varint();
  auto n = r.varint();
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    std::string cur(r.str());
    p.gross_by_currency[cur] = money::from_units(r.svarint());
  }
  if (!r.ok()) corrupt("corrupt period");
  return p;
}

/// What has been settled on a key so far: its latest settled version and totals.
struct settled_key {
  uint32_t version = 0;
  money revenue;
  int64_t units = 0;
  std::string period;
};

inline std::string encode(const settled_key& s) {
  std::string out;
  codec::writer w(out);
  w.u8(1);
  w.varint(s.version);
  w.svarint(s.revenue.units());
  w.svarint(s.units);
  w.str(s.period);
  return out;
}

inline settled_key decode_settled_key(std::string_view bytes) {
  codec::reader r(bytes);
  settled_key s;
  r.u8();
  s.version = static_cast<uint32_t>(r.varint());
  s.revenue = money::from_units(r.svarint());
  s.units = r.svarint();
  s.period = std::string(r.str());
  if (!r.ok()) corrupt("corrupt settled key");
  return s;
}

inline std::string reported_key(const reported_total& t) {
  return t.source + '\x1f' + t.dsp + '\x1f' + t.period + '\x1f' + t.currency;
}

inline std::string encode(const reported_total& t) {
  std::string out;
  codec::writer w(out);
  w.u8(1);
  for (const auto* s : {&t.source, &t.dsp, &t.period, &t.currency}) w.str(*s);
  w.varint(t.records);
  w.svarint(t.units);
  w.svarint(t.revenue.units());
  w.str(t.origin);
  return out;
}

inline reported_total decode_reported(std::string_view bytes) {
  codec::reader r(bytes);
  reported_total t;
  r.u8();
  for (auto* s : {&t.source, &t.dsp, &t.period, &t.currency}) *s = std::string(r.str());
  t.records = r.varint();
  t.units = r.svarint();
  t.revenue = money::from_units(r.svarint());
  t.origin = std::string(r.str());
  if (!r.ok()) corrupt("corrupt reported total");
  return t;
}

}  // namespace dspsync::lifecycle_codec
