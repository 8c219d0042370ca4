// The text form's lexer: tokens with their line and column. Keywords are not tokens of their own:
// they are identifiers that the parser compares case-insensitively where it expects one, so a
// trait may be called `count` or `not`. Internal to the audience component.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace tessera::audience::internal {

enum class TokenKind {
  kIdent,   // [A-Za-z_][A-Za-z0-9_]*
  kString,  // "..." with JSON escapes; text holds the decoded UTF-8
  kNumber,  // JSON number syntax: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  kLParen,
  kRParen,
  kLBracket,
  kRBracket,
  kComma,
  kDot,
  kEq,  // =
  kNe,  // !=
  kLt,
  kLe,
  kGt,
  kGe,
  kEnd,
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;  // identifier, decoded string or number lexeme; the symbol otherwise
  int line = 1;      // from 1
  int column = 1;    // from 1, in characters (UTF-8 code points)
};

// The tokens of text, always ending with kEnd. InvalidArgument "line L, column C: ..." on a bad
// character, an unterminated string, a bad escape or invalid UTF-8.
Result<std::vector<Token>> Lex(std::string_view text);

// "'word'", "string \"abc\"", "number 3", "'('", "end of input": for "found ..." in errors.
std::string Describe(const Token& token);
// "line L, column C".
std::string Where(const Token& token);
// An identifier equal to keyword (given in lower case), ignoring case.
bool IsKeyword(const Token& token, std::string_view keyword);
// "..." with ", \ and control characters escaped, ready for the text form.
std::string Quote(std::string_view s);

}  // namespace tessera::audience::internal
