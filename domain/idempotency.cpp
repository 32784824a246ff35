#include "domain/idempotency.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <stdexcept>

#include "domain/validation.hpp"

namespace dspsync {

struct sha256::impl {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~impl() { EVP_MD_CTX_free(ctx); }
};

sha256::sha256() : impl_(std::make_unique<impl>()) {
  if (impl_->ctx == nullptr) throw std::bad_alloc();
  reset();
}

sha256::~sha256() = default;

void sha256::reset() { EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr); }

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

key_deriver::key_deriver(std::vector<std::string> fields) : fields_(std::move(fields)) {}

namespace {

std::string_view key_value(const royalty_record& rec, std::string_view name, std::string& scratch) {
  if (name == "isrc") return rec.isrc;
  if (name == "upc") return rec.upc;
  if (name == "iswc") return rec.iswc;
  if (name == "dsp") return rec.dsp;
  if (name == "territory") return rec.territory;
  if (name == "reporting_period") return rec.reporting_period;
  if (name == "transaction_id") return rec.transaction_id;
  if (name == "currency") return rec.currency;
  if (name == "title") return rec.title;
  if (name == "units") {
    scratch = std::to_string(rec.units);
    return scratch;
  }
  if (name == "revenue") {
    scratch = rec.revenue.to_string();
    return scratch;
  }
  if (name == "artists") {
    scratch.clear();
    for (const auto& a : rec.artists) {
      if (!scratch.empty()) scratch += '|';
      scratch += a;
    }
    return scratch;
  }
  return {};
}

}  // namespace

record_key key_deriver::key(const royalty_record& rec) {
  std::string scratch;
  for (const auto& name : fields_) {
    hash_.update(name);
    hash_.update("=");
    hash_.update(key_value(rec, name, scratch));
    hash_.update("\x1f");
  }
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
