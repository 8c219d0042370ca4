#include "audience/lexer.h"

#include "audience/internal.h"

namespace tessera::audience::internal {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    *out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    *out += static_cast<char>(0xC0 | (cp >> 6));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *out += static_cast<char>(0xE0 | (cp >> 12));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *out += static_cast<char>(0xF0 | (cp >> 18));
    *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  Result<std::vector<Token>> Run() {
    std::vector<Token> tokens;
    while (true) {
      SkipSpace();
      Token t;
      t.line = line_;
      t.column = column_;
      if (pos_ == text_.size()) {
        tokens.push_back(std::move(t));
        return tokens;
      }
      char c = text_[pos_];
      if (IsIdentStart(c)) {
        t.kind = TokenKind::kIdent;
        size_t start = pos_;
        while (pos_ < text_.size() && (IsIdentStart(text_[pos_]) || IsDigit(text_[pos_])))
          Advance();
        t.text = text_.substr(start, pos_ - start);
      } else if (c == '"') {
        TESSERA_RETURN_IF_ERROR(String(&t));
      } else if (c == '-' || IsDigit(c)) {
        TESSERA_RETURN_IF_ERROR(Number(&t));
      } else if (!Symbol(&t)) {
        std::string shown =
            static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f
                ? std::string(1, c)
                : "\\x" + std::string(1, "0123456789abcdef"[(c >> 4) & 0xF]) +
                      "0123456789abcdef"[c & 0xF];
        return Error(t, "unexpected character '" + shown + "'");
      }
      tokens.push_back(std::move(t));
    }
  }

 private:
  static Status Error(const Token& at, const std::string& what) {
    return Status::InvalidArgument(Where(at) + ": " + what);
  }

  // Columns count code points: UTF-8 continuation bytes do not move the column.
  void Advance() {
    char c = text_[pos_++];
    if (c == '\n') {
      ++line_;
      column_ = 1;
    } else if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) {
      ++column_;
    }
  }

  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\r' || text_[pos_] == '\n')) {
      Advance();
    }
  }

  bool Symbol(Token* t) {
    struct Sym {
      std::string_view text;
      TokenKind kind;
    };
    static constexpr Sym kSymbols[] = {
        {"!=", TokenKind::kNe},      {"<=", TokenKind::kLe},    {">=", TokenKind::kGe},
        {"=", TokenKind::kEq},       {"<", TokenKind::kLt},     {">", TokenKind::kGt},
        {"(", TokenKind::kLParen},   {")", TokenKind::kRParen}, {"[", TokenKind::kLBracket},
        {"]", TokenKind::kRBracket}, {",", TokenKind::kComma},  {".", TokenKind::kDot}};
    for (const Sym& s : kSymbols) {
      if (text_.substr(pos_, s.text.size()) == s.text) {
        t->kind = s.kind;
        t->text = s.text;
        for (size_t i = 0; i < s.text.size(); ++i) Advance();
        return true;
      }
    }
    return false;
  }

  Status Number(Token* t) {
    t->kind = TokenKind::kNumber;
    size_t start = pos_;
    auto digits = [this] {
      size_t n = 0;
      while (pos_ < text_.size() && IsDigit(text_[pos_])) Advance(), ++n;
      return n;
    };
    if (text_[pos_] == '-') Advance();
    bool leading_zero = pos_ < text_.size() && text_[pos_] == '0';
    size_t int_digits = digits();
    bool ok = int_digits > 0 && !(leading_zero && int_digits > 1);
    if (ok && pos_ < text_.size() && text_[pos_] == '.') {
      Advance();
      ok = digits() > 0;
    }
    if (ok && pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      Advance();
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) Advance();
      ok = digits() > 0;
    }
    // A number runs into no letter: "3days" is a typo, not two tokens.
    if (ok && pos_ < text_.size() && (IsIdentStart(text_[pos_]) || IsDigit(text_[pos_])))
      ok = false;
    if (!ok) {
      while (pos_ < text_.size() && (IsIdentStart(text_[pos_]) || IsDigit(text_[pos_]) ||
                                     text_[pos_] == '.' || text_[pos_] == '-')) {
        Advance();
      }
      return Error(*t, "malformed number '" + std::string(text_.substr(start, pos_ - start)) + "'");
    }
    t->text = text_.substr(start, pos_ - start);
    return Status::Ok();
  }

  Result<uint32_t> Hex4(const Token& at) {
    if (pos_ + 4 > text_.size()) return Error(at, "bad \\u escape in string");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = text_[pos_];
      int d = IsDigit(c)               ? c - '0'
              : (c >= 'a' && c <= 'f') ? c - 'a' + 10
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                       : -1;
      if (d < 0) return Error(at, "bad \\u escape in string");
      v = v * 16 + static_cast<uint32_t>(d);
      Advance();
    }
    return v;
  }

  Status String(Token* t) {
    t->kind = TokenKind::kString;
    Advance();  // opening quote
    while (true) {
      if (pos_ == text_.size() || text_[pos_] == '\n') return Error(*t, "unterminated string");
      char c = text_[pos_];
      if (c == '"') {
        Advance();
        break;
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        return Error(*t, "control character in string (write it as an escape like \\t)");
      }
      if (c != '\\') {
        t->text += c;
        Advance();
        continue;
      }
      Token esc;
      esc.line = line_;
      esc.column = column_;
      Advance();
      if (pos_ == text_.size()) return Error(*t, "unterminated string");
      char e = text_[pos_];
      Advance();
      switch (e) {
        case '"':
          t->text += '"';
          break;
        case '\\':
          t->text += '\\';
          break;
        case '/':
          t->text += '/';
          break;
        case 'b':
          t->text += '\b';
          break;
        case 'f':
          t->text += '\f';
          break;
        case 'n':
          t->text += '\n';
          break;
        case 'r':
          t->text += '\r';
          break;
        case 't':
          t->text += '\t';
          break;
        case 'u': {
          TESSERA_ASSIGN_OR_RETURN(uint32_t cp, Hex4(esc));
          if (cp >= 0xDC00 && cp <= 0xDFFF) return Error(esc, "lone surrogate in \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (text_.substr(pos_, 2) != "\\u") return Error(esc, "lone surrogate in \\u escape");
            Advance();
            Advance();
            TESSERA_ASSIGN_OR_RETURN(uint32_t low, Hex4(esc));
            if (low < 0xDC00 || low > 0xDFFF) return Error(esc, "lone surrogate in \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          AppendUtf8(cp, &t->text);
          break;
        }
        default:
          return Error(esc, "bad escape in string (use \\\", \\\\, \\n, \\t or \\uXXXX)");
      }
    }
    if (!IsValidUtf8(t->text)) return Error(*t, "invalid UTF-8 in string");
    return Status::Ok();
  }

  std::string_view text_;
  size_t pos_ = 0;
  int line_ = 1;
  int column_ = 1;
};

}  // namespace

Result<std::vector<Token>> Lex(std::string_view text) { return Lexer(text).Run(); }

std::string Where(const Token& token) {
  return "line " + std::to_string(token.line) + ", column " + std::to_string(token.column);
}

std::string Describe(const Token& token) {
  switch (token.kind) {
    case TokenKind::kEnd:
      return "end of input";
    case TokenKind::kString: {
      constexpr size_t kShown = 30;
      if (token.text.size() <= kShown) return "string " + Quote(token.text);
      size_t cut = kShown;
      while (cut > 0 && (static_cast<unsigned char>(token.text[cut]) & 0xC0) == 0x80) --cut;
      std::string shown = Quote(token.text.substr(0, cut));
      shown.insert(shown.size() - 1, "...");
      return "string " + shown;
    }
    case TokenKind::kNumber:
      return "number " + token.text;
    default:
      return "'" + token.text + "'";
  }
}

bool IsKeyword(const Token& token, std::string_view keyword) {
  if (token.kind != TokenKind::kIdent || token.text.size() != keyword.size()) return false;
  for (size_t i = 0; i < keyword.size(); ++i) {
    char c = token.text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != keyword[i]) return false;
  }
  return true;
}

std::string Quote(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          out += "\\u00";
          out += kHex[u >> 4];
          out += kHex[u & 0xF];
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

}  // namespace tessera::audience::internal
