// The batch evaluator: audience membership (and computed-trait values) for a whole Population
// at once, column-wise. Its answers are exactly the reference evaluator's (reference.h) for
// every valid condition; the differential tests in batch_test.cc hold it to that.
//
// How: the condition is compiled once (columns, dictionary codes and tests resolved), then
// evaluated over chunks of 8192 profiles as bitsets. `and` evaluates its children cheapest
// first, each only where the previous ones held (`or` only where none held yet), so costly
// event nodes run for few profiles. Trait tests are tight loops over typed columns, with string
// answers memoised per dictionary entry; named, windowed counts are two binary searches in the
// profile's (name, timestamp)-sorted events. Sequences, "and not ... within", most_frequent and
// the like loop per profile over its events. Chunks are shared out to `threads` std::threads.
//
// Thread-safety: the functions are reentrant; the Population is only read.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <vector>

#include "audience/condition.h"
#include "audience/membership_bits.h"
#include "audience/population.h"
#include "core/status.h"
#include "core/time.h"

namespace tessera::audience {

// Answers `in audience "x"` for the whole population: bits of population.size(), or nullptr
// when nobody is a member. Called once per audience the condition names, on the calling thread,
// before any work starts; the bits must stay valid until EvaluateBatch returns.
using BatchMembership = std::function<const MembershipBits*(std::string_view audience)>;

// Which profiles are in the audience defined by `condition` at time `now`: bit i is
// EvaluateReference(condition, profile i, now, membership of profile i).
// threads: how many threads work (the caller's included); values below 1 mean 1.
// InvalidArgument when the population's projection lacks something the condition reads, or
// when membership returns bits of another size.
// REQUIRES: condition is valid (Validate()).
Result<MembershipBits> EvaluateBatch(const Condition& condition, const Population& population,
                                     TimeMs now, const BatchMembership& membership, int threads);

// The aggregate's value for every profile (a computed trait): element i is
// EvaluateAggregateReference(aggregate, profile i, now). InvalidArgument as above.
// REQUIRES: aggregate is valid (Validate()).
Result<std::vector<std::optional<nlohmann::json>>> EvaluateAggregateBatch(
    const Aggregate& aggregate, const Population& population, TimeMs now, int threads);

}  // namespace tessera::audience
