// Text form parser: event conditions (performed, sequences, not-followed-by), aggregates, event
// filters and identifier counts.
#include "audience/internal.h"
#include "audience/text_parser.h"

namespace tessera::audience::internal {
namespace {

constexpr std::string_view kWindowAfterWithin =
    "a sequence's window goes after 'within', as in: performed \"A\" then \"B\" within 2 days "
    "in last 30 days";
constexpr std::string_view kTouchpointList =
    "a touchpoint (web, app, store, call_centre, email, social, billing, crm, other)";

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

}  // namespace

Result<std::optional<std::string>> TextParser::EventName() {
  const Token& t = Peek();
  if (t.kind == TokenKind::kString && !t.text.empty())
    return std::optional<std::string>(Next().text);
  if (PeekKeyword("any") && PeekKeyword("event", 1)) {
    Next();
    Next();
    return std::optional<std::string>();
  }
  return Expected(t, "an event name in quotes or 'any event'");
}

Result<ValueTest> TextParser::CountPhrase() {
  Op op = Op::kGe;
  if (PeekKeyword("at") && PeekKeyword("least", 1)) {
    op = Op::kGe;
  } else if (PeekKeyword("at") && PeekKeyword("most", 1)) {
    op = Op::kLe;
  } else if (PeekKeyword("more") && PeekKeyword("than", 1)) {
    op = Op::kGt;
  } else if (PeekKeyword("fewer") && PeekKeyword("than", 1)) {
    op = Op::kLt;
  } else {
    op = Op::kEq;  // exactly
  }
  if (op != Op::kEq) Next();
  Next();
  TESSERA_ASSIGN_OR_RETURN(int64_t n, WholeNumber(1000000000, "a whole number of times"));
  if (!AcceptKeyword("times") && !AcceptKeyword("time")) return Expected(Peek(), "'times'");
  return ValueTest{op, {static_cast<double>(n)}, std::nullopt};
}

Status TextParser::Filters(EventFilter* filter, FilterExtras* extras, bool allow_count) {
  while (true) {
    const Token& t = Peek();
    if (AcceptKeyword("from")) {
      if (AcceptKeyword("touchpoint")) {
        if (filter->touchpoint) return Problem(t, "the touchpoint is given twice");
        const Token& name = Peek();
        if (name.kind != TokenKind::kIdent || !IsTouchpoint(Lower(name.text))) {
          return Expected(name, kTouchpointList);
        }
        filter->touchpoint = Lower(Next().text);
      } else if (AcceptKeyword("source")) {
        if (filter->source) return Problem(t, "the source is given twice");
        TESSERA_ASSIGN_OR_RETURN(filter->source, NonEmptyString("a source id in quotes"));
      } else {
        return Expected(Peek(), "'touchpoint' or 'source'");
      }
    } else if (PeekKeyword("in") && PeekKeyword("last", 1)) {
      if (extras->window) return Problem(t, "the window is given twice");
      Next();
      Next();
      extras->window_at = t;
      TESSERA_ASSIGN_OR_RETURN(extras->window, ParseDuration());
    } else if (PeekKeyword("where")) {
      if (filter->where) return Problem(t, "'where' is given twice");
      Next();
      Nesting nesting(this);
      TESSERA_RETURN_IF_ERROR(CheckNesting(t));
      TESSERA_ASSIGN_OR_RETURN(Parsed where, Unary(true));
      filter->where = std::move(where.condition);
      extras->where_height = where.height;
    } else if (allow_count &&
               ((PeekKeyword("at") && (PeekKeyword("least", 1) || PeekKeyword("most", 1))) ||
                PeekKeyword("exactly") ||
                ((PeekKeyword("more") || PeekKeyword("fewer")) && PeekKeyword("than", 1)))) {
      if (extras->count) return Problem(t, "the count is given twice");
      extras->count_at = t;
      TESSERA_ASSIGN_OR_RETURN(extras->count, CountPhrase());
    } else {
      return Status::Ok();
    }
  }
}

Status TextParser::StepFilters(EventFilter* filter, int* where_height) {
  FilterExtras extras;
  TESSERA_RETURN_IF_ERROR(Filters(filter, &extras, false));
  if (extras.window) return Problem(*extras.window_at, kWindowAfterWithin);
  *where_height = std::max(*where_height, extras.where_height);
  return Status::Ok();
}

Result<TextParser::Parsed> TextParser::Performed() {
  const Token& start = Next();  // performed
  EventFilter first;
  TESSERA_ASSIGN_OR_RETURN(first.name, EventName());
  FilterExtras extras;
  TESSERA_RETURN_IF_ERROR(Filters(&first, &extras, true));
  bool then = PeekKeyword("then");
  bool and_not =
      PeekKeyword("and") && PeekKeyword("not", 1) &&
      (Peek(2).kind == TokenKind::kString || (PeekKeyword("any", 2) && PeekKeyword("event", 3)));
  if (!then && !and_not) {
    Aggregate aggregate{AggregateFn::kCount, {}, std::move(first), extras.window};
    ValueTest test = extras.count.value_or(ValueTest{Op::kGe, {1.0}, std::nullopt});
    return Make(AggregateCondition{std::move(aggregate), std::move(test)}, 1 + extras.where_height,
                start);
  }
  if (extras.count)
    return Problem(*extras.count_at, "a count does not go with 'then' or 'and not'");
  if (extras.window) return Problem(*extras.window_at, kWindowAfterWithin);
  int where_height = extras.where_height;
  std::vector<EventFilter> steps;
  steps.push_back(std::move(first));
  EventFilter absent;
  if (then) {
    while (PeekKeyword("then")) {
      const Token& then_at = Next();
      if (steps.size() == kMaxSequenceSteps) {
        return Problem(then_at,
                       "a sequence has at most " + std::to_string(kMaxSequenceSteps) + " steps");
      }
      EventFilter step;
      TESSERA_ASSIGN_OR_RETURN(step.name, EventName());
      TESSERA_RETURN_IF_ERROR(StepFilters(&step, &where_height));
      steps.push_back(std::move(step));
    }
  } else {
    Next();  // and
    Next();  // not
    TESSERA_ASSIGN_OR_RETURN(absent.name, EventName());
    TESSERA_RETURN_IF_ERROR(StepFilters(&absent, &where_height));
  }
  if (!AcceptKeyword("within")) {
    return Expected(Peek(), then ? "'then' or 'within'" : "'within'");
  }
  TESSERA_ASSIGN_OR_RETURN(Duration within, ParseDuration());
  std::optional<Duration> window;
  if (PeekKeyword("in") && PeekKeyword("last", 1)) {
    Next();
    Next();
    TESSERA_ASSIGN_OR_RETURN(window, ParseDuration());
  }
  if (then) {
    return Make(SequenceCondition{std::move(steps), within, window}, 1 + where_height, start);
  }
  return Make(NotFollowedByCondition{std::move(steps[0]), std::move(absent), within, window},
              1 + where_height, start);
}

Result<Aggregate> TextParser::AggregateExpr(int* where_height) {
  const Token& start = Peek();
  Aggregate aggregate;
  if (AcceptKeyword("count")) {
    TESSERA_RETURN_IF_ERROR(ExpectKeyword("of"));
    aggregate.fn = AggregateFn::kCount;
    TESSERA_ASSIGN_OR_RETURN(aggregate.events.name, EventName());
  } else if ((PeekKeyword("first") || PeekKeyword("last")) && PeekKeyword("time", 1)) {
    aggregate.fn = PeekKeyword("first") ? AggregateFn::kFirstTime : AggregateFn::kLastTime;
    Next();
    Next();
    TESSERA_RETURN_IF_ERROR(ExpectKeyword("performed"));
    TESSERA_ASSIGN_OR_RETURN(aggregate.events.name, EventName());
  } else {
    static constexpr std::pair<std::string_view, AggregateFn> kOneWord[] = {
        {"sum", AggregateFn::kSum}, {"avg", AggregateFn::kAvg},     {"min", AggregateFn::kMin},
        {"max", AggregateFn::kMax}, {"first", AggregateFn::kFirst}, {"last", AggregateFn::kLast}};
    bool found = false;
    for (const auto& [word, fn] : kOneWord) {
      if (!found && AcceptKeyword(word)) {
        aggregate.fn = fn;
        found = true;
      }
    }
    if (!found && PeekKeyword("most") && PeekKeyword("frequent", 1)) {
      aggregate.fn = AggregateFn::kMostFrequent;
      found = true;
      Next();
      Next();
    } else if (!found && PeekKeyword("distinct") && PeekKeyword("count", 1)) {
      aggregate.fn = AggregateFn::kDistinctCount;
      found = true;
      Next();
      Next();
    }
    if (!found) {
      return Expected(start,
                      "an aggregate (count of, sum of, avg of, min of, max of, first of, last of, "
                      "most frequent of, distinct count of, first time performed, last time "
                      "performed)");
    }
    TESSERA_RETURN_IF_ERROR(ExpectKeyword("of"));
    if (!PeekKeyword("properties") || Peek(1).kind != TokenKind::kDot) {
      return Expected(Peek(), "a property path like properties.total");
    }
    Next();
    Next();
    TESSERA_ASSIGN_OR_RETURN(aggregate.property, ParsePath());
    TESSERA_RETURN_IF_ERROR(ExpectKeyword("over"));
    TESSERA_ASSIGN_OR_RETURN(aggregate.events.name, EventName());
  }
  FilterExtras extras;
  TESSERA_RETURN_IF_ERROR(Filters(&aggregate.events, &extras, false));
  aggregate.window = extras.window;
  *where_height = extras.where_height;
  return aggregate;
}

Result<TextParser::Parsed> TextParser::AggregateAtom() {
  const Token& start = Peek();
  int where_height = 0;
  TESSERA_ASSIGN_OR_RETURN(Aggregate aggregate, AggregateExpr(&where_height));
  TESSERA_ASSIGN_OR_RETURN(ValueTest test, ParseTest(ResultKind(aggregate.fn)));
  return Make(AggregateCondition{std::move(aggregate), std::move(test)}, 1 + where_height, start);
}

Result<TextParser::Parsed> TextParser::IdentifierCount() {
  const Token& start = Next();  // count
  Next();                       // of
  if (Peek().kind != TokenKind::kIdent) {
    return Expected(Peek(),
                    "an event name in quotes, 'any event' or an identifier kind like "
                    "device_id");
  }
  std::string kind = Next().text;
  TESSERA_RETURN_IF_ERROR(ExpectKeyword("identifiers"));
  TESSERA_ASSIGN_OR_RETURN(ValueTest test, ParseTest(ValueKind::kNumber));
  return Make(IdentifierCondition{std::move(kind), std::move(test)}, 1, start);
}

}  // namespace tessera::audience::internal
