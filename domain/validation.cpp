#include "domain/validation.hpp"

#include <charconv>

namespace dspsync {

namespace {

constexpr std::array<std::string_view, field_count> names = {
    "isrc",    "upc",      "iswc",           "territory", "reporting_period", "units",
    "revenue", "currency", "transaction_id", "title",     "artists",
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

/// Units are whole numbers; "12.0" is accepted, "12.5" is not.
expected<int64_t> parse_units(std::string_view text) {
  text = trim(text);
  auto m = money::parse(text, "units");
  if (!m) return failure{ec::bad_number, "units: expected a whole number, got \"" + std::string(text) + "\""};
  if (m->units() % money::one != 0)
    return failure{ec::bad_number, "units: expected a whole number, got \"" + std::string(text) + "\""};
  return m->units() / money::one;
}

}  // namespace

std::string_view field_name(field f) { return names[static_cast<std::size_t>(f)]; }

std::optional<field> field_from_name(std::string_view name) {
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<field>(i);
  return std::nullopt;
}

void validate(const raw_fields& in, const validation_context& ctx, validation_result& out) {
  validate(in, ctx, out, out.record);
}

void validate(const raw_fields& in, const validation_context& ctx, validation_result& out,
              royalty_record& rec) {
  out.outcome = verdict::valid;
  out.faults.clear();
  out.warnings.clear();
  rec.dsp.assign(ctx.dsp.data(), ctx.dsp.size());
  auto corrupt = [&](failure f) {
    out.outcome = verdict::corrupt;
    out.faults.push_back(std::move(f));
  };
  auto pending = [&](failure f) {
    if (out.outcome == verdict::valid) out.outcome = verdict::pending;
    out.faults.push_back(std::move(f));
  };
  auto text = [&](field f) -> std::optional<std::string_view> {
    const auto& v = in[f];
    if (!v) return std::nullopt;
    auto t = trim(*v);
    if (t.empty()) return std::nullopt;
    return t;
  };
  auto missing = [&](field f) {
    return failure{ec::missing_field, std::string(field_name(f)) + ": required field is missing or empty"};
  };

  // Key fields: without them the record cannot be identified, so it is corrupt.
  if (auto v = text(field::isrc)) {
    if (auto isrc = normalize_isrc(*v)) {
      rec.isrc = std::move(*isrc);
      if (!isrc_prefix_known(rec.isrc))
        out.warnings.push_back("isrc: prefix \"" + rec.isrc.substr(0, 2) + "\" is not a known country code");
    } else {
      corrupt(isrc.error());
    }
  } else {
    corrupt(missing(field::isrc));
  }
  if (auto v = text(field::currency)) {
    if (auto cur = normalize_currency(*v))
      rec.currency = std::move(*cur);
    else
      corrupt(cur.error());
  } else {
    corrupt(missing(field::currency));
  }
  if (auto v = text(field::reporting_period)) {
    if (auto p = normalize_period(*v))
      rec.reporting_period = std::move(*p);
    else
      corrupt(p.error());
  } else {
    corrupt(missing(field::reporting_period));
  }
  if (auto v = text(field::transaction_id))
    rec.transaction_id.assign(v->data(), v->size());
  else
    corrupt(missing(field::transaction_id));
  if (auto v = text(field::revenue)) {
    if (auto m = money::parse(*v, "revenue"))
      rec.revenue = *m;
    else
      corrupt(m.error());
  } else {
    corrupt(missing(field::revenue));
  }

  // Data faults: the record is real but needs fixing before it can be reconciled.
  rec.upc.clear();
  if (auto v = text(field::upc)) {
    if (auto g = normalize_gtin(*v)) {
      rec.upc = std::move(*g);
    } else {
      rec.upc.assign(v->data(), v->size());
      pending(g.error());
    }
  }
  rec.iswc.clear();
  if (auto v = text(field::iswc)) {
    if (auto w = normalize_iswc(*v)) {
      rec.iswc = std::move(*w);
    } else {
      rec.iswc.assign(v->data(), v->size());
      pending(w.error());
    }
  }
  rec.territory.clear();
  rec.territory_raw.clear();
  if (auto v = text(field::territory)) {
    rec.territory_raw.assign(v->data(), v->size());
    if (auto t = normalize_territory(*v, ctx.territories))
      rec.territory = std::move(*t);
    else
      pending(t.error());
  } else {
    pending(missing(field::territory));
  }
  rec.units = 0;
  if (auto v = text(field::units)) {
    if (auto u = parse_units(*v))
      rec.units = *u;
    else
      corrupt(u.error());
  } else {
    pending(missing(field::units));
  }
  if (auto v = text(field::title))
    rec.title.assign(v->data(), v->size());
  else
    rec.title.clear();
  rec.artists.clear();
  for (auto a : in.artists) {
    a = trim(a);
    if (!a.empty()) rec.artists.emplace_back(a);
  }
}

}  // namespace dspsync
