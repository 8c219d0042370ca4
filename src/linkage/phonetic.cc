// Double Metaphone, rule for rule after Lawrence Philips' C++ original (dmetaph.cpp, 1998-2000).
// The original's comments naming example words are kept: they are the rules' only rationale.
// Its string helpers are reproduced exactly: the word is conceptually followed by spaces
// (the original padded it with five), positions before the start match nothing, and IsVowel is
// false outside the word.
#include "linkage/phonetic.h"

#include <utf8proc.h>

#include <cstdint>
#include <initializer_list>
#include <limits>

#include "linkage/normalize.h"

namespace tessera::linkage {
namespace {

// Internal stand-ins for the two non-ASCII letters the original handles (its Latin-1 bytes).
constexpr char kCedilla = '\xC7';  // Ç
constexpr char kEnye = '\xD1';     // Ñ

constexpr utf8proc_option_t kFoldOptions = static_cast<utf8proc_option_t>(
    UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_IGNORE);

// The Latin letters without a decomposition that still have an obvious ASCII spelling
// (case-folded forms).
const char* LatinLetterSpelling(char32_t cp) {
  switch (cp) {
    case 0x00E6:
      return "AE";  // æ
    case 0x0153:
      return "OE";  // œ
    case 0x00F8:
      return "O";  // ø
    case 0x0142:
      return "L";  // ł
    case 0x0111:
      return "D";  // đ
    case 0x00F0:
      return "D";  // ð
    case 0x00FE:
      return "TH";  // þ
    case 0x0131:
      return "I";  // dotless i
    default:
      return nullptr;
  }
}

// Upper-case ASCII letters plus kCedilla/kEnye, words separated by single spaces (phonetic.h).
std::string PrepareWord(std::string_view word) {
  std::string out;
  bool pending_space = false;
  const auto emit = [&](std::string_view letters) {
    if (pending_space && !out.empty()) out += ' ';
    pending_space = false;
    out += letters;
  };
  for (size_t pos = 0; pos < word.size();) {
    const char32_t cp = DecodeUtf8Lenient(word, &pos);
    if (IsApostrophe(cp)) continue;
    if (cp == 0x00C7 || cp == 0x00E7) {
      emit(std::string_view(&kCedilla, 1));
      continue;
    }
    if (cp == 0x00D1 || cp == 0x00F1) {
      emit(std::string_view(&kEnye, 1));
      continue;
    }
    // The decomposed spellings "C" + U+0327 and "N" + U+0303 of the two letters above.
    if (cp == 0x0327 && !pending_space && !out.empty() && out.back() == 'C') {
      out.back() = kCedilla;
      continue;
    }
    if (cp == 0x0303 && !pending_space && !out.empty() && out.back() == 'N') {
      out.back() = kEnye;
      continue;
    }
    utf8proc_int32_t folded[32];
    utf8proc_ssize_t n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), folded, 32,
                                                 kFoldOptions, nullptr);
    if (n < 0 || n > 32) n = 0;  // no name letter expands that far
    for (utf8proc_ssize_t i = 0; i < n; ++i) {
      const char32_t d = static_cast<char32_t>(folded[i]);
      if (d >= 'a' && d <= 'z') {
        const char upper = static_cast<char>(d - 'a' + 'A');
        emit(std::string_view(&upper, 1));
      } else if (const char* spelling = LatinLetterSpelling(d)) {
        emit(spelling);
      } else if ((d >= '0' && d <= '9') || d == ' ') {
        pending_space = true;
      } else {
        switch (utf8proc_category(static_cast<utf8proc_int32_t>(d))) {
          case UTF8PROC_CATEGORY_LU:
          case UTF8PROC_CATEGORY_LL:
          case UTF8PROC_CATEGORY_LT:
          case UTF8PROC_CATEGORY_LM:
          case UTF8PROC_CATEGORY_LO:  // letters of other scripts: dropped
          case UTF8PROC_CATEGORY_MN:
          case UTF8PROC_CATEGORY_MC:
          case UTF8PROC_CATEGORY_ME:  // accents: dropped
          case UTF8PROC_CATEGORY_CF:
          case UTF8PROC_CATEGORY_CN:
          case UTF8PROC_CATEGORY_CO:
          case UTF8PROC_CATEGORY_CS:
            break;
          default:
            pending_space = true;
        }
      }
    }
  }
  return out;
}

class Encoder {
 public:
  Encoder(std::string_view word, size_t max_length)
      : w_(word),
        length_(static_cast<int>(word.size())),
        last_(length_ - 1),
        max_(max_length == 0 ? std::numeric_limits<size_t>::max() : max_length) {
    slavo_germanic_ =
        word.find('W') != std::string_view::npos || word.find('K') != std::string_view::npos ||
        word.find("CZ") != std::string_view::npos || word.find("WITZ") != std::string_view::npos;
  }

  PhoneticCodes Encode();

 private:
  char At(int i) const {
    if (i < 0) return '\0';
    return i < length_ ? w_[static_cast<size_t>(i)] : ' ';
  }
  // The original's StringAt for one candidate: s occurs at position start.
  bool Match(int start, std::string_view s) const {
    if (start < 0) return false;
    for (size_t k = 0; k < s.size(); ++k) {
      if (At(start + static_cast<int>(k)) != s[k]) return false;
    }
    return true;
  }
  bool MatchAny(int start, std::initializer_list<std::string_view> options) const {
    for (const std::string_view s : options) {
      if (Match(start, s)) return true;
    }
    return false;
  }
  bool IsVowel(int i) const {
    if (i < 0 || i >= length_) return false;
    const char c = w_[static_cast<size_t>(i)];
    return c == 'A' || c == 'E' || c == 'I' || c == 'O' || c == 'U' || c == 'Y';
  }
  bool Germanic() const { return MatchAny(0, {"VAN ", "VON "}) || Match(0, "SCH"); }

  // The original's MetaphAdd: one code for both, or a main and an alternate code where an
  // alternate of " " means "nothing for the alternate".
  void Add(std::string_view both) {
    primary_ += both;
    secondary_ += both;
  }
  void Add(std::string_view main, std::string_view alt) {
    primary_ += main;
    if (!alt.empty()) {
      if (alt[0] != ' ') secondary_ += alt;
    } else if (!main.empty() && main[0] != ' ') {
      secondary_ += main;
    }
  }

  // Each returns the position after the letters it consumed.
  int C(int current);
  int D(int current);
  int G(int current);
  int J(int current);
  int L(int current);
  int S(int current);
  int T(int current);
  int W(int current);
  int X(int current);
  int Z(int current);
  // A letter coded as `code`, with a doubled `twin` skipped.
  int Simple(int current, char twin, std::string_view code) {
    Add(code);
    return At(current + 1) == twin ? current + 2 : current + 1;
  }

  const std::string_view w_;
  const int length_;
  const int last_;
  const size_t max_;
  bool slavo_germanic_ = false;
  std::string primary_;
  std::string secondary_;
};

PhoneticCodes Encoder::Encode() {
  int current = 0;
  // Skip these when at start of word.
  if (MatchAny(0, {"GN", "KN", "PN", "WR", "PS"})) current = 1;
  // Initial 'X' is pronounced 'Z' e.g. 'Xavier'.
  if (At(0) == 'X') {
    Add("S");
    current = 1;
  }
  while ((primary_.size() < max_ || secondary_.size() < max_) && current < length_) {
    switch (At(current)) {
      case 'A':
      case 'E':
      case 'I':
      case 'O':
      case 'U':
      case 'Y':
        if (current == 0) Add("A");  // all initial vowels map to 'A'
        current += 1;
        break;
      case 'B':
        current = Simple(current, 'B', "P");  // "-mb", e.g. "dumb", already skipped over
        break;
      case kCedilla:
        Add("S");
        current += 1;
        break;
      case 'C':
        current = C(current);
        break;
      case 'D':
        current = D(current);
        break;
      case 'F':
        current = Simple(current, 'F', "F");
        break;
      case 'G':
        current = G(current);
        break;
      case 'H':
        // Only keep if first & before vowel or between 2 vowels; also takes care of 'HH'.
        if ((current == 0 || IsVowel(current - 1)) && IsVowel(current + 1)) {
          Add("H");
          current += 2;
        } else {
          current += 1;
        }
        break;
      case 'J':
        current = J(current);
        break;
      case 'K':
        current = Simple(current, 'K', "K");
        break;
      case 'L':
        current = L(current);
        break;
      case 'M':
        Add("M");
        // 'dumb', 'thumb'
        if ((Match(current - 1, "UMB") && (current + 1 == last_ || Match(current + 2, "ER"))) ||
            At(current + 1) == 'M') {
          current += 2;
        } else {
          current += 1;
        }
        break;
      case 'N':
        current = Simple(current, 'N', "N");
        break;
      case kEnye:
        Add("N");
        current += 1;
        break;
      case 'P':
        if (At(current + 1) == 'H') {
          Add("F");
          current += 2;
          break;
        }
        // Also account for "campbell", "raspberry".
        Add("P");
        current += MatchAny(current + 1, {"P", "B"}) ? 2 : 1;
        break;
      case 'Q':
        current = Simple(current, 'Q', "K");
        break;
      case 'R':
        // French e.g. 'rogier', but exclude 'hochmeier'.
        if (current == last_ && !slavo_germanic_ && Match(current - 2, "IE") &&
            !MatchAny(current - 4, {"ME", "MA"})) {
          Add("", "R");
        } else {
          Add("R");
        }
        current += At(current + 1) == 'R' ? 2 : 1;
        break;
      case 'S':
        current = S(current);
        break;
      case 'T':
        current = T(current);
        break;
      case 'V':
        current = Simple(current, 'V', "F");
        break;
      case 'W':
        current = W(current);
        break;
      case 'X':
        current = X(current);
        break;
      case 'Z':
        current = Z(current);
        break;
      default:  // spaces
        current += 1;
    }
  }
  if (primary_.size() > max_) primary_.resize(max_);
  if (secondary_.size() > max_) secondary_.resize(max_);
  return PhoneticCodes{std::move(primary_), std::move(secondary_)};
}

int Encoder::C(int current) {
  // Various Germanic.
  if (current > 1 && !IsVowel(current - 2) && Match(current - 1, "ACH") && At(current + 2) != 'I' &&
      (At(current + 2) != 'E' || MatchAny(current - 2, {"BACHER", "MACHER"}))) {
    Add("K");
    return current + 2;
  }
  // Special case 'caesar'.
  if (current == 0 && Match(current, "CAESAR")) {
    Add("S");
    return current + 2;
  }
  // Italian 'chianti'.
  if (Match(current, "CHIA")) {
    Add("K");
    return current + 2;
  }
  if (Match(current, "CH")) {
    // Find 'michael'.
    if (current > 0 && Match(current, "CHAE")) {
      Add("K", "X");
      return current + 2;
    }
    // Greek roots e.g. 'chemistry', 'chorus'.
    if (current == 0 &&
        (MatchAny(current + 1, {"HARAC", "HARIS"}) ||
         MatchAny(current + 1, {"HOR", "HYM", "HIA", "HEM"})) &&
        !Match(0, "CHORE")) {
      Add("K");
      return current + 2;
    }
    // Germanic, Greek, or otherwise 'ch' for 'kh' sound.
    if (Germanic() ||
        // 'architect' but not 'arch', 'orchestra', 'orchid'
        MatchAny(current - 2, {"ORCHES", "ARCHIT", "ORCHID"}) ||
        MatchAny(current + 2, {"T", "S"}) ||
        ((MatchAny(current - 1, {"A", "O", "U", "E"}) || current == 0) &&
         // e.g. 'wachtler', 'wechsler', but not 'tichner'
         MatchAny(current + 2, {"L", "R", "N", "M", "B", "H", "F", "V", "W", " "}))) {
      Add("K");
    } else if (current > 0) {
      if (Match(0, "MC")) {
        Add("K");  // e.g. "McHugh"
      } else {
        Add("X", "K");
      }
    } else {
      Add("X");
    }
    return current + 2;
  }
  // E.g. 'czerny'.
  if (Match(current, "CZ") && !Match(current - 2, "WICZ")) {
    Add("S", "X");
    return current + 2;
  }
  // E.g. 'focaccia'.
  if (Match(current + 1, "CIA")) {
    Add("X");
    return current + 3;
  }
  // Double 'C', but not if e.g. 'McClellan'.
  if (Match(current, "CC") && !(current == 1 && At(0) == 'M')) {
    // 'bellocchio' but not 'bacchus'
    if (MatchAny(current + 2, {"I", "E", "H"}) && !Match(current + 2, "HU")) {
      // 'accident', 'accede', 'succeed'
      if ((current == 1 && At(current - 1) == 'A') || MatchAny(current - 1, {"UCCEE", "UCCES"})) {
        Add("KS");
      } else {
        Add("X");  // 'bacci', 'bertucci', other Italian
      }
      return current + 3;
    }
    Add("K");  // Pierce's rule
    return current + 2;
  }
  if (MatchAny(current, {"CK", "CG", "CQ"})) {
    Add("K");
    return current + 2;
  }
  if (MatchAny(current, {"CI", "CE", "CY"})) {
    // Italian vs. English.
    if (MatchAny(current, {"CIO", "CIE", "CIA"})) {
      Add("S", "X");
    } else {
      Add("S");
    }
    return current + 2;
  }
  Add("K");
  // Name sent in 'mac caffrey', 'mac gregor'.
  if (MatchAny(current + 1, {" C", " Q", " G"})) return current + 3;
  if (MatchAny(current + 1, {"C", "K", "Q"}) && !MatchAny(current + 1, {"CE", "CI"})) {
    return current + 2;
  }
  return current + 1;
}

int Encoder::D(int current) {
  if (Match(current, "DG")) {
    if (MatchAny(current + 2, {"I", "E", "Y"})) {
      Add("J");  // e.g. 'edge'
      return current + 3;
    }
    Add("TK");  // e.g. 'edgar'
    return current + 2;
  }
  if (MatchAny(current, {"DT", "DD"})) {
    Add("T");
    return current + 2;
  }
  Add("T");
  return current + 1;
}

int Encoder::G(int current) {
  if (At(current + 1) == 'H') {
    if (current > 0 && !IsVowel(current - 1)) {
      Add("K");
      return current + 2;
    }
    // 'ghislane', 'ghiradelli'
    if (current == 0) {
      Add(At(current + 2) == 'I' ? "J" : "K");
      return current + 2;
    }
    // Parker's rule (with some further refinements) - e.g. 'hugh'
    if ((current > 1 && MatchAny(current - 2, {"B", "H", "D"})) ||
        // e.g. 'bough'
        (current > 2 && MatchAny(current - 3, {"B", "H", "D"})) ||
        // e.g. 'broughton'
        (current > 3 && MatchAny(current - 4, {"B", "H"}))) {
      return current + 2;
    }
    // E.g. 'laugh', 'McLaughlin', 'cough', 'gough', 'rough', 'tough'.
    if (current > 2 && At(current - 1) == 'U' && MatchAny(current - 3, {"C", "G", "L", "R", "T"})) {
      Add("F");
    } else if (current > 0 && At(current - 1) != 'I') {
      Add("K");
    }
    return current + 2;
  }
  if (At(current + 1) == 'N') {
    if (current == 1 && IsVowel(0) && !slavo_germanic_) {
      Add("KN", "N");
    } else if (!Match(current + 2, "EY") && At(current + 1) != 'Y' && !slavo_germanic_) {
      Add("N", "KN");  // not e.g. 'cagney'
    } else {
      Add("KN");
    }
    return current + 2;
  }
  // 'tagliaro'
  if (Match(current + 1, "LI") && !slavo_germanic_) {
    Add("KL", "L");
    return current + 2;
  }
  // -ges-, -gep-, -gel-, -gie- at beginning.
  if (current == 0 &&
      (At(current + 1) == 'Y' ||
       MatchAny(current + 1, {"ES", "EP", "EB", "EL", "EY", "IB", "IL", "IN", "IE", "EI", "ER"}))) {
    Add("K", "J");
    return current + 2;
  }
  // -ger-, -gy-
  if ((Match(current + 1, "ER") || At(current + 1) == 'Y') &&
      !MatchAny(0, {"DANGER", "RANGER", "MANGER"}) && !MatchAny(current - 1, {"E", "I"}) &&
      !MatchAny(current - 1, {"RGY", "OGY"})) {
    Add("K", "J");
    return current + 2;
  }
  // Italian e.g. 'biaggi'.
  if (MatchAny(current + 1, {"E", "I", "Y"}) || MatchAny(current - 1, {"AGGI", "OGGI"})) {
    if (Germanic() || Match(current + 1, "ET")) {
      Add("K");  // obvious Germanic
    } else if (Match(current + 1, "IER ")) {
      Add("J");  // always soft if French ending
    } else {
      Add("J", "K");
    }
    return current + 2;
  }
  return Simple(current, 'G', "K");
}

int Encoder::J(int current) {
  // Obvious Spanish, 'jose', 'san jacinto'.
  if (Match(current, "JOSE") || Match(0, "SAN ")) {
    if ((current == 0 && At(current + 4) == ' ') || Match(0, "SAN ")) {
      Add("H");
    } else {
      Add("J", "H");
    }
    return current + 1;
  }
  if (current == 0 && !Match(current, "JOSE")) {
    Add("J", "A");  // Yankelovich/Jankelowicz
  } else if (IsVowel(current - 1) && !slavo_germanic_ &&
             (At(current + 1) == 'A' || At(current + 1) == 'O')) {
    Add("J", "H");  // Spanish pronunciation of e.g. 'bajador'
  } else if (current == last_) {
    Add("J", " ");
  } else if (!MatchAny(current + 1, {"L", "T", "K", "S", "N", "M", "B", "Z"}) &&
             !MatchAny(current - 1, {"S", "K", "L"})) {
    Add("J");
  }
  return At(current + 1) == 'J' ? current + 2 : current + 1;  // it could happen!
}

int Encoder::L(int current) {
  if (At(current + 1) == 'L') {
    // Spanish e.g. 'cabrillo', 'gallegos'.
    if ((current == length_ - 3 && MatchAny(current - 1, {"ILLO", "ILLA", "ALLE"})) ||
        ((MatchAny(last_ - 1, {"AS", "OS"}) || MatchAny(last_, {"A", "O"})) &&
         Match(current - 1, "ALLE"))) {
      Add("L", " ");
      return current + 2;
    }
    Add("L");
    return current + 2;
  }
  Add("L");
  return current + 1;
}

int Encoder::S(int current) {
  // Special cases 'island', 'isle', 'carlisle', 'carlysle'.
  if (MatchAny(current - 1, {"ISL", "YSL"})) return current + 1;
  // Special case 'sugar-'.
  if (current == 0 && Match(current, "SUGAR")) {
    Add("X", "S");
    return current + 1;
  }
  if (Match(current, "SH")) {
    // Germanic.
    if (MatchAny(current + 1, {"HEIM", "HOEK", "HOLM", "HOLZ"})) {
      Add("S");
    } else {
      Add("X");
    }
    return current + 2;
  }
  // Italian & Armenian.
  if (MatchAny(current, {"SIO", "SIA"}) || Match(current, "SIAN")) {
    if (!slavo_germanic_) {
      Add("S", "X");
    } else {
      Add("S");
    }
    return current + 3;
  }
  // German & anglicisations, e.g. 'smith' match 'schmidt', 'snider' match 'schneider'; also -sz-
  // in Slavic languages, although in Hungarian it is pronounced 's'.
  if ((current == 0 && MatchAny(current + 1, {"M", "N", "L", "W"})) || Match(current + 1, "Z")) {
    Add("S", "X");
    return Match(current + 1, "Z") ? current + 2 : current + 1;
  }
  if (Match(current, "SC")) {
    // Schlesinger's rule.
    if (At(current + 2) == 'H') {
      // Dutch origin, e.g. 'school', 'schooner'.
      if (MatchAny(current + 3, {"OO", "ER", "EN", "UY", "ED", "EM"})) {
        // 'schermerhorn', 'schenker'
        if (MatchAny(current + 3, {"ER", "EN"})) {
          Add("X", "SK");
        } else {
          Add("SK");
        }
        return current + 3;
      }
      if (current == 0 && !IsVowel(3) && At(3) != 'W') {
        Add("X", "S");
      } else {
        Add("X");
      }
      return current + 3;
    }
    if (MatchAny(current + 2, {"I", "E", "Y"})) {
      Add("S");
      return current + 3;
    }
    Add("SK");
    return current + 3;
  }
  // French e.g. 'resnais', 'artois'.
  if (current == last_ && MatchAny(current - 2, {"AI", "OI"})) {
    Add("", "S");
  } else {
    Add("S");
  }
  return MatchAny(current + 1, {"S", "Z"}) ? current + 2 : current + 1;
}

int Encoder::T(int current) {
  if (Match(current, "TION")) {
    Add("X");
    return current + 3;
  }
  if (MatchAny(current, {"TIA", "TCH"})) {
    Add("X");
    return current + 3;
  }
  if (Match(current, "TH") || Match(current, "TTH")) {
    // Special case 'thomas', 'thames' or Germanic.
    if (MatchAny(current + 2, {"OM", "AM"}) || Germanic()) {
      Add("T");
    } else {
      Add("0", "T");
    }
    return current + 2;
  }
  Add("T");
  return MatchAny(current + 1, {"T", "D"}) ? current + 2 : current + 1;
}

int Encoder::W(int current) {
  // Can also be in the middle of a word.
  if (Match(current, "WR")) {
    Add("R");
    return current + 2;
  }
  if (current == 0 && (IsVowel(current + 1) || Match(current, "WH"))) {
    // Wasserman should match Vasserman.
    if (IsVowel(current + 1)) {
      Add("A", "F");
    } else {
      Add("A");  // need Uomo to match Womo
    }
  }
  // Arnow should match Arnoff.
  if ((current == last_ && IsVowel(current - 1)) ||
      MatchAny(current - 1, {"EWSKI", "EWSKY", "OWSKI", "OWSKY"}) || Match(0, "SCH")) {
    Add("", "F");
    return current + 1;
  }
  // Polish e.g. 'filipowicz'.
  if (MatchAny(current, {"WICZ", "WITZ"})) {
    Add("TS", "FX");
    return current + 4;
  }
  return current + 1;  // else skip it
}

int Encoder::X(int current) {
  // French e.g. breaux.
  if (!(current == last_ &&
        (MatchAny(current - 3, {"IAU", "EAU"}) || MatchAny(current - 2, {"AU", "OU"})))) {
    Add("KS");
  }
  return MatchAny(current + 1, {"C", "X"}) ? current + 2 : current + 1;
}

int Encoder::Z(int current) {
  // Chinese pinyin e.g. 'zhao'.
  if (At(current + 1) == 'H') {
    Add("J");
    return current + 2;
  }
  if (MatchAny(current + 1, {"ZO", "ZI", "ZA"}) ||
      (slavo_germanic_ && current > 0 && At(current - 1) != 'T')) {
    Add("S", "TS");
  } else {
    Add("S");
  }
  return At(current + 1) == 'Z' ? current + 2 : current + 1;
}

}  // namespace

PhoneticCodes DoubleMetaphone(std::string_view word, size_t max_length) {
  const std::string prepared = PrepareWord(word);
  if (prepared.empty()) return {};
  return Encoder(prepared, max_length).Encode();
}

}  // namespace tessera::linkage
