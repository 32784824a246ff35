#include "domain/idempotency.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <stdexcept>

#include "domain/validation.hpp"

namespace dspsync {

namespace {

/// SHA-256 fetched from the default provider once per process. `EVP_sha256()` is only a name in
/// OpenSSL 3: every `EVP_DigestInit_ex` with it fetches the implementation again, taking the
/// provider store's lock and allocating a new provider context (about a third of a key's cost).
const EVP_MD* sha256_md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  return md != nullptr ? md : EVP_sha256();
}

}  // namespace

struct sha256::impl {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~impl() { EVP_MD_CTX_free(ctx); }
};

sha256::sha256() : impl_(std::make_unique<impl>()) {
  if (impl_->ctx == nullptr) throw std::bad_alloc();
  reset();
}

sha256::~sha256() = default;

void sha256::reset() { EVP_DigestInit_ex2(impl_->ctx, sha256_md(), nullptr); }

void sha256::update(std::string_view bytes) { EVP_DigestUpdate(impl_->ctx, bytes.data(), bytes.size()); }

record_key sha256::finish() {
  record_key out{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, out.data(), &len);
  reset();
  return out;
}

record_key sha256::digest(std::string_view bytes) {
  sha256 h;
  h.update(bytes);
  return h.finish();
}

namespace {

/// The record fields a key can be made of (resolved from their names once, not per record).
enum class key_part : uint8_t {
  isrc,
  upc,
  iswc,
  dsp,
  territory,
  reporting_period,
  transaction_id,
  currency,
  title,
  units,
  revenue,
  artists,
  none
};

key_part part_of(std::string_view name) {
  static const std::pair<std::string_view, key_part> names[] = {
      {"isrc", key_part::isrc},
      {"upc", key_part::upc},
      {"iswc", key_part::iswc},
      {"dsp", key_part::dsp},
      {"territory", key_part::territory},
      {"reporting_period", key_part::reporting_period},
      {"transaction_id", key_part::transaction_id},
      {"currency", key_part::currency},
      {"title", key_part::title},
      {"units", key_part::units},
      {"revenue", key_part::revenue},
      {"artists", key_part::artists},
  };
  for (const auto& [n, p] : names)
    if (n == name) return p;
  return key_part::none;  // hashed as an empty value, as before validation existed
}

void append_value(const royalty_record& rec, key_part part, std::string& out) {
  switch (part) {
    case key_part::isrc:
      out += rec.isrc;
      break;
    case key_part::upc:
      out += rec.upc;
      break;
    case key_part::iswc:
      out += rec.iswc;
      break;
    case key_part::dsp:
      out += rec.dsp;
      break;
    case key_part::territory:
      out += rec.territory;
      break;
    case key_part::reporting_period:
      out += rec.reporting_period;
      break;
    case key_part::transaction_id:
      out += rec.transaction_id;
      break;
    case key_part::currency:
      out += rec.currency;
      break;
    case key_part::title:
      out += rec.title;
      break;
    case key_part::units:
      out += std::to_string(rec.units);
      break;
    case key_part::revenue:
      out += rec.revenue.to_string();
      break;
    case key_part::artists:
      for (std::size_t i = 0; i < rec.artists.size(); ++i) {
        if (i > 0) out += '|';
        out += rec.artists[i];
      }
      break;
    case key_part::none:
      break;
  }
}

}  // namespace

key_deriver::key_deriver(std::vector<std::string> fields) : fields_(std::move(fields)) {
  for (const auto& name : fields_) parts_.push_back(static_cast<uint8_t>(part_of(name)));
}

record_key key_deriver::key(const royalty_record& rec) {
  // The hashed text is `name=value\x1f` per key field, in order; built in one buffer and hashed
  // with one update (each EVP update call costs about as much as hashing a short field).
  text_.clear();
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    text_ += fields_[i];
    text_ += '=';
    append_value(rec, static_cast<key_part>(parts_[i]), text_);
    text_ += '\x1f';
  }
  hash_.update(text_);
  return hash_.finish();
}

record_key key_deriver::quarantine_key(std::string_view source, std::string_view raw) {
  hash_.update("quarantine\x1f");
  hash_.update(source);
  hash_.update("\x1f");
  hash_.update(raw);
  return hash_.finish();
}

status validate_key_fields(const std::vector<std::string>& fields) {
  if (fields.empty()) return failure{ec::bad_config, "key_fields: expected at least one field"};
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const auto& f = fields[i];
    if (f != "dsp" && !field_from_name(f))
      return failure{ec::bad_config, "key_fields[" + std::to_string(i) +
                                         "]: expected a canonical field or \"dsp\", got \"" + f + "\""};
    if (std::find(fields.begin(), fields.begin() + static_cast<std::ptrdiff_t>(i), f) !=
        fields.begin() + static_cast<std::ptrdiff_t>(i))
      return failure{ec::bad_config, "key_fields[" + std::to_string(i) + "]: \"" + f + "\" is listed twice"};
  }
  return ok;
}

}  // namespace dspsync
