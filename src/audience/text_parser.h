// The text form's recursive-descent parser (grammar in docs/CONDITIONS.md). Split over
// text_parser.cc (logic, values, tests, trait/identity/consent atoms) and text_parser_events.cc
// (performed, sequences, aggregates, event filters). Internal to the audience component.
//
// Stack use is bounded: every recursion (`not`, `(`, `where`) counts against kMaxDepth, and
// every node's height is checked as it is built, so a hostile text fails with an error.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "audience/condition.h"
#include "audience/internal.h"
#include "audience/lexer.h"

namespace tessera::audience::internal {

class TextParser {
 public:
  explicit TextParser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  Result<Condition> WholeCondition();
  Result<Aggregate> WholeAggregate();

 private:
  struct Parsed {
    Condition condition;
    int height = 1;
  };
  // What an event filter list held besides the EventFilter itself.
  struct FilterExtras {
    std::optional<Duration> window;
    std::optional<Token> window_at;
    std::optional<ValueTest> count;  // "at least 3 times" (only where allowed)
    std::optional<Token> count_at;
    int where_height = 0;
  };
  // Counts one level of parser recursion for as long as it lives.
  class Nesting {
   public:
    explicit Nesting(TextParser* p) : p_(p) { ++p_->nesting_; }
    ~Nesting() { --p_->nesting_; }
    Nesting(const Nesting&) = delete;
    Nesting& operator=(const Nesting&) = delete;

   private:
    TextParser* p_;
  };

  // ---- tokens and errors ----
  const Token& Peek(size_t ahead = 0) const;
  const Token& Next();
  bool PeekKeyword(std::string_view keyword, size_t ahead = 0) const {
    return IsKeyword(Peek(ahead), keyword);
  }
  bool AcceptKeyword(std::string_view keyword);
  Status ExpectKeyword(std::string_view keyword);
  Status Expect(TokenKind kind, std::string_view expected);
  static Status Expected(const Token& at, std::string_view expected);  // "expected X, found Y"
  static Status Problem(const Token& at, std::string_view message);
  Status CheckNesting(const Token& at) const;
  Result<Parsed> Make(Condition::Node node, int height, const Token& start);

  // ---- logic (text_parser.cc) ----
  Result<Parsed> Or(bool in_where);
  Result<Parsed> And(bool in_where);
  Result<Parsed> Unary(bool in_where);
  Result<Parsed> Primary(bool in_where);
  Result<Parsed> Atom();
  Result<Parsed> PropertyAtom();
  Result<ValueTest> ParseTest(ValueKind kind);
  Result<Scalar> Value();
  Result<std::vector<Scalar>> List(std::vector<Token>* at);
  Result<Duration> ParseDuration();
  Result<int64_t> WholeNumber(int64_t max, std::string_view expected);
  Result<Path> ParsePath();
  Result<std::string> NonEmptyString(std::string_view expected);

  // ---- events (text_parser_events.cc) ----
  Result<Parsed> Performed();
  Result<Parsed> AggregateAtom();
  Result<Parsed> IdentifierCount();
  Result<Aggregate> AggregateExpr(int* where_height);
  Result<std::optional<std::string>> EventName();
  Status Filters(EventFilter* filter, FilterExtras* extras, bool allow_count);
  Status StepFilters(EventFilter* filter, int* where_height);
  Result<ValueTest> CountPhrase();

  std::vector<Token> tokens_;  // ends with kEnd
  size_t pos_ = 0;
  int nesting_ = 0;
  int nodes_ = 0;
};

}  // namespace tessera::audience::internal
