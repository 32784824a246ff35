// The webhooks' part of ledger_store (section "webhooks" of ledger_store.hpp): the holding buffer
// for updates that arrive before their base record, and the record of accepted deliveries that
// turns a replayed delivery away.
//
// `webhook_held`: key = the full 32-byte record key + 8-byte big-endian arrival number, so the
// updates of one key sit together in arrival order; value = format(1), source, held-at time, and the
// record encoded as a stored version (version 0 until it is applied). The arrival counter lives in
// `meta` under `webhook_held_seq`.
//
// `webhook_replays`: key = 8-byte big-endian signed time (Unix seconds) + 32-byte replay key, so the
// records that can no longer matter (signed before the tolerance window) sit at the front and are
// dropped from there; value = format(1), page sequence, accepted-at time.

#include <unistd.h>  // ledger_impl.hpp closes the lock file

#include <vector>

#include "storage/ledger_impl.hpp"

namespace dspsync {

using namespace ledger_detail;

namespace {

constexpr std::string_view held_seq_key = "webhook_held_seq";

/// At most this many expired replay records are dropped per commit (the rest go with the next).
constexpr std::size_t max_replays_dropped = 1024;

std::string replay_db_key(const ingest_batch& b) {
  std::string k = codec::u64_key(static_cast<uint64_t>(b.signed_at_s));
  k += b.replay_key;
  return k;
}

held_update decode_held(std::string_view k, std::string_view v) {
  held_update h;
  if (k.size() != 40) throw lmdb::error("corrupt holding buffer key", MDB_CORRUPTED);
  h.arrival = codec::reader::decode_u64be(k.substr(32));
  codec::reader r(v);
  if (r.u8() != 1) throw lmdb::error("corrupt holding buffer value", MDB_CORRUPTED);
  h.source = std::string(r.str());
  h.held_at_ms = r.svarint();
  auto inner = r.str();
  if (!r.ok()) throw lmdb::error("corrupt holding buffer value", MDB_CORRUPTED);
  h.record = record_codec::decode(0, inner);
  return h;
}

/// The stored-version bytes inside a holding buffer value (see `decode_held`).
std::string_view held_record_bytes(std::string_view v) {
  codec::reader r(v);
  r.u8();
  r.str();
  r.svarint();
  auto inner = r.str();
  if (!r.ok()) throw lmdb::error("corrupt holding buffer value", MDB_CORRUPTED);
  return inner;
}

}  // namespace

void ledger_store::impl::open_webhooks(const lmdb::txn& t, unsigned create) {
  try {
    webhook_held = lmdb::open_db(t, "webhook_held", create);
    webhook_replays = lmdb::open_db(t, "webhook_replays", create);
    webhooks_open = true;
  } catch (const lmdb::error& e) {
    // A read-only look at a ledger from before these databases: nothing is held there.
    if (create != 0 || e.code() != MDB_NOTFOUND) throw;
    webhooks_open = false;
  }
}

uint64_t ledger_store::impl::held_count(const lmdb::txn& t) const { return entries(t, webhook_held); }

void ledger_store::impl::hold_update(const lmdb::txn& t, std::string_view source, uint64_t page_seq,
                                     const keyed_record& kr, std::string_view content) {
  uint64_t arrival = 1;
  std::string_view stored;
  if (lmdb::get(t, meta, held_seq_key, stored) && stored.size() == 8)
    arrival = codec::reader::decode_u64be(stored) + 1;
  lmdb::put(t, meta, held_seq_key, codec::u64_key(arrival));
  std::string inner;
  record_codec::encode(kr, 0, 0, page_seq, content, inner);
  std::string value;
  codec::writer w(value);
  w.u8(1);
  w.str(source);
  w.svarint(now_ms());
  w.str(inner);
  std::string key(key_bytes(kr.key));
  key += codec::u64_key(arrival);
  lmdb::put(t, webhook_held, key, value);
}

std::map<std::string, ledger_store::impl::release_counts> ledger_store::impl::release_held(
    const lmdb::txn& t, const record_key& key, uint64_t& next_record) {
  std::map<std::string, release_counts> out;
  // Copied out first: what LMDB hands back points into pages that the writes below may move.
  std::vector<std::pair<std::string, std::string>> entries;
  {
    lmdb::cursor c(t, webhook_held);
    std::string_view k = key_bytes(key), v;
    for (bool more = c.seek(k, v, MDB_SET_RANGE); more && k.substr(0, 32) == key_bytes(key);
         more = c.get(k, v, MDB_NEXT))
      entries.emplace_back(std::string(k), std::string(v));
  }
  std::string scratch;
  for (const auto& [k, v] : entries) {
    const held_update h = decode_held(k, v);
    keyed_record kr;
    kr.key = h.record.key;
    kr.state = h.record.state;
    kr.position = h.record.position;
    kr.faults = h.record.faults;
    const std::string content(record_codec::content_of(held_record_bytes(v)));
    const auto done =
        put_version(t, kr, content, find_latest(t, key), h.record.page_seq, next_record, scratch);
    auto& c = out[h.source];
    ++c.records;
    if (done == put_outcome::duplicate) {
      ++c.duplicates;
    } else {
      ++c.restated;
      if (kr.state == record_state::pending_reconciliation) ++c.pending;
    }
    lmdb::del(t, webhook_held, k);
  }
  return out;
}

void ledger_store::impl::add_released(const lmdb::txn& t, const std::string& source,
                                      const release_counts& c) {
  source_checkpoint cp;
  std::string_view bytes;
  if (lmdb::get(t, cursors, source, bytes)) cp = decode_checkpoint(bytes);
  cp.records_in += c.records;
  cp.restatements += c.restated;
  cp.duplicates += c.duplicates;
  cp.pending += c.pending;
  cp.updated_at_ms = now_ms();
  lmdb::put(t, cursors, source, encode_checkpoint(cp));
}

std::optional<uint64_t> ledger_store::impl::replayed_page(const lmdb::txn& t, const ingest_batch& b) const {
  std::string_view v;
  if (!lmdb::get(t, webhook_replays, replay_db_key(b), v)) return std::nullopt;
  codec::reader r(v);
  r.u8();
  const uint64_t page = r.varint();
  if (!r.ok()) throw lmdb::error("corrupt replay record", MDB_CORRUPTED);
  return page;
}

void ledger_store::impl::remember_delivery(const lmdb::txn& t, const ingest_batch& b, uint64_t page_seq) {
  std::string value;
  codec::writer w(value);
  w.u8(1);
  w.varint(page_seq);
  w.svarint(now_ms());
  lmdb::put(t, webhook_replays, replay_db_key(b), value);
  if (b.replays_expire_before_s <= 0) return;
  std::vector<std::string> expired;
  {
    lmdb::cursor c(t, webhook_replays);
    std::string_view k, v;
    for (bool more = c.get(k, v, MDB_FIRST); more && expired.size() < max_replays_dropped;
         more = c.get(k, v, MDB_NEXT)) {
      if (k.size() < 8 || codec::reader::decode_u64be(k) >= static_cast<uint64_t>(b.replays_expire_before_s))
        break;
      expired.emplace_back(k);
    }
  }
  for (const auto& k : expired) lmdb::del(t, webhook_replays, k);
}

expected<uint64_t> ledger_store::held_updates() const {
  try {
    if (!impl_->webhooks_open) return uint64_t{0};
    auto t = lmdb::txn::begin(impl_->env, true);
    return impl_->held_count(t);
  } catch (const lmdb::error& e) {
    return failure{ec::storage_failure, std::string("counting held updates: ") + e.what()};
  }
}

status ledger_store::for_each_held(const std::function<void(const held_update&)>& fn) const {
  try {
    if (!impl_->webhooks_open) return ok;
    auto t = lmdb::txn::begin(impl_->env, true);
    lmdb::cursor c(t, impl_->webhook_held);
    std::string_view k, v;
    for (bool more = c.get(k, v, MDB_FIRST); more; more = c.get(k, v, MDB_NEXT)) fn(decode_held(k, v));
  } catch (const lmdb::error& e) {
    return failure{ec::storage_failure, std::string("reading the holding buffer: ") + e.what()};
  }
  return ok;
}

}  // namespace dspsync
