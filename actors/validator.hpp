#pragma once

#include <cstddef>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>

#include "actors/actors.hpp"
#include "config/config.hpp"
#include "protocol/page_mapper.hpp"

namespace dspsync {

/// The page mappers of one validator, made when an endpoint's page first arrives and kept for the
/// `capacity` endpoints that sent pages most recently (each reuses its parser and hash contexts
/// from page to page). Idle endpoints cost no mapper: with 10,000 configured endpoints polling
/// hourly, a mapper per endpoint per validator was most of the memory an endpoint cost.
class mapper_cache {
 public:
  mapper_cache(std::shared_ptr<const engine_config> cfg, std::size_t capacity);
  /// The mapper of endpoint `name`, or nullptr when no endpoint has that name.
  page_mapper* get(const std::string& name);
  std::size_t size() const { return entries_.size(); }

 private:
  struct entry {
    std::unique_ptr<page_mapper> mapper;
    std::list<std::string>::iterator recent;
  };
  std::shared_ptr<const engine_config> cfg_;
  std::size_t capacity_;
  territory_options territories_;
  std::unordered_map<std::string, const endpoint_config*> endpoints_;
  std::unordered_map<std::string, entry> entries_;
  std::list<std::string> recent_;  // most recently used first
};

/// State of one validator.
struct validator_state {
  static inline const char* name = "validator";
  /// Mappers kept per validator (the most recently active endpoints).
  static constexpr std::size_t mappers_kept = 64;
  std::unique_ptr<mapper_cache> mappers;
};

/// The validator behaviour: maps, validates and keys whole pages; the rules live in
/// `page_mapper` and `domain/validation`.
validator_actor::behavior_type validator(validator_actor::stateful_pointer<validator_state> self,
                                         std::shared_ptr<const engine_config> cfg);

}  // namespace dspsync
