// Character-level edits used by the corruptor: keyboard slips, FEBRL's error position, OCR and
// phonetic rewrite rules. Stateless; thread-safe.
#pragma once

#include <cstddef>
#include <string>

#include "bench/linkage/rng.h"

namespace tessera::bench::linkgen {

// A random letter (or digit if digit) other than c.
char RandomOther(char c, bool digit, Rng& rng);

// A typo for c, as FEBRL: 40% a QWERTY neighbour in the same row, 30% one in the rows above or
// below (letters only), else any other letter or digit.
char KeyboardTypo(char c, bool digit, Rng& rng);

// FEBRL's error position in a string of len characters: Gauss(mean (len + offset) / 2 + 1,
// sd 1) clamped to [0, len - 1 + offset]; -1 if that range is empty.
int ErrorPosition(size_t len, int offset, Rng& rng);

// One OCR confusion (letters: s->5, m->rn, cl->d ...; digits: 0<->8, 1<->7 ..., rarely 5->s)
// at a random place where one applies. False if none applies.
bool ApplyOcr(std::string* v, bool digit, Rng& rng);

// One phonetic rewrite (ph<->f, c<->k, final ie<->y, mac<->mc ...) at a random place where one
// applies. False if none applies.
bool ApplyPhonetic(std::string* v, Rng& rng);

}  // namespace tessera::bench::linkgen
