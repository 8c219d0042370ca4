#include "audience/column.h"

#include <cmath>
#include <limits>

namespace tessera::audience {

ValueRef Column::Ref(size_t row, bool with_text, std::string* text) const {
  ValueRef r;
  switch (types_[row]) {
    case ValueType::kInt:
      r.kind = ValueRef::Kind::kNumber;
      r.number = static_cast<double>(int_value(row));
      r.time = int_value(row);
      break;
    case ValueType::kFloat:
      r.kind = ValueRef::Kind::kNumber;
      r.number = float_value(row);
      r.time = FloatAsTime(r.number);
      break;
    case ValueType::kString:
      r.kind = ValueRef::Kind::kString;
      r.string = strings_[string_code(row)];
      r.time = string_times_[string_code(row)];
      break;
    case ValueType::kTime:
      r.kind = ValueRef::Kind::kString;
      r.time = time_value(row);
      if (with_text) {
        *text = FormatIso8601(time_value(row));
        r.string = *text;
      }
      break;
    case ValueType::kBool:
      r.kind = ValueRef::Kind::kBool;
      r.boolean = bool_value(row);
      break;
    case ValueType::kJson:
      return ValueRef::Of(json_value(row));
    case ValueType::kMissing:
      break;
  }
  return r;
}

nlohmann::json Column::ToJson(size_t row) const {
  switch (types_[row]) {
    case ValueType::kInt:
      return int_value(row);
    case ValueType::kFloat:
      return float_value(row);
    case ValueType::kString:
      return strings_[string_code(row)];
    case ValueType::kTime:
      return FormatIso8601(time_value(row));
    case ValueType::kBool:
      return bool_value(row);
    case ValueType::kJson:
      return json_value(row);
    case ValueType::kMissing:
      break;
  }
  return nullptr;
}

void Column::Set(size_t row, const nlohmann::json* value) {
  if (value == nullptr || value->is_null()) {
    Put(row, ValueType::kMissing, 0);
  } else if (value->is_string()) {
    SetString(row, value->get_ref<const std::string&>());
  } else if (value->is_number_unsigned() &&
             value->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    Put(row, ValueType::kJson, json_.size());
    json_.push_back(*value);
  } else if (value->is_number_integer()) {  // signed, or unsigned that fits
    SetInt(row, value->get<int64_t>());
  } else if (value->is_number_float()) {
    SetFloat(row, value->get<double>());
  } else if (value->is_boolean()) {
    SetBool(row, value->get<bool>());
  } else {
    Put(row, ValueType::kJson, json_.size());
    json_.push_back(*value);
  }
}

void Column::SetString(size_t row, std::string_view value) {
  if (std::optional<TimeMs> t = ParseIso8601(value); t && FormatIso8601(*t) == value) {
    Put(row, ValueType::kTime, static_cast<uint64_t>(*t));
    return;
  }
  auto [it, inserted] = intern_.try_emplace(std::string(value), strings_.size());
  if (inserted) {
    strings_.emplace_back(value);
    string_times_.push_back(ParseIso8601(value));
  }
  Put(row, ValueType::kString, it->second);
}

void Column::SetFloat(size_t row, double value) {
  if (std::isnan(value)) {  // kept as JSON: a NaN is neither a number nor a date to the tests
    Put(row, ValueType::kJson, json_.size());
    json_.emplace_back(value);
    return;
  }
  Put(row, ValueType::kFloat, std::bit_cast<uint64_t>(value));
}

void Column::Permute(const std::vector<uint64_t>& order) {
  std::vector<ValueType> types(order.size());
  std::vector<uint64_t> payload(order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    types[i] = types_[order[i]];
    payload[i] = payload_[order[i]];
  }
  types_ = std::move(types);
  payload_ = std::move(payload);
}

void Column::FinishBuilding() {
  intern_ = {};
  types_.shrink_to_fit();  // rows were added one by one: drop the growth slack
  payload_.shrink_to_fit();
}

size_t Column::MemoryBytes() const {
  size_t bytes = types_.capacity() + payload_.capacity() * sizeof(uint64_t) +
                 strings_.capacity() * sizeof(std::string) +
                 string_times_.capacity() * sizeof(std::optional<TimeMs>) +
                 json_.capacity() * sizeof(nlohmann::json);
  for (const std::string& s : strings_) {
    if (s.capacity() > 15) bytes += s.capacity() + 1;  // beyond the small-string buffer
  }
  return bytes;
}

}  // namespace tessera::audience
