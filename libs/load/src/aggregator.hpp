#pragma once
// The aggregator: the calling thread of run_plan. Once a second it collects every event loop's
// interval (each loop hands its metrics over at its next sweep, see LoopMetrics), merges them
// exactly into the run's totals and one timeline point, reports progress and asks whether to
// abort; at the end it takes what the loops recorded since.
#include "engine_state.hpp"

namespace crest::load {

// Runs until every loop of the engine has finished; fills the result's totals, timeline,
// elapsed_s, peak_vus and aborted.
void aggregate_until_done(Engine& engine, RunResult& result);

}  // namespace crest::load
