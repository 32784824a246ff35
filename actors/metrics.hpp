#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "actors/actors.hpp"
#include "config/config.hpp"

namespace dspsync {

/// What the metrics are computed from: the supervisor's live status and the ledger's committed
/// figures, taken at `now_ms`.
struct metrics_snapshot {
  /// Live status of every endpoint; empty when the supervisor did not answer in time.
  std::vector<endpoint_status> endpoints;
  /// False when the supervisor did not answer (the live families are then left out).
  bool live = false;
  /// Committed checkpoints by source.
  std::vector<std::pair<std::string, source_checkpoint>> checkpoints;
  std::optional<ledger_stats> stats;
  /// Latest record versions by state.
  std::optional<std::map<record_state, uint64_t>> states;
  /// Durations of the ledger's record commits since the engine opened it.
  std::optional<commit_timings> commits;
  int64_t now_ms = 0;
};

/// The Prometheus exposition (text format 0.0.4) of a snapshot: every family `dspsync_`-prefixed,
/// labelled by `endpoint` and `dsp` (and `code`, `state` where they apply). Pure.
///
/// Counters: requests by code, retries, restarts, records by state and records in (committed
/// totals), schema rejections, duplicates, pages, page faults, audit entries. Gauges: quarantine
/// and pending sizes, ledger records by state, circuit state (0 closed, 1 half_open, 2 open),
/// cursor lag, last commit time, caught up, paused, in-flight pages, rate budget. Histograms:
/// request duration and backoff delay by endpoint; the ledger's commit duration and the durable
/// part of it (writing pages and `fdatasync`). So: retry rate = rate(retries) / rate(requests); backoff
/// p95 = histogram_quantile(0.95, backoff buckets); schema rejection rate = rate(rejections) /
/// rate(records in); sync completion delta = cursor lag of a caught-up endpoint.
std::string render_metrics(const engine_config& cfg, const metrics_snapshot& snap);

}  // namespace dspsync
