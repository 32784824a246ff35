#include "protocol/page_mapper.hpp"

#include <boost/json.hpp>

#include "protocol/pagination.hpp"

namespace dspsync {

namespace json = boost::json;

std::string hex_digest(const record_key& digest) { return to_hex(digest); }

page_mapper::page_mapper(const endpoint_config& ep, territory_options territories)
    : ep_(ep), keys_(ep.key_fields.empty() ? default_key_fields() : ep.key_fields) {
  ctx_.territories = std::move(territories);
  for (std::size_t i = 0; i < field_count; ++i) {
    auto name = std::string(field_name(static_cast<field>(i)));
    auto it = ep_.fields.find(name);
    std::vector<std::string> sources = it != ep_.fields.end() ? it->second : std::vector<std::string>{name};
    for (auto& s : sources) aliases_[i].push_back(alias{!s.empty() && s.front() == '/', std::move(s), 0});
  }
  ctx_.dsp = ep_.dsp;
}

std::pair<const json::value*, const json::array*> page_mapper::parse_page(
    ingest_batch& batch, const std::string& records_pointer) {
  batch.records.clear();
  batch.quarantined.clear();
  batch.page_errors.clear();
  batch.records_in = 0;
  body_hash_.update(batch.body);
  batch.body_sha256 = to_hex(body_hash_.finish());

  auto doc = parser_.parse(batch.body, batch.source + " " + batch.request);
  if (!doc) {
    batch.page_errors.push_back(doc.error());
    return {nullptr, nullptr};
  }
  json::error_code pec;
  const json::value* records = (**doc).find_pointer(records_pointer, pec);
  if (records == nullptr || !records->is_array()) {
    batch.page_errors.push_back(failure{
        ec::missing_records,
        batch.source + " " + batch.request + ": records array expected at \"" + records_pointer + "\", " +
            (records == nullptr ? std::string("nothing there") : std::string("found another type"))});
    return {nullptr, nullptr};
  }
  batch.records_in = records->get_array().size();
  return {*doc, &records->get_array()};
}

void page_mapper::map(ingest_batch& batch) {
  const auto [page, records] = parse_page(batch, ep_.pagination.records_pointer);
  if (records == nullptr) return;
  auto step = next_page(ep_, batch.cursor_before, *page, records->size());
  if (!step) {
    batch.page_errors.push_back(step.error());
    batch.records_in = 0;
    return;
  }
  batch.cursor_after = std::move(step->next_cursor);
  batch.caught_up = step->done;
  map_records(batch, *records, ep_.pagination.records_pointer, nullptr);
}

void page_mapper::map_payload(ingest_batch& batch, const payload_options& opts) {
  const json::array* records = parse_page(batch, opts.records_pointer).second;
  if (records == nullptr) return;
  batch.cursor_after = batch.cursor_before;
  batch.caught_up = true;
  map_records(batch, *records, opts.records_pointer, opts.update_pointer.empty() ? nullptr : &opts);
}

void page_mapper::map_records(ingest_batch& batch, const json::array& arr, const std::string& records_pointer,
                              const payload_options* updates) {
  std::vector<std::string_view> spans;  // raw bytes of each record, computed on first need
  bool spans_ready = false;
  auto raw_of = [&](std::size_t index) -> std::string {
    if (batch.record_spans.size() == arr.size()) {
      const auto& [offset, length] = batch.record_spans[index];
      if (offset + length <= batch.body.size()) return batch.body.substr(offset, length);
    }
    if (!spans_ready) {
      spans = array_element_spans(batch.body, records_pointer);
      spans_ready = true;
    }
    if (spans.size() == arr.size()) return std::string(spans[index]);
    return json::serialize(arr[index]);  // the scan failed (unusual layout): keep a faithful copy
  };
  batch.records.reserve(arr.size());
  for (std::size_t index = 0; index < arr.size(); ++index) {
    const auto& item = arr[index];
    raw_.clear();
    std::vector<failure> shape_faults;
    if (!item.is_object()) {
      shape_faults.push_back(
          failure{ec::bad_value, "record " + std::to_string(index) + ": expected an object"});
    } else {
      const auto& obj = item.get_object();
      for (std::size_t f = 0; f < field_count; ++f) {
        const json::value* v = nullptr;
        for (auto& a : aliases_[f]) {
          if (a.pointer) {
            json::error_code ec2;
            v = item.find_pointer(a.name, ec2);
          } else if (a.position_hint < obj.size() && obj.begin()[a.position_hint].key() == a.name) {
            v = &obj.begin()[a.position_hint].value();  // the same member an object search finds:
                                                        // a parsed object holds each key once
          } else if (auto it = obj.find(a.name); it != obj.end()) {
            v = &it->value();
            a.position_hint = static_cast<std::size_t>(it - obj.begin());
          }
          if (v != nullptr && !v->is_null()) break;
          v = nullptr;
        }
        if (v == nullptr) continue;
        auto fld = static_cast<field>(f);
        if (v->is_string()) {
          const auto& s = v->get_string();
          if (fld == field::artists)
            raw_.artists.emplace_back(s.data(), s.size());
          else
            raw_[fld] = std::string_view(s.data(), s.size());
        } else if (v->is_bool()) {
          raw_[fld] = v->get_bool() ? std::string_view("true") : std::string_view("false");
        } else if (v->is_array() && fld == field::artists) {
          for (const auto& a : v->get_array())
            if (a.is_string()) raw_.artists.emplace_back(a.get_string().data(), a.get_string().size());
        } else {
          shape_faults.push_back(failure{ec::bad_value, std::string(field_name(fld)) +
                                                            ": expected a string or a number, got " +
                                                            (v->is_array() ? "an array" : "an object")});
        }
      }
    }
    // Validated straight into its place in the batch (taken back when the record is corrupt).
    bool corrupt = !shape_faults.empty();
    if (!corrupt) {
      validate(raw_, ctx_, result_, batch.records.emplace_back().record);
      corrupt = result_.outcome == verdict::corrupt;
      if (corrupt) batch.records.pop_back();
    }
    if (corrupt) {
      quarantined_item q;
      q.position = index;
      q.raw = raw_of(index);
      q.errors = shape_faults.empty() ? result_.faults : std::move(shape_faults);
      q.key = keys_.quarantine_key(batch.source, q.raw);
      batch.quarantined.push_back(std::move(q));
      continue;
    }
    keyed_record& kr = batch.records.back();
    kr.position = index;
    kr.key = keys_.key(kr.record);
    if (result_.outcome == verdict::pending) {
      kr.state = record_state::pending_reconciliation;
      for (const auto& f : result_.faults) {
        if (!kr.faults.empty()) kr.faults += "; ";
        kr.faults += f.message;
      }
    }
    if (updates != nullptr) {
      // Numbers are kept as text by the parser, so `"op": 2` and `"op": "2"` read alike.
      json::error_code ec2;
      const json::value* op = item.find_pointer(updates->update_pointer, ec2);
      kr.update = op != nullptr && op->is_string() && op->get_string() == updates->update_value;
    }
  }
}

}  // namespace dspsync
