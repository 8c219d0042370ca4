// The report of a linkage run: what blocking generated, the estimated model (m, u and the match
// weight of every level), the decisions, timings, and the evaluation when labels were given.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "linkage/evaluate.h"
#include "linkage/linker.h"

namespace tessera::linkage {

nlohmann::json ReportJson(const LinkInput& input, const Settings& settings, const LinkResult& result,
                          const Evaluation* evaluation);
// A few readable lines for the terminal.
std::string ReportText(const LinkInput& input, const Settings& settings, const LinkResult& result,
                       const Evaluation* evaluation);
// One pair's explanation: its ids, weight, probability and each comparison's contribution.
nlohmann::json ExplainJson(const LinkInput& input, const Comparator& comparator, const Model& model,
                           const ScoredPair& pair);
// Peak resident memory of this process in bytes (0 if unknown).
uint64_t PeakRssBytes();

}  // namespace tessera::linkage
