#include "linkage/server_state.h"

#include <nlohmann/json.hpp>

#include "core/coding.h"

namespace tessera::linkage::state {
namespace {

using nlohmann::json;

Result<json> ParseObject(std::string_view text, const char* what) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return Status::Corruption(std::string("malformed linkage ") + what);
  return j;
}

// Runs `read` over a parsed record, turning a missing or mistyped member into Corruption.
template <typename T, typename Fn>
Result<T> Read(std::string_view text, const char* what, Fn&& read) {
  TESSERA_ASSIGN_OR_RETURN(json j, ParseObject(text, what));
  T out;
  try {
    read(j, &out);
  } catch (const json::exception& e) {
    return Status::Corruption(std::string("malformed linkage ") + what + ": " + e.what());
  }
  return out;
}

}  // namespace

std::string EncodeModel(const StoredModel& m) {
  json history = json::array();
  for (const Training& t : m.history) {
    history.push_back({{"generation", t.generation}, {"at", t.at}, {"trigger", t.trigger},
                       {"reason", t.reason}, {"population", t.population},
                       {"profiles", t.profiles}});
  }
  json j = {{"generation", m.generation},  {"settings_version", m.settings_version},
            {"trained_at", m.trained_at},  {"profiles", m.profiles},
            {"candidates", m.candidates},  {"labels", m.labels},
            {"population", m.population},  {"seconds", m.seconds},
            {"trigger", m.trigger},        {"reason", m.reason},
            {"history", history},          {"model", json::parse(ModelToJson(m.model))}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<StoredModel> DecodeModel(std::string_view text) {
  TESSERA_ASSIGN_OR_RETURN(json j, ParseObject(text, "model"));
  StoredModel m;
  try {
    m.generation = j.at("generation").get<uint64_t>();
    m.settings_version = j.at("settings_version").get<uint64_t>();
    m.trained_at = j.at("trained_at").get<TimeMs>();
    m.profiles = j.at("profiles").get<uint64_t>();
    m.candidates = j.at("candidates").get<uint64_t>();
    m.labels = j.at("labels").get<uint64_t>();
    m.seconds = j.value("seconds", 0.0);
    // Models stored before automatic training have no trigger, population or history.
    m.population = j.value("population", m.profiles);
    m.trigger = j.value("trigger", std::string("manual"));
    m.reason = j.value("reason", std::string("requested"));
    if (auto h = j.find("history"); h != j.end()) {
      for (const json& t : *h) {
        m.history.push_back({.generation = t.at("generation").get<uint64_t>(),
                             .at = t.at("at").get<TimeMs>(),
                             .trigger = t.at("trigger").get<std::string>(),
                             .reason = t.at("reason").get<std::string>(),
                             .population = t.at("population").get<uint64_t>(),
                             .profiles = t.at("profiles").get<uint64_t>()});
      }
    }
  } catch (const json::exception& e) {
    return Status::Corruption(std::string("malformed linkage model: ") + e.what());
  }
  TESSERA_ASSIGN_OR_RETURN(m.model, ModelFromJson(j["model"].dump()));
  return m;
}

std::string EncodeBackfill(const BackfillState& b) {
  return json{{"generation", b.generation},       {"done", b.done},
              {"after", b.after},                 {"indexed", b.indexed},
              {"started_at", b.started_at},       {"finished_at", b.finished_at},
              {"links_done", b.links_done},       {"links_after", b.links_after},
              {"links_checked", b.links_checked}, {"links_withdrawn", b.links_withdrawn}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<BackfillState> DecodeBackfill(std::string_view text) {
  return Read<BackfillState>(text, "backfill state", [](const json& j, BackfillState* b) {
    b->generation = j.at("generation").get<uint64_t>();
    b->done = j.at("done").get<bool>();
    b->after = j.at("after").get<std::string>();
    b->indexed = j.at("indexed").get<uint64_t>();
    b->started_at = j.at("started_at").get<TimeMs>();
    b->finished_at = j.at("finished_at").get<TimeMs>();
    // A backfill stored before links were re-scored had no second phase.
    b->links_done = j.value("links_done", b->done);
    b->links_after = j.value("links_after", std::string());
    b->links_checked = j.value("links_checked", uint64_t{0});
    b->links_withdrawn = j.value("links_withdrawn", uint64_t{0});
  });
}

std::string EncodeRecord(const IndexRecord& r) {
  json keys = json::array();
  for (const RuleKey& k : r.keys) keys.push_back({k.left, k.right});
  json tf = json::array();
  for (const auto& [column, value] : r.tf) tf.push_back({column, value});
  return json{{"v", r.values}, {"k", keys}, {"t", tf}}.dump(-1, ' ', false,
                                                            json::error_handler_t::replace);
}

Result<IndexRecord> DecodeRecord(std::string_view text) {
  return Read<IndexRecord>(text, "index record", [](const json& j, IndexRecord* r) {
    r->values = j.at("v").get<std::vector<std::string>>();
    for (const json& k : j.at("k")) {
      r->keys.push_back({k.at(0).get<uint64_t>(), k.at(1).get<uint64_t>()});
    }
    for (const json& t : j.at("t")) {
      r->tf.emplace_back(t.at(0).get<std::string>(), t.at(1).get<std::string>());
    }
  });
}

std::string EncodeReview(const ReviewItem& r) {
  return json{{"n", r.n},
              {"a", r.a},
              {"b", r.b},
              {"probability", r.probability},
              {"weight", r.weight},
              {"explanation", r.explanation},
              {"reason", r.reason},
              {"created_at", r.created_at},
              {"updated_at", r.updated_at}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<ReviewItem> DecodeReview(std::string_view text) {
  return Read<ReviewItem>(text, "review item", [](const json& j, ReviewItem* r) {
    r->n = j.at("n").get<uint64_t>();
    r->a = j.at("a").get<std::string>();
    r->b = j.at("b").get<std::string>();
    r->probability = j.at("probability").get<double>();
    r->weight = j.at("weight").get<double>();
    r->explanation = j.at("explanation").get<std::string>();
    r->reason = j.at("reason").get<std::string>();
    r->created_at = j.at("created_at").get<TimeMs>();
    r->updated_at = j.at("updated_at").get<TimeMs>();
  });
}

std::string ReviewId(uint64_t n) { return "rv_" + std::to_string(n); }

std::optional<uint64_t> ParseReviewId(std::string_view id) {
  if (!id.starts_with("rv_") || id.size() < 4 || id.size() > 23) return std::nullopt;
  uint64_t n = 0;
  for (char c : id.substr(3)) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

std::string EncodeWithdrawal(const Withdrawal& w) {
  return json{{"n", w.n},
              {"a", w.a},
              {"b", w.b},
              {"probability_before", w.probability_before},
              {"probability", w.probability},
              {"cause", w.cause},
              {"reason", w.reason},
              {"review_id", w.review_id},
              {"generation", w.generation},
              {"explanation", w.explanation},
              {"at", w.at}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<Withdrawal> DecodeWithdrawal(std::string_view text) {
  return Read<Withdrawal>(text, "withdrawal", [](const json& j, Withdrawal* w) {
    w->n = j.at("n").get<uint64_t>();
    w->a = j.at("a").get<std::string>();
    w->b = j.at("b").get<std::string>();
    w->probability_before = j.at("probability_before").get<double>();
    w->probability = j.at("probability").get<double>();
    w->cause = j.at("cause").get<std::string>();
    w->reason = j.at("reason").get<std::string>();
    w->review_id = j.at("review_id").get<std::string>();
    w->generation = j.at("generation").get<uint64_t>();
    w->explanation = j.at("explanation").get<std::string>();
    w->at = j.at("at").get<TimeMs>();
  });
}

std::string WithdrawalKey(uint64_t n) {
  std::string key = "w";
  PutFixed64BE(&key, n);
  return key;
}

std::string EncodeDecision(const Decision& d) {
  return json{{"accept", d.accept},       {"by", d.by}, {"review_id", d.review_id},
              {"probability", d.probability}, {"at", d.at}}
      .dump();
}

Result<Decision> DecodeDecision(std::string_view text) {
  return Read<Decision>(text, "decision", [](const json& j, Decision* d) {
    d->accept = j.at("accept").get<bool>();
    d->by = j.at("by").get<std::string>();
    d->review_id = j.at("review_id").get<std::string>();
    d->probability = j.at("probability").get<double>();
    d->at = j.at("at").get<TimeMs>();
  });
}

std::string RecordKey(std::string_view tessera_id) { return "r" + std::string(tessera_id); }

std::string BlockPrefix(size_t rule, char side, uint64_t hash) {
  std::string key = "b";
  key.push_back(static_cast<char>(rule));
  key.push_back(side);
  PutFixed64BE(&key, hash);
  return key;
}

std::string BlockKey(size_t rule, char side, uint64_t hash, std::string_view tessera_id) {
  return BlockPrefix(rule, side, hash) + std::string(tessera_id);
}

std::string TfKey(std::string_view column, std::string_view value) {
  std::string key = "f";
  key += column;
  key.push_back('\0');
  key += value;
  return key;
}

std::string TfTotalKey(std::string_view column) { return "F" + std::string(column); }

std::string ReviewKey(uint64_t n) {
  std::string key = "q";
  PutFixed64BE(&key, n);
  return key;
}

std::string PairKey(char prefix, std::string_view a, std::string_view b) {
  if (b < a) std::swap(a, b);
  std::string key(1, prefix);
  key += a;
  key.push_back('\0');
  key += b;
  return key;
}

std::string EncodeU64(uint64_t v) {
  std::string out;
  PutFixed64BE(&out, v);
  return out;
}

uint64_t DecodeU64(std::string_view v) { return v.size() == 8 ? DecodeFixed64BE(v.data()) : 0; }

}  // namespace tessera::linkage::state
