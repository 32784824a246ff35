#include "actors/validator.hpp"

namespace dspsync {

validator_actor::behavior_type validator(validator_actor::stateful_pointer<validator_state> self,
                                         std::shared_ptr<const engine_config> cfg) {
  territory_options territories;
  territories.pseudo = cfg->pseudo_territories;
  for (const auto& ep : cfg->endpoints)
    self->state.mappers.emplace(ep.name, std::make_unique<page_mapper>(ep, territories));
  return {
      [=](validate_atom, batch_ptr batch) -> caf::result<batch_ptr> {
        auto it = self->state.mappers.find(batch->source);
        if (it == self->state.mappers.end())
          return caf::make_error(caf::sec::invalid_argument, "no endpoint named " + batch->source);
        try {
          it->second->map(*batch);
        } catch (const std::exception& e) {
          // A poisonous page must not take the validator down with it: the page is kept in
          // quarantine with the reason, and the endpoint retries or parks.
          batch->records.clear();
          batch->quarantined.clear();
          batch->page_errors.push_back(failure{ec::bad_value, batch->source + " " + batch->request +
                                                                  ": page could not be mapped: " + e.what()});
        }
        return batch;
      },
  };
}

}  // namespace dspsync
