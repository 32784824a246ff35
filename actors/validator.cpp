#include "actors/validator.hpp"

#include "storage/ledger_store.hpp"

namespace dspsync {

mapper_cache::mapper_cache(std::shared_ptr<const engine_config> cfg, std::size_t capacity)
    : cfg_(std::move(cfg)), capacity_(capacity == 0 ? 1 : capacity) {
  territories_.pseudo = cfg_->pseudo_territories;
  endpoints_.reserve(cfg_->endpoints.size());
  for (const auto& ep : cfg_->endpoints) endpoints_.emplace(ep.name, &ep);
}

page_mapper* mapper_cache::get(const std::string& name) {
  if (auto it = entries_.find(name); it != entries_.end()) {
    recent_.splice(recent_.begin(), recent_, it->second.recent);
    return it->second.mapper.get();
  }
  auto ep = endpoints_.find(name);
  if (ep == endpoints_.end()) return nullptr;
  if (entries_.size() >= capacity_) {
    entries_.erase(recent_.back());
    recent_.pop_back();
  }
  recent_.push_front(name);
  auto& e = entries_[name];
  e.mapper = std::make_unique<page_mapper>(*ep->second, territories_);
  e.recent = recent_.begin();
  return e.mapper.get();
}

validator_actor::behavior_type validator(validator_actor::stateful_pointer<validator_state> self,
                                         std::shared_ptr<const engine_config> cfg) {
  self->state.mappers = std::make_unique<mapper_cache>(std::move(cfg), validator_state::mappers_kept);
  return {
      [=](validate_atom, batch_ptr batch) -> caf::result<batch_ptr> {
        page_mapper* mapper = self->state.mappers->get(batch->source);
        if (mapper == nullptr)
          return caf::make_error(caf::sec::invalid_argument, "no endpoint named " + batch->source);
        try {
          mapper->map(*batch);
          // Encoded here, on a worker, rather than by the ledger's single writer.
          ledger_store::prepare(*batch);
        } catch (const std::exception& e) {
          // A poisonous page must not take the validator down with it: the page is kept in
          // quarantine with the reason, and the endpoint retries or parks.
          batch->records.clear();
          batch->contents.clear();
          batch->content_ends.clear();
          batch->quarantined.clear();
          batch->page_errors.push_back(failure{ec::bad_value, batch->source + " " + batch->request +
                                                                  ": page could not be mapped: " + e.what()});
        }
        return batch;
      },
  };
}

}  // namespace dspsync
