// Test and benchmark support, not product code: audience conditions translated to PostgreSQL
// over a plain relational layout, so that the batch evaluator can be checked against an
// independent engine (batch_postgres_test.cc) and timed against one (bench/audience/).
//
// Tables (SqlSchema() creates them, without indexes: callers add what their workload needs):
//   profiles(id integer, traits jsonb)
//   events(id bigint, profile_id integer, name text, touchpoint text, source text, ts bigint,
//          properties jsonb)        -- id increases in order of addition within a profile
//   identifiers(profile_id integer, kind text, value text)
//   consent(profile_id integer, purpose text, granted boolean)
//   audience_members(audience text, profile_id integer)
// and tessera_time(jsonb): the reference's reading of a JSON value as a date.
//
// The SQL follows docs/CONDITIONS.md: typed comparisons (numbers as float8, strings by bytes
// under the C collation the callers' clusters use), paths through objects only, missing and
// mismatched values false, windows (now - D, now], sums in order of addition. Every generated
// boolean is non-NULL, so NOT needs no care. Known gaps, which the callers' data avoids: jsonb
// keeps no integer/float distinction, so integers beyond 2^53 read as dates like floats do;
// PostgreSQL's float8 arithmetic raises errors on overflow and underflow where C++ gives inf or
// 0, so sums of values near 1e308 and averages of values near 1e-308 fail.
#pragma once

#include <string>
#include <string_view>

#include "audience/condition.h"
#include "core/status.h"
#include "core/time.h"

namespace tessera::audience {

// CREATE TABLE and CREATE FUNCTION statements for the layout above.
std::string SqlSchema();

// A boolean SQL expression over `p`, a row of profiles: is profile p in the audience at `now`?
// Unsupported for aggregates first, last, most_frequent and distinct_count (their tie rules and
// value keys have no plain SQL form).
// REQUIRES: condition is valid (Validate()).
Result<std::string> ConditionToSql(const Condition& condition, TimeMs now);

// SELECT p.id FROM profiles p WHERE <ConditionToSql> ORDER BY p.id.
Result<std::string> AudienceSql(const Condition& condition, TimeMs now);

// text as one field of COPY ... (FORMAT csv): always quoted, so never NULL.
std::string CsvField(std::string_view text);

}  // namespace tessera::audience
