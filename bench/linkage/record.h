// A person record in the FEBRL layout, and the file format shared with the FEBRL data sets.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace tessera::bench::linkgen {

enum Field : int {
  kGivenName = 0,
  kSurname,
  kStreetNumber,
  kAddress1,
  kAddress2,
  kSuburb,
  kPostcode,
  kState,
  kDateOfBirth,
  kSocSecId,
  kNumFields,
};

inline constexpr std::array<std::string_view, kNumFields> kFieldNames = {
    "given_name", "surname",  "street_number", "address_1",     "address_2",
    "suburb",     "postcode", "state",         "date_of_birth", "soc_sec_id"};

// FEBRL's header line, byte for byte (comma + space separated).
inline constexpr std::string_view kFebrlHeader =
    "rec_id, given_name, surname, street_number, address_1, address_2, suburb, postcode, state, "
    "date_of_birth, soc_sec_id";

inline constexpr std::string_view kTruthHeader = "rec_id_l,rec_id_r";

// Field values without the record id. A missing value is the empty string. Values never contain
// a comma (the format has no quoting).
struct Record {
  std::array<std::string, kNumFields> f;
  bool operator==(const Record&) const = default;
};

}  // namespace tessera::bench::linkgen
