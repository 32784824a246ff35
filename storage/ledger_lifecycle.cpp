// The ledger's lifecycle: reconciliation decisions, drift events, settlement entries, periods and
// DSP-reported totals. See the section "lifecycle: reconciliation and settlement" of
// ledger_store.hpp. The rules (what to decide, how to split) come in as functions from domain/.

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <unordered_set>

#include <unistd.h>  // ledger_impl.hpp closes its lock file

#include "storage/ledger_impl.hpp"
#include "storage/lifecycle_codec.hpp"

namespace dspsync {

using namespace ledger_detail;
namespace lc = lifecycle_codec;

namespace {

/// Byte 1 of a record value is its state (record_codec's header).
constexpr std::size_t state_offset = 1;

record_state state_of(std::string_view value) {
  if (value.size() <= state_offset) throw lmdb::error("corrupt record value", MDB_CORRUPTED);
  return static_cast<record_state>(static_cast<uint8_t>(value[state_offset]));
}

/// Sequences of record versions that a later version replaced.
std::unordered_set<uint64_t> superseded_versions(const lmdb::txn& t, MDB_dbi records) {
  std::unordered_set<uint64_t> out;
  lmdb::cursor c(t, records);
  std::string_view k, v;
  for (bool more = c.get(k, v, MDB_FIRST); more; more = c.get(k, v, MDB_NEXT))
    if (auto prev = record_codec::prev_of(v); prev != 0) out.insert(prev);
  return out;
}

/// Rewrites only the state byte of the record value under the cursor.
void set_state(lmdb::cursor& c, std::string_view key, std::string_view value, record_state state) {
  std::string k(key), copy(value);
  copy[state_offset] = static_cast<char>(state);
  c.put(k, copy, MDB_CURRENT);
}

/// Stores a drift event unless the same event (kind, subject, both values, and for an outlier the
/// record) is stored already. True when stored.
bool store_drift(const lmdb::txn& t, MDB_dbi drift, MDB_dbi index, drift_event e, uint64_t& next_seq) {
  std::string identity = std::to_string(static_cast<int>(e.kind)) + '\x1f' + e.subject + '\x1f' +
                         e.reference_value + '\x1f' + e.observed_value;
  if (e.kind == drift_kind::revenue_outlier && e.record) (identity += '\x1f').append(key_bytes(*e.record));
  const auto id = sha256::digest(identity);
  std::string_view existing;
  if (lmdb::get(t, index, key_bytes(id), existing)) return false;
  e.detected_at_ms = now_ms();
  const auto seq = codec::u64_key(next_seq++);
  lmdb::put(t, drift, seq, lc::encode(e), MDB_APPEND);
  lmdb::put(t, index, key_bytes(id), seq);
  return true;
}

std::string money_totals(const std::map<std::string, money>& by_currency) {
  std::string out;
  for (const auto& [cur, m] : by_currency) out += (out.empty() ? "" : " ") + cur + "=" + m.to_string();
  return out.empty() ? "none" : out;
}

uint64_t meta_counter(const lmdb::txn& t, MDB_dbi meta, std::string_view name) {
  std::string_view v;
  if (!lmdb::get(t, meta, name, v) || v.size() != 8) return 0;
  return codec::reader::decode_u64be(v);
}

/// Settlement keys: the period, then a global sequence, so one period's entries sit together in
/// the order they were settled.
std::string settlement_key(std::string_view period, uint64_t seq) {
  std::string k(period);
  codec::writer(k).u64be(seq);
  return k;
}

/// The next `YYYY-MM` after `period` that is not settled.
std::optional<std::string> next_open(const std::string& period, const std::set<std::string>& closed) {
  auto m = next_month(period);
  while (m && closed.count(*m) != 0) m = next_month(*m);
  return m;
}

}  // namespace

void ledger_store::impl::open_lifecycle(const lmdb::txn& t, unsigned create) {
  try {
    catalog_recordings = lmdb::open_db(t, "catalog_recordings", create);
    catalog_works = lmdb::open_db(t, "catalog_works", create);
    catalog_versions = lmdb::open_db(t, "catalog_versions", create);
    decisions = lmdb::open_db(t, "reconciliations", create);
    drift = lmdb::open_db(t, "drift", create);
    drift_index = lmdb::open_db(t, "drift_index", create);
    settlements = lmdb::open_db(t, "settlements", create);
    settled_keys = lmdb::open_db(t, "settled_keys", create);
    periods = lmdb::open_db(t, "periods", create);
    reported_totals = lmdb::open_db(t, "reported_totals", create);
    lifecycle_open = true;
  } catch (const lmdb::error& e) {
    // A read-only look at a ledger from before these databases: it has no lifecycle data yet.
    if (create != 0 || e.code() != MDB_NOTFOUND) throw;
    lifecycle_open = false;
  }
}

expected<reconcile_summary> ledger_store::reconcile(const decide_fn& decide, uint64_t catalog_version,
                                                    std::size_t per_txn) {
  auto& s = *impl_;
  reconcile_summary total;
  total.catalog_version = catalog_version;
  if (per_txn == 0) per_txn = 1;
  try {
    std::unordered_set<uint64_t> superseded;
    {
      auto r = lmdb::txn::begin(s.env, true);
      superseded = superseded_versions(r, s.records);
    }
    uint64_t from = 1;
    for (bool done = false; !done;) {
      auto t = lmdb::txn::begin(s.env, false);
      uint64_t next_drift = last_seq(t, s.drift) + 1;
      reconcile_summary chunk;
      lmdb::cursor c(t, s.records);
      const std::string start = codec::u64_key(from);
      std::string_view k = start, v;
      done = true;
      for (bool more = c.seek(k, v, MDB_SET_RANGE); more; more = c.get(k, v, MDB_NEXT)) {
        const uint64_t seq = codec::reader::decode_u64be(k);
        if (superseded.count(seq) != 0) continue;
        const record_state state = state_of(v);
        bool revisit = false;
        if (state == record_state::pending_reconciliation) {
          std::string_view dv;
          if (!lmdb::get(t, s.decisions, codec::u64_key(seq), dv)) continue;  // a validation fault
          if (lc::decision_catalog_version(dv) >= catalog_version) continue;  // nothing new to try
          revisit = true;
        } else if (state != record_state::validated) {
          continue;
        }
        if (chunk.decided >= per_txn) {
          from = seq;
          done = false;
          break;
        }
        const stored_record rec = record_codec::decode(seq, v);
        reconcile_decision d = decide(rec);
        d.catalog_version = catalog_version;
        if (d.state != record_state::reconciled) d.state = record_state::pending_reconciliation;
        lmdb::put(t, s.decisions, codec::u64_key(seq), lc::encode(d, now_ms()));
        if (d.state != state) set_state(c, k, v, d.state);
        for (auto& e : d.drift) {
          e.record = rec.key;
          if (store_drift(t, s.drift, s.drift_index, e, next_drift)) ++chunk.drift_events;
        }
        ++chunk.decided;
        if (revisit) ++chunk.revisited;
        if (d.state == record_state::reconciled) {
          ++chunk.reconciled;
          if (revisit) ++chunk.released;
          if (d.method == "fuzzy") ++chunk.fuzzy_applied;
        } else {
          ++chunk.pending;
          ++chunk.pending_by_reason[to_string(d.reason)];
        }
      }
      if (chunk.decided == 0) break;
      const std::string details =
          "decided=" + std::to_string(chunk.decided) + " reconciled=" + std::to_string(chunk.reconciled) +
          " pending=" + std::to_string(chunk.pending) + " revisited=" + std::to_string(chunk.revisited) +
          " released=" + std::to_string(chunk.released) + " fuzzy=" + std::to_string(chunk.fuzzy_applied) +
          " drift=" + std::to_string(chunk.drift_events);
      s.append_audit_entry(t, "records.reconciled", "reconciler",
                           "catalog:" + std::to_string(catalog_version), details);
      t.commit();
      total.decided += chunk.decided;
      total.reconciled += chunk.reconciled;
      total.pending += chunk.pending;
      total.revisited += chunk.revisited;
      total.released += chunk.released;
      total.fuzzy_applied += chunk.fuzzy_applied;
      total.drift_events += chunk.drift_events;
      for (const auto& [reason, n] : chunk.pending_by_reason) total.pending_by_reason[reason] += n;
    }
  } catch (const lmdb::error& e) {
    return write_failure(e, "reconciling in \"" + dir_ + "\"");
  }
  return total;
}

expected<uint64_t> ledger_store::detect_revenue_outliers(const outlier_options& opts) {
  auto& s = *impl_;
  uint64_t stored = 0;
  try {
    struct sample {
      int64_t rate;
      uint64_t seq;
    };
    std::map<std::string, std::vector<sample>> groups;
    {
      auto r = lmdb::txn::begin(s.env, true);
      auto superseded = superseded_versions(r, s.records);
      lmdb::cursor c(r, s.records);
      std::string_view k, v;
      for (bool more = c.get(k, v, MDB_FIRST); more; more = c.get(k, v, MDB_NEXT)) {
        const uint64_t seq = codec::reader::decode_u64be(k);
        if (superseded.count(seq) != 0) continue;
        const auto rec = record_codec::decode(seq, v);
        const auto& x = rec.record;
        const int64_t magnitude = x.units < 0 ? -x.units : x.units;
        if (magnitude < opts.min_units) continue;
        auto rate = revenue_per_unit(x.revenue, x.units);
        if (!rate) continue;
        groups[x.dsp + '/' + x.territory + '/' + x.reporting_period + '/' + x.currency].push_back(
            {*rate, seq});
      }
    }
    auto t = lmdb::txn::begin(s.env, false);
    uint64_t next_drift = last_seq(t, s.drift) + 1;
    uint64_t flagged = 0;
    for (const auto& [group, samples] : groups) {
      std::vector<int64_t> rates;
      rates.reserve(samples.size());
      for (const auto& x : samples) rates.push_back(x.rate);
      const auto found = find_outliers(rates, opts);
      if (found.empty()) continue;
      const auto stats = median_mad(rates);
      for (const auto& o : found) {
        std::string_view v;
        if (!lmdb::get(t, s.records, codec::u64_key(samples[o.index].seq), v)) continue;
        const auto rec = record_codec::decode(samples[o.index].seq, v);
        drift_event e;
        e.kind = drift_kind::revenue_outlier;
        e.subject = group;
        e.reference_value = "median " + money::from_units(stats.median).to_string() + " per unit (MAD " +
                            money::from_units(stats.mad).to_string() + ", n=" + std::to_string(stats.n) + ")";
        e.observed_value = money::from_units(samples[o.index].rate).to_string() + " per unit";
        char z[32];
        std::snprintf(z, sizeof z, "%.1f", o.z);
        e.detail = rec.record.dsp + " pays " + e.observed_value + " for " + rec.record.isrc + " (" +
                   rec.record.transaction_id + "): robust z-score " + z + " against the " +
                   e.reference_value + " of " + group;
        e.dsp = rec.record.dsp;
        e.territory = rec.record.territory;
        e.period = rec.record.reporting_period;
        e.record = rec.key;
        ++flagged;
        if (store_drift(t, s.drift, s.drift_index, e, next_drift)) ++stored;
      }
    }
    if (stored == 0) return stored;
    s.append_audit_entry(t, "drift.outliers", "reconciler", "revenue_per_unit",
                         "flagged=" + std::to_string(flagged) + " new=" + std::to_string(stored));
    t.commit();
  } catch (const lmdb::error& e) {
    return failure{ec::storage_failure, "detecting revenue outliers in \"" + dir_ + "\": " + e.what()};
  }
  return stored;
}

expected<std::optional<stored_decision>> ledger_store::decision(uint64_t record_seq) const {
  if (!impl_->lifecycle_open) return std::optional<stored_decision>{};
  try {
    auto t = lmdb::txn::begin(impl_->env, true);
    std::string_view v;
    if (!lmdb::get(t, impl_->decisions, codec::u64_key(record_seq), v))
      return std::optional<stored_decision>{};
    return std::optional<stored_decision>{lc::decode_decision(record_seq, v)};
  } catch (const lmdb::error& e) {
    return failure{ec::storage_failure, std::string("reading decision: ") + e.what()};
  }
}

status ledger_store::for_each_decision(const std::function<void(const stored_decision&)>& fn) const {
  if (!impl_->lifecycle_open) return ok;
  try {
    auto t = lmdb::txn::begin(impl_->env, true);
    lmdb::cursor c(t, impl_->decisions);
    std::string_view k, v;
    for (bool more = c.get(k, v, MDB_FIRST); more; more = c.get(k, v, MDB_NEXT))
      fn(lc::decode_decision(codec::reader::decode_u64be(k), v));
  } catch (const lmdb::error& e) {
    return failure{ec::storage_failure, std::string("reading decisions: ") + e.what()};
  }
  return ok;
}

status ledger_store::for_each_drift(const std::function<void(const stored_drift&)>& fn) const {
  if (!impl_->lifecycle_open) return ok;
  try {
    auto t = lmdb::txn::begin(impl_->env, true);
    lmdb::cursor c(t, impl_->drift);
    std::string_view k, v;
    for (bool more = c.get(k, v, MDB_FIRST); more; more = c.get(k, v, MDB_NEXT))
      fn(stored_drift{codec::reader::decode_u64be(k), lc::decode_drift(v)});
  } catch (const lmdb::error& e) {
    return failure{ec::storage_failure, std::string("reading drift events: ") + e.what()};
  }
  return ok;
}

expected<settle_summary> ledger_store::settle(std::string_view period_text, const settle_fn& compute) {
  auto& s = *impl_;
  const std::string period(period_text);
  if (!is_month(period)) return failure{ec::bad_period, "period: expected YYYY-MM, got \"" + period + "\""};
  settle_summary out;
  out.period = period;
  try {
    auto t = lmdb::txn::begin(s.env, false);
    std::string_view pv;
    if (lmdb::get(t, s.periods, period, pv)) {
      out.info = lc::decode_period(period, pv);
      if (out.info.settled) {
        out.already_settled = true;
        return out;  // the transaction aborts: nothing changes, not even the audit log
      }
    }
    std::set<std::string> closed;
    {
      lmdb::cursor c(t, s.periods);
      std::string_view k, v;
      for (bool more = c.get(k, v, MDB_FIRST); more; more = c.get(k, v, MDB_NEXT))
        if (lc::decode_period(k, v).settled) closed.emplace(k);
    }
    const auto superseded = superseded_versions(t, s.records);
    period_info& info = out.info;
    info.period = period;
    uint64_t next_entry = meta_counter(t, s.meta, "settlement_seq") + 1;
    const int64_t settled_at = now_ms();

    lmdb::cursor c(t, s.records);
    std::string_view k, v;
    for (bool more = c.get(k, v, MDB_FIRST); more; more = c.get(k, v, MDB_NEXT)) {
      const uint64_t seq = codec::reader::decode_u64be(k);
      if (superseded.count(seq) != 0) continue;
      const record_state state = state_of(v);
      if (state != record_state::reconciled && state != record_state::pending_reconciliation &&
          state != record_state::validated)
        continue;
      const stored_record rec = record_codec::decode(seq, v);
      const std::string& own = rec.record.reporting_period;
      if (state != record_state::reconciled) {
        if (own == period) ++(state == record_state::validated ? info.left_unreconciled : info.left_pending);
        continue;
      }
      const bool late = own != period;
      if (late && (closed.count(own) == 0 || next_open(own, closed) != period)) continue;

      std::string_view dv;
      if (!lmdb::get(t, s.decisions, codec::u64_key(seq), dv))
        throw lmdb::error("a reconciled record has no reconciliation decision", MDB_CORRUPTED);
      const stored_decision decided = lc::decode_decision(seq, dv);
      const auto& d = decided.decision;
      std::string_view bytes;
      if (!lmdb::get(t, s.catalog_recordings, lc::versioned_key(d.recording_isrc, d.recording_version),
                     bytes))
        throw lmdb::error("a decision names a catalog recording version that is not stored", MDB_CORRUPTED);
      const recording_entry recording = lc::decode_recording(bytes);
      std::optional<work_entry> work;
      if (!d.iswc.empty()) {
        if (!lmdb::get(t, s.catalog_works, lc::versioned_key(d.iswc, d.work_version), bytes))
          throw lmdb::error("a decision names a catalog work version that is not stored", MDB_CORRUPTED);
        work = lc::decode_work(bytes);
      }

      settle_input in;
      in.record = &rec;
      in.decision = &d;
      in.recording = &recording;
      in.work = work ? &*work : nullptr;
      in.period = period;
      in.gross = rec.record.revenue;
      in.units = rec.record.units;
      in.kind = late ? entry_kind::adjustment : entry_kind::regular;
      std::string_view prior_bytes;
      if (lmdb::get(t, s.settled_keys, key_bytes(rec.key), prior_bytes)) {
        // A restatement of a settled record: settle the change, never touch what was settled.
        const auto prior = lc::decode_settled_key(prior_bytes);
        in.kind = entry_kind::adjustment;
        in.gross = money::from_units(rec.record.revenue.units() - prior.revenue.units());
        in.units = rec.record.units - prior.units;
      }
      auto lines = compute(in);
      if (!lines)
        return failure{lines.error().code, "settling " + period + ": record " + rec.record.isrc + " (" +
                                               rec.record.dsp + " " + rec.record.transaction_id +
                                               "): " + lines.error().message};
      int64_t sum = 0;
      for (const auto& l : *lines) sum += l.net.units();
      if (sum != in.gross.units())
        return failure{ec::bad_value, "settling " + period + ": the lines of record " + rec.record.isrc +
                                          " (" + rec.record.transaction_id + ") sum to " +
                                          money::from_units(sum).to_string() + ", not " +
                                          in.gross.to_string() + "; nothing was settled"};

      settled_entry e;
      e.period = period;
      e.original_period = own;
      e.kind = in.kind;
      e.key = rec.key;
      e.record_seq = seq;
      e.version = rec.version;
      e.dsp = rec.record.dsp;
      e.territory = rec.record.territory;
      e.isrc = rec.record.isrc;
      e.title = rec.record.title;
      e.currency = rec.record.currency;
      e.units = in.units;
      e.gross = in.gross;
      e.method = d.method;
      e.recording_isrc = d.recording_isrc;
      e.recording_version = d.recording_version;
      e.iswc = d.iswc;
      e.work_version = d.work_version;
      e.lines = std::move(*lines);
      e.settled_at_ms = settled_at;
      // MDB_NOOVERWRITE: a settled entry is written once and never again.
      lmdb::put(t, s.settlements, settlement_key(period, next_entry++), lc::encode(e), MDB_NOOVERWRITE);
      lc::settled_key sk;
      sk.version = rec.version;
      sk.revenue = rec.record.revenue;
      sk.units = rec.record.units;
      sk.period = period;
      lmdb::put(t, s.settled_keys, key_bytes(rec.key), lc::encode(sk));
      set_state(c, k, v, record_state::settled);

      ++(e.kind == entry_kind::adjustment ? info.adjustments : info.regular);
      info.lines += e.lines.size();
      auto& gross = info.gross_by_currency[e.currency];
      auto added = gross.checked_add(e.gross);
      if (!added) return failure{added.error().code, "settling " + period + ": " + added.error().message};
      gross = *added;
    }
    info.settled = true;
    info.settled_at_ms = settled_at;
    lmdb::put(t, s.periods, period, lc::encode(info));
    std::string counter;
    codec::writer(counter).u64be(next_entry - 1);
    lmdb::put(t, s.meta, "settlement_seq", counter);
    const std::string details =
        "regular=" + std::to_string(info.regular) + " adjustments=" + std::to_string(info.adjustments) +
        " lines=" + std::to_string(info.lines) + " left_pending=" + std::to_string(info.left_pending) +
        " left_unreconciled=" + std::to_string(info.left_unreconciled) +
        " gross=" + money_totals(info.gross_by_currency);
    s.append_audit_entry(t, "period.settled", "settlement", "period:" + period, details);
    t.commit();
  } catch (const lmdb::error& e) {
    return write_failure(e, "settling " + period + " in \"" + dir_ + "\"");
  }
  return out;
}

expected<std::optional<period_info>> ledger_store::period(std::string_view p) const {
  if (!impl_->lifecycle_open) return std::optional<period_info>{};
  try {
    auto t = lmdb::txn::begin(impl_->env, true);
    std::string_view v;
    if (!lmdb::get(t, impl_->periods, p, v)) return std::optional<period_info>{};
    return std::optional<period_info>{lc::decode_period(p, v)};
  } catch (const lmdb::error& e) {
    return failure{ec::storage_failure, std::string("reading period: ") + e.what()};
  }
}

status ledger_store::for_each_period(const std::function<void(const period_info&)>& fn) const {
  if (!impl_->lifecycle_open) return ok;
  try {
    auto t = lmdb::txn::begin(impl_->env, true);
    lmdb::cursor c(t, impl_->periods);
    std::string_view k, v;
    for (bool more = c.get(k, v, MDB_FIRST); more; more = c.get(k, v, MDB_NEXT)) fn(lc::decode_period(k, v));
  } catch (const lmdb::error& e) {
    return failure{ec::storage_failure, std::string("reading periods: ") + e.what()};
  }
  return ok;
}

status ledger_store::for_each_settlement(std::string_view p,
                                         const std::function<void(const settled_entry&)>& fn) const {
  if (!impl_->lifecycle_open) return ok;
  try {
    auto t = lmdb::txn::begin(impl_->env, true);
    lmdb::cursor c(t, impl_->settlements);
    const std::string start = settlement_key(p, 0);
    std::string_view k = start, v;
    for (bool more = c.seek(k, v, MDB_SET_RANGE); more; more = c.get(k, v, MDB_NEXT)) {
      if (k.size() != p.size() + 8 || k.substr(0, p.size()) != p) break;
      fn(lc::decode_entry(v));
    }
  } catch (const lmdb::error& e) {
    return failure{ec::storage_failure, std::string("reading settlements: ") + e.what()};
  }
  return ok;
}

status ledger_store::for_each_settlement_bytes(
    const std::function<void(std::string_view, std::string_view)>& fn) const {
  if (!impl_->lifecycle_open) return ok;
  try {
    auto t = lmdb::txn::begin(impl_->env, true);
    lmdb::cursor c(t, impl_->settlements);
    std::string_view k, v;
    for (bool more = c.get(k, v, MDB_FIRST); more; more = c.get(k, v, MDB_NEXT)) fn(k, v);
  } catch (const lmdb::error& e) {
    return failure{ec::storage_failure, std::string("reading settlements: ") + e.what()};
  }
  return ok;
}

status ledger_store::for_each_latest_record(const std::function<void(const stored_record&)>& fn) const {
  try {
    auto t = lmdb::txn::begin(impl_->env, true);
    const auto superseded = superseded_versions(t, impl_->records);
    lmdb::cursor c(t, impl_->records);
    std::string_view k, v;
    for (bool more = c.get(k, v, MDB_FIRST); more; more = c.get(k, v, MDB_NEXT)) {
      const uint64_t seq = codec::reader::decode_u64be(k);
      if (superseded.count(seq) == 0) fn(record_codec::decode(seq, v));
    }
  } catch (const lmdb::error& e) {
    return failure{ec::storage_failure, std::string("reading records: ") + e.what()};
  }
  return ok;
}

status ledger_store::put_reported_total(const reported_total& total) {
  auto& s = *impl_;
  try {
    auto t = lmdb::txn::begin(s.env, false);
    lmdb::put(t, s.reported_totals, lc::reported_key(total), lc::encode(total));
    s.append_audit_entry(
        t, "reported_total.stored", total.source, total.dsp + "/" + total.period + "/" + total.currency,
        "records=" + std::to_string(total.records) + " units=" + std::to_string(total.units) +
            " revenue=" + total.revenue.to_string() + " origin=" + total.origin);
    t.commit();
  } catch (const lmdb::error& e) {
    return failure{ec::storage_failure, std::string("storing a reported total: ") + e.what()};
  }
  return ok;
}

status ledger_store::for_each_reported_total(const std::function<void(const reported_total&)>& fn) const {
  if (!impl_->lifecycle_open) return ok;
  try {
    auto t = lmdb::txn::begin(impl_->env, true);
    lmdb::cursor c(t, impl_->reported_totals);
    std::string_view k, v;
    for (bool more = c.get(k, v, MDB_FIRST); more; more = c.get(k, v, MDB_NEXT)) fn(lc::decode_reported(v));
  } catch (const lmdb::error& e) {
    return failure{ec::storage_failure, std::string("reading reported totals: ") + e.what()};
  }
  return ok;
}

}  // namespace dspsync
