#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "domain/catalog.hpp"
#include "protocol/recording.hpp"

namespace dspsync {

/// The catalog the demo bundles for its recordings, with deliberate faults so that every pending
/// reason and drift kind shows up. Deterministic: the same recordings give the same catalog.
struct demo_catalog {
  /// The first load (catalog version 1).
  catalog_data first;
  /// A corrected load (version 2): the recordings without an ISWC get it, the German performance
  /// lines that summed to 97.5% are completed, and one label's master shares move to a new owner
  /// (a rights-holder reassignment).
  catalog_data fix;
  /// What was planted, in tracks.
  std::size_t tracks = 0;
  std::size_t missing = 0;            ///< not in the catalog at all (unknown ISRC)
  std::size_t reissued = 0;           ///< listed under another ISRC (fuzzy match, ISRC reissue)
  std::size_t no_iswc = 0;            ///< recording without ISWC (fixed in `fix`)
  std::size_t unknown_work = 0;       ///< ISWC not in the registry
  std::size_t master_incomplete = 0;  ///< master shares sum to 90%
  std::size_t performance_de = 0;     ///< performance shares sum to 97.5% in DE (fixed in `fix`)
  std::size_t title_changed = 0;      ///< the catalog's title differs from the DSP's
  std::size_t upc_changed = 0;        ///< the catalog's UPC differs from the DSP's
  std::size_t reassigned = 0;         ///< master shares reassigned in `fix`
  /// Payee currencies of the demo's rights holders (the others are paid in USD).
  std::vector<std::pair<std::string, std::string>> payee_currencies;
};

/// Builds the demo catalog for the tracks of `recordings`.
demo_catalog make_demo_catalog(const std::vector<recording_options>& recordings);

/// The FX table of the demo's period: every pair from the record currencies (USD, EUR, GBP, JPY,
/// SEK) to the payee currencies (USD, EUR, JPY, SEK), as CSV.
std::string demo_fx_table();

}  // namespace dspsync
