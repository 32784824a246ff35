#include "storage/catalog_store.hpp"

#include <map>
#include <set>

#include <unistd.h>  // ledger_impl.hpp closes its lock file

#include "storage/ledger_impl.hpp"
#include "storage/lifecycle_codec.hpp"

namespace dspsync {

using namespace ledger_detail;
namespace lc = lifecycle_codec;

namespace {

std::string encode_version(const catalog_version_info& v) {
  std::string out;
  codec::writer w(out);
  w.u8(1);
  w.svarint(v.loaded_at_ms);
  w.str(v.source);
  for (auto n : {v.recordings_added, v.recordings_changed, v.recordings_unchanged, v.works_added,
                 v.works_changed, v.works_unchanged})
    w.varint(n);
  return out;
}

catalog_version_info decode_version(uint64_t version, std::string_view bytes) {
  codec::reader r(bytes);
  catalog_version_info v;
  v.version = version;
  r.u8();
  v.loaded_at_ms = r.svarint();
  v.source = std::string(r.str());
  for (auto* n : {&v.recordings_added, &v.recordings_changed, &v.recordings_unchanged, &v.works_added,
                  &v.works_changed, &v.works_unchanged})
    *n = r.varint();
  if (!r.ok()) lc::corrupt("corrupt catalog version");
  return v;
}

/// The latest stored version of an entity, as raw bytes.
bool latest(const lmdb::txn& t, MDB_dbi dbi, std::string_view id, std::string_view& out) {
  lmdb::cursor c(t, dbi);
  const std::string past = lc::versioned_key(id, ~uint64_t{0});
  std::string_view k = past, v;
  bool found = c.seek(k, v, MDB_SET_RANGE) ? c.get(k, v, MDB_PREV) : c.get(k, v, MDB_LAST);
  if (!found || k.size() != id.size() + 8 || k.substr(0, id.size()) != id) return false;
  out = v;
  return true;
}

/// Every version of one entity, oldest first.
template <class Decode>
auto history(const lmdb::txn& t, MDB_dbi dbi, std::string_view id, Decode decode) {
  std::vector<decltype(decode(std::string_view{}))> out;
  lmdb::cursor c(t, dbi);
  const std::string first = lc::versioned_key(id, 0);
  std::string_view k = first, v;
  for (bool more = c.seek(k, v, MDB_SET_RANGE); more; more = c.get(k, v, MDB_NEXT)) {
    if (k.size() != id.size() + 8 || k.substr(0, id.size()) != id) break;
    out.push_back(decode(v));
  }
  return out;
}

drift_event reassignment(const std::string& subject, const std::string& before, const std::string& after,
                         uint64_t version, const char* what) {
  drift_event e;
  e.kind = drift_kind::rights_reassignment;
  e.subject = subject;
  e.reference_value = before;
  e.observed_value = after;
  e.detail = std::string(what) + " of " + subject + " changed in catalog version " + std::to_string(version);
  e.catalog_version = version;
  return e;
}

}  // namespace

expected<catalog_load_report> catalog_store::load(const catalog_data& data, std::string_view source) {
  auto& s = *ledger_.impl_;
  catalog_load_report report;
  {
    std::set<std::string> isrcs, iswcs;
    std::string twice;
    for (const auto& r : data.recordings)
      if (!isrcs.insert(r.isrc).second) twice += " recording " + r.isrc;
    for (const auto& w : data.works)
      if (!iswcs.insert(w.iswc).second) twice += " work " + w.iswc;
    if (!twice.empty())
      return failure{ec::bad_value, std::string(source) + ": listed more than once:" + twice +
                                        " (one row per recording; one set of lines per work)"};
  }
  try {
    auto t = lmdb::txn::begin(s.env, false);
    const uint64_t previous = last_seq(t, s.catalog_versions);
    const uint64_t version = previous + 1;
    auto& info = report.info;
    info.version = version;
    info.loaded_at_ms = now_ms();
    info.source = std::string(source);
    std::vector<drift_event> drift;
    for (auto r : data.recordings) {
      std::string_view bytes;
      r.catalog_version = version;
      if (!latest(t, s.catalog_recordings, r.isrc, bytes)) {
        ++info.recordings_added;
        report.changes.push_back("added recording " + r.isrc + " \"" + r.title + "\"");
      } else {
        const auto before = lc::decode_recording(bytes);
        if (before.same_content(r)) {
          ++info.recordings_unchanged;
          continue;
        }
        ++info.recordings_changed;
        for (const auto& line : describe_changes(before, r))
          report.changes.push_back("changed recording " + r.isrc + ": " + line);
        const auto a = describe_shares(before.master), b = describe_shares(r.master);
        if (a != b) drift.push_back(reassignment(r.isrc, a, b, version, "master shares"));
      }
      lmdb::put(t, s.catalog_recordings, lc::versioned_key(r.isrc, version), lc::encode(r), MDB_NOOVERWRITE);
    }
    for (auto w : data.works) {
      std::string_view bytes;
      w.catalog_version = version;
      if (!latest(t, s.catalog_works, w.iswc, bytes)) {
        ++info.works_added;
        report.changes.push_back("added work " + w.iswc + (w.title.empty() ? "" : " \"" + w.title + "\""));
      } else {
        const auto before = lc::decode_work(bytes);
        if (before.same_content(w)) {
          ++info.works_unchanged;
          continue;
        }
        ++info.works_changed;
        for (const auto& line : describe_changes(before, w))
          report.changes.push_back("changed work " + w.iswc + ": " + line);
        const auto a = describe_shares(before.shares), b = describe_shares(w.shares);
        if (a != b) drift.push_back(reassignment(w.iswc, a, b, version, "publishing shares"));
      }
      lmdb::put(t, s.catalog_works, lc::versioned_key(w.iswc, version), lc::encode(w), MDB_NOOVERWRITE);
    }
    report.changed =
        info.recordings_added + info.recordings_changed + info.works_added + info.works_changed > 0;
    if (!report.changed) {
      // Nothing new: no version is made (the transaction aborts), so a reload changes nothing.
      info.version = previous;
      return report;
    }
    lmdb::put(t, s.catalog_versions, codec::u64_key(version), encode_version(info), MDB_APPEND);
    uint64_t next_drift = last_seq(t, s.drift) + 1;
    for (auto& e : drift) {
      e.detected_at_ms = now_ms();
      const std::string identity = std::to_string(static_cast<int>(e.kind)) + '\x1f' + e.subject + '\x1f' +
                                   e.reference_value + '\x1f' + e.observed_value;
      const auto id = sha256::digest(identity);
      std::string_view existing;
      if (lmdb::get(t, s.drift_index, key_bytes(id), existing)) continue;
      const auto seq = codec::u64_key(next_drift++);
      lmdb::put(t, s.drift, seq, lc::encode(e), MDB_APPEND);
      lmdb::put(t, s.drift_index, key_bytes(id), seq);
      report.reassignments.push_back(e);
    }
    const std::string details = "source=" + info.source +
                                " recordings: added=" + std::to_string(info.recordings_added) +
                                " changed=" + std::to_string(info.recordings_changed) +
                                " unchanged=" + std::to_string(info.recordings_unchanged) +
                                "; works: added=" + std::to_string(info.works_added) +
                                " changed=" + std::to_string(info.works_changed) +
                                " unchanged=" + std::to_string(info.works_unchanged) +
                                "; reassignments=" + std::to_string(report.reassignments.size());
    s.append_audit_entry(t, "catalog.loaded", "catalog", "catalog:" + std::to_string(version), details);
    t.commit();
  } catch (const lmdb::error& e) {
    return failure{ec::storage_failure, "loading the catalog into \"" + ledger_.dir() + "\": " + e.what()};
  }
  return report;
}

expected<uint64_t> catalog_store::version() const {
  auto& s = *ledger_.impl_;
  if (!s.lifecycle_open) return uint64_t{0};
  try {
    auto t = lmdb::txn::begin(s.env, true);
    return last_seq(t, s.catalog_versions);
  } catch (const lmdb::error& e) {
    return failure{ec::storage_failure, std::string("reading the catalog version: ") + e.what()};
  }
}

expected<catalog_data> catalog_store::current() const {
  auto& s = *ledger_.impl_;
  catalog_data out;
  if (!s.lifecycle_open) return out;
  try {
    auto t = lmdb::txn::begin(s.env, true);
    // Keys sort by identifier then version: the last key of each identifier is its latest version.
    auto scan = [&](MDB_dbi dbi, auto decode, auto& into) {
      lmdb::cursor c(t, dbi);
      std::string_view k, v, held_id, held;
      for (bool more = c.get(k, v, MDB_FIRST); more; more = c.get(k, v, MDB_NEXT)) {
        const auto id = k.substr(0, k.size() - 8);
        if (!held.empty() && id != held_id) into.push_back(decode(held));
        held_id = id;
        held = v;
      }
      if (!held.empty()) into.push_back(decode(held));
    };
    scan(s.catalog_recordings, lc::decode_recording, out.recordings);
    scan(s.catalog_works, lc::decode_work, out.works);
  } catch (const lmdb::error& e) {
    return failure{ec::storage_failure, std::string("reading the catalog: ") + e.what()};
  }
  return out;
}

expected<std::vector<recording_entry>> catalog_store::recording_history(std::string_view isrc) const {
  auto& s = *ledger_.impl_;
  if (!s.lifecycle_open) return std::vector<recording_entry>{};
  try {
    auto t = lmdb::txn::begin(s.env, true);
    return history(t, s.catalog_recordings, isrc, lc::decode_recording);
  } catch (const lmdb::error& e) {
    return failure{ec::storage_failure, std::string("reading the catalog: ") + e.what()};
  }
}

expected<std::vector<work_entry>> catalog_store::work_history(std::string_view iswc) const {
  auto& s = *ledger_.impl_;
  if (!s.lifecycle_open) return std::vector<work_entry>{};
  try {
    auto t = lmdb::txn::begin(s.env, true);
    return history(t, s.catalog_works, iswc, lc::decode_work);
  } catch (const lmdb::error& e) {
    return failure{ec::storage_failure, std::string("reading the catalog: ") + e.what()};
  }
}

expected<std::vector<catalog_version_info>> catalog_store::versions() const {
  auto& s = *ledger_.impl_;
  std::vector<catalog_version_info> out;
  if (!s.lifecycle_open) return out;
  try {
    auto t = lmdb::txn::begin(s.env, true);
    lmdb::cursor c(t, s.catalog_versions);
    std::string_view k, v;
    for (bool more = c.get(k, v, MDB_FIRST); more; more = c.get(k, v, MDB_NEXT))
      out.push_back(decode_version(codec::reader::decode_u64be(k), v));
  } catch (const lmdb::error& e) {
    return failure{ec::storage_failure, std::string("reading catalog versions: ") + e.what()};
  }
  return out;
}

}  // namespace dspsync
