// Text form parser: entry points, logic (or / and / not / parentheses), tests, values, paths,
// and the atoms that are not about events.
#include "audience/text_parser.h"

#include <charconv>

#include "audience/internal.h"

namespace tessera::audience {
namespace internal {
namespace {

constexpr std::string_view kConditionStart =
    "a condition (trait, performed, count of, sum of, avg of, min of, max of, first, last, "
    "most frequent of, distinct count of, in audience, has, consented to, not or '(')";
constexpr std::string_view kAnyComparison =
    "a comparison (=, !=, <, <=, >, >=, between, in, not in, contains, starts with, ends with, "
    "exists, missing, within last, more than ... ago)";

std::optional<Op> SymbolOp(TokenKind kind) {
  switch (kind) {
    case TokenKind::kEq:
      return Op::kEq;
    case TokenKind::kNe:
      return Op::kNe;
    case TokenKind::kLt:
      return Op::kLt;
    case TokenKind::kLe:
      return Op::kLe;
    case TokenKind::kGt:
      return Op::kGt;
    case TokenKind::kGe:
      return Op::kGe;
    default:
      return std::nullopt;
  }
}

}  // namespace

// ---- tokens and errors ----

const Token& TextParser::Peek(size_t ahead) const {
  return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
}

const Token& TextParser::Next() {
  const Token& t = tokens_[pos_];
  if (pos_ + 1 < tokens_.size()) ++pos_;
  return t;
}

bool TextParser::AcceptKeyword(std::string_view keyword) {
  if (!PeekKeyword(keyword)) return false;
  Next();
  return true;
}

Status TextParser::ExpectKeyword(std::string_view keyword) {
  if (AcceptKeyword(keyword)) return Status::Ok();
  return Expected(Peek(), "'" + std::string(keyword) + "'");
}

Status TextParser::Expect(TokenKind kind, std::string_view expected) {
  if (Peek().kind != kind) return Expected(Peek(), expected);
  Next();
  return Status::Ok();
}

Status TextParser::Expected(const Token& at, std::string_view expected) {
  return Status::InvalidArgument(Where(at) + ": expected " + std::string(expected) + ", found " +
                                 Describe(at));
}

Status TextParser::Problem(const Token& at, std::string_view message) {
  return Status::InvalidArgument(Where(at) + ": " + std::string(message));
}

Status TextParser::CheckNesting(const Token& at) const {
  if (nesting_ > kMaxDepth) {
    return Problem(at, "conditions nest more than " + std::to_string(kMaxDepth) + " levels deep");
  }
  return Status::Ok();
}

Result<TextParser::Parsed> TextParser::Make(Condition::Node node, int height, const Token& start) {
  if (height > kMaxDepth) {
    return Problem(start,
                   "conditions nest more than " + std::to_string(kMaxDepth) + " levels deep");
  }
  if (++nodes_ > kMaxNodes) {
    return Problem(start, "more than " + std::to_string(kMaxNodes) + " conditions");
  }
  return Parsed{Condition{std::move(node)}, height};
}

// ---- entry points ----

Result<Condition> TextParser::WholeCondition() {
  TESSERA_ASSIGN_OR_RETURN(Parsed parsed, Or(false));
  if (Peek().kind != TokenKind::kEnd) return Expected(Peek(), "'and', 'or' or end of input");
  return std::move(parsed.condition);
}

Result<Aggregate> TextParser::WholeAggregate() {
  int where_height = 0;
  TESSERA_ASSIGN_OR_RETURN(Aggregate aggregate, AggregateExpr(&where_height));
  if (Peek().kind != TokenKind::kEnd) {
    return Expected(Peek(), "'from', 'in last', 'where' or end of input");
  }
  return aggregate;
}

// ---- logic ----

Result<TextParser::Parsed> TextParser::Or(bool in_where) {
  const Token& start = Peek();
  TESSERA_ASSIGN_OR_RETURN(Parsed first, And(in_where));
  if (!PeekKeyword("or")) return first;
  OrCondition node;
  int height = first.height;
  node.children.push_back(std::move(first.condition));
  while (AcceptKeyword("or")) {
    TESSERA_ASSIGN_OR_RETURN(Parsed next, And(in_where));
    height = std::max(height, next.height);
    node.children.push_back(std::move(next.condition));
  }
  return Make(std::move(node), height + 1, start);
}

Result<TextParser::Parsed> TextParser::And(bool in_where) {
  const Token& start = Peek();
  TESSERA_ASSIGN_OR_RETURN(Parsed first, Unary(in_where));
  if (!PeekKeyword("and")) return first;
  AndCondition node;
  int height = first.height;
  node.children.push_back(std::move(first.condition));
  while (AcceptKeyword("and")) {
    TESSERA_ASSIGN_OR_RETURN(Parsed next, Unary(in_where));
    height = std::max(height, next.height);
    node.children.push_back(std::move(next.condition));
  }
  return Make(std::move(node), height + 1, start);
}

Result<TextParser::Parsed> TextParser::Unary(bool in_where) {
  const Token& start = Peek();
  if (!AcceptKeyword("not")) return Primary(in_where);
  Nesting nesting(this);
  TESSERA_RETURN_IF_ERROR(CheckNesting(start));
  TESSERA_ASSIGN_OR_RETURN(Parsed child, Unary(in_where));
  return Make(NotCondition{std::move(child.condition)}, child.height + 1, start);
}

Result<TextParser::Parsed> TextParser::Primary(bool in_where) {
  const Token& start = Peek();
  if (start.kind == TokenKind::kLParen) {
    Next();
    Nesting nesting(this);
    TESSERA_RETURN_IF_ERROR(CheckNesting(start));
    TESSERA_ASSIGN_OR_RETURN(Parsed inner, Or(in_where));
    TESSERA_RETURN_IF_ERROR(Expect(TokenKind::kRParen, "'and', 'or' or ')'"));
    return inner;
  }
  return in_where ? PropertyAtom() : Atom();
}

Result<TextParser::Parsed> TextParser::Atom() {
  const Token& start = Peek();
  if (AcceptKeyword("trait")) {
    TESSERA_ASSIGN_OR_RETURN(Path path, ParsePath());
    TESSERA_ASSIGN_OR_RETURN(ValueTest test, ParseTest(ValueKind::kAny));
    return Make(TraitCondition{std::move(path), std::move(test)}, 1, start);
  }
  if (PeekKeyword("performed")) return Performed();
  if (PeekKeyword("count") && PeekKeyword("of", 1) && Peek(2).kind != TokenKind::kString &&
      !(PeekKeyword("any", 2) && PeekKeyword("event", 3))) {
    return IdentifierCount();
  }
  for (std::string_view word :
       {"count", "sum", "avg", "min", "max", "first", "last", "most", "distinct"}) {
    if (PeekKeyword(word)) return AggregateAtom();
  }
  if (AcceptKeyword("in")) {
    TESSERA_RETURN_IF_ERROR(ExpectKeyword("audience"));
    TESSERA_ASSIGN_OR_RETURN(std::string name, NonEmptyString("an audience name in quotes"));
    return Make(AudienceCondition{std::move(name)}, 1, start);
  }
  if (AcceptKeyword("has")) {
    if (Peek().kind != TokenKind::kIdent) return Expected(Peek(), "an identifier kind like email");
    std::string kind = Next().text;
    return Make(IdentifierCondition{std::move(kind), ValueTest{Op::kGe, {1.0}, std::nullopt}}, 1,
                start);
  }
  if (AcceptKeyword("consented")) {
    TESSERA_RETURN_IF_ERROR(ExpectKeyword("to"));
    TESSERA_ASSIGN_OR_RETURN(std::string purpose, NonEmptyString("a consent purpose in quotes"));
    return Make(ConsentCondition{std::move(purpose)}, 1, start);
  }
  if (PeekKeyword("properties") && Peek(1).kind == TokenKind::kDot) {
    return Problem(start,
                   "a property test goes inside 'where'; for several, use parentheses: "
                   "where (properties.a = 1 and properties.b = 2)");
  }
  return Expected(start, kConditionStart);
}

Result<TextParser::Parsed> TextParser::PropertyAtom() {
  const Token& start = Peek();
  if (!PeekKeyword("properties") || Peek(1).kind != TokenKind::kDot) {
    return Expected(start, "a property condition like properties.total > 100");
  }
  Next();
  Next();
  TESSERA_ASSIGN_OR_RETURN(Path path, ParsePath());
  TESSERA_ASSIGN_OR_RETURN(ValueTest test, ParseTest(ValueKind::kAny));
  return Make(PropertyCondition{std::move(path), std::move(test)}, 1, start);
}

// ---- tests and values ----

Result<ValueTest> TextParser::ParseTest(ValueKind kind) {
  const Token start = Peek();
  ValueTest test;
  std::vector<Token> at;  // the token of each value
  auto one_value = [&](Op op) -> Status {
    test.op = op;
    at.push_back(Peek());
    TESSERA_ASSIGN_OR_RETURN(Scalar v, Value());
    test.values.push_back(std::move(v));
    return Status::Ok();
  };
  if (std::optional<Op> symbol = SymbolOp(start.kind)) {
    Next();
    TESSERA_RETURN_IF_ERROR(one_value(*symbol));
  } else if (AcceptKeyword("between")) {
    TESSERA_RETURN_IF_ERROR(one_value(Op::kBetween));
    TESSERA_RETURN_IF_ERROR(ExpectKeyword("and"));
    TESSERA_RETURN_IF_ERROR(one_value(Op::kBetween));
  } else if (PeekKeyword("in") || (PeekKeyword("not") && PeekKeyword("in", 1))) {
    test.op = AcceptKeyword("not") ? Op::kNotIn : Op::kIn;
    Next();
    TESSERA_ASSIGN_OR_RETURN(test.values, List(&at));
  } else if (AcceptKeyword("contains")) {
    TESSERA_RETURN_IF_ERROR(one_value(Op::kContains));
  } else if (PeekKeyword("starts") || PeekKeyword("ends")) {
    Op op = PeekKeyword("starts") ? Op::kStartsWith : Op::kEndsWith;
    Next();
    TESSERA_RETURN_IF_ERROR(ExpectKeyword("with"));
    TESSERA_RETURN_IF_ERROR(one_value(op));
  } else if (AcceptKeyword("exists")) {
    test.op = Op::kExists;
  } else if (AcceptKeyword("missing")) {
    test.op = Op::kMissing;
  } else if (AcceptKeyword("within")) {
    TESSERA_RETURN_IF_ERROR(ExpectKeyword("last"));
    test.op = Op::kWithinLast;
    TESSERA_ASSIGN_OR_RETURN(test.duration, ParseDuration());
  } else if (PeekKeyword("more") && PeekKeyword("than", 1)) {
    Next();
    Next();
    test.op = Op::kMoreThanAgo;
    TESSERA_ASSIGN_OR_RETURN(test.duration, ParseDuration());
    TESSERA_RETURN_IF_ERROR(ExpectKeyword("ago"));
  } else {
    return Expected(start, kind == ValueKind::kAny ? kAnyComparison : AllowedOps(kind));
  }
  if (auto problem = CheckTest(test, kind)) {
    if (problem->value_index >= 0) {
      const Token& value_at = at[static_cast<size_t>(problem->value_index)];
      return Problem(value_at, "expected " + problem->expected + ", found " + problem->found);
    }
    return Expected(start, problem->expected);
  }
  return test;
}

Result<Scalar> TextParser::Value() {
  const Token& t = Peek();
  if (t.kind == TokenKind::kString) return Scalar(Next().text);
  if (t.kind == TokenKind::kNumber) {
    double v = 0;
    auto [end, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
    if (ec != std::errc() || end != t.text.data() + t.text.size()) {
      return Problem(t, "number " + t.text + " is out of range");
    }
    Next();
    return Scalar(v);
  }
  if (AcceptKeyword("true")) return Scalar(true);
  if (AcceptKeyword("false")) return Scalar(false);
  if (AcceptKeyword("date")) {
    const Token& text = Peek();
    std::optional<TimeMs> ms;
    if (text.kind == TokenKind::kString) ms = ParseIso8601(text.text);
    if (!ms || !IsValidDate(*ms)) {
      return Expected(text,
                      "an ISO-8601 date in quotes, like \"2024-05-01\" or "
                      "\"2024-05-01T10:00:00Z\"");
    }
    Next();
    return Scalar(Date{*ms});
  }
  return Expected(t, "a value (a string in quotes, a number, true, false or date \"2024-05-01\")");
}

Result<std::vector<Scalar>> TextParser::List(std::vector<Token>* at) {
  TESSERA_RETURN_IF_ERROR(Expect(TokenKind::kLBracket, "'[' to open a list"));
  std::vector<Scalar> values;
  do {
    if (values.size() == kMaxListValues) {
      return Problem(Peek(), "a list holds at most " + std::to_string(kMaxListValues) + " values");
    }
    at->push_back(Peek());
    TESSERA_ASSIGN_OR_RETURN(Scalar v, Value());
    values.push_back(std::move(v));
    if (Peek().kind != TokenKind::kComma) break;
    Next();
  } while (true);
  TESSERA_RETURN_IF_ERROR(Expect(TokenKind::kRBracket, "',' or ']'"));
  return values;
}

Result<int64_t> TextParser::WholeNumber(int64_t max, std::string_view expected) {
  const Token& t = Peek();
  bool digits = t.kind == TokenKind::kNumber && t.text.size() <= 12 &&
                t.text.find_first_not_of("0123456789") == std::string::npos;
  int64_t v = 0;
  if (digits) std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
  if (!digits || v > max) return Expected(t, expected);
  Next();
  return v;
}

Result<Duration> TextParser::ParseDuration() {
  static constexpr std::string_view kExpected =
      "a duration like 30 days (a whole number of seconds, minutes, hours, days or weeks, up to "
      "36500 days)";
  const Token& number_at = Peek();
  TESSERA_ASSIGN_OR_RETURN(int64_t count, WholeNumber(kMaxDurationMs / 1000, kExpected));
  static constexpr std::pair<std::string_view, TimeUnit> kUnits[] = {{"second", TimeUnit::kSecond},
                                                                     {"minute", TimeUnit::kMinute},
                                                                     {"hour", TimeUnit::kHour},
                                                                     {"day", TimeUnit::kDay},
                                                                     {"week", TimeUnit::kWeek}};
  for (const auto& [word, unit] : kUnits) {
    if (PeekKeyword(word) || PeekKeyword(std::string(word) + "s")) {
      Next();
      Duration d{count, unit};
      if (CheckDuration(d)) return Expected(number_at, kExpected);
      return d;
    }
  }
  return Expected(Peek(), "a unit (seconds, minutes, hours, days or weeks)");
}

Result<Path> TextParser::ParsePath() {
  Path path;
  do {
    const Token& t = Peek();
    if (t.kind == TokenKind::kIdent) {
      path.push_back(Next().text);
    } else if (t.kind == TokenKind::kString && !t.text.empty()) {
      path.push_back(Next().text);
    } else {
      return Expected(t, path.empty() ? "a name (an identifier or a string in quotes)"
                                      : "a name after '.' (an identifier or a string in quotes)");
    }
    if (Peek().kind != TokenKind::kDot) break;
    Next();
  } while (true);
  return path;
}

Result<std::string> TextParser::NonEmptyString(std::string_view expected) {
  const Token& t = Peek();
  if (t.kind != TokenKind::kString || t.text.empty()) return Expected(t, expected);
  return Next().text;
}

}  // namespace internal

Result<Condition> ParseCondition(std::string_view text) {
  if (text.size() > kMaxTextBytes) {
    return Status::InvalidArgument("too large: the text is longer than " +
                                   std::to_string(kMaxTextBytes) + " bytes");
  }
  TESSERA_ASSIGN_OR_RETURN(std::vector<internal::Token> tokens, internal::Lex(text));
  TESSERA_ASSIGN_OR_RETURN(Condition c, internal::TextParser(std::move(tokens)).WholeCondition());
  TESSERA_RETURN_IF_ERROR(internal::CheckTextSize(ToText(c)));
  return c;
}

Result<Aggregate> ParseAggregate(std::string_view text) {
  if (text.size() > kMaxTextBytes) {
    return Status::InvalidArgument("too large: the text is longer than " +
                                   std::to_string(kMaxTextBytes) + " bytes");
  }
  TESSERA_ASSIGN_OR_RETURN(std::vector<internal::Token> tokens, internal::Lex(text));
  TESSERA_ASSIGN_OR_RETURN(Aggregate a, internal::TextParser(std::move(tokens)).WholeAggregate());
  TESSERA_RETURN_IF_ERROR(internal::CheckTextSize(ToText(a)));
  return a;
}

}  // namespace tessera::audience
