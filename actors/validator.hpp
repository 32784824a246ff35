#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "actors/actors.hpp"
#include "config/config.hpp"
#include "protocol/page_mapper.hpp"

namespace dspsync {

/// State of one validator: a page mapper per endpoint, each reusing its parser and hash contexts.
struct validator_state {
  static inline const char* name = "validator";
  std::unordered_map<std::string, std::unique_ptr<page_mapper>> mappers;
};

/// The validator behaviour: maps, validates and keys whole pages; the rules live in
/// `page_mapper` and `domain/validation`.
validator_actor::behavior_type validator(validator_actor::stateful_pointer<validator_state> self,
                                         std::shared_ptr<const engine_config> cfg);

}  // namespace dspsync
