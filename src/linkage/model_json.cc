// Model <-> JSON, for the server's persisted model (model.h).
#include <nlohmann/json.hpp>

#include "linkage/model.h"

namespace tessera::linkage {

using nlohmann::json;

std::string ModelToJson(const Model& m) {
  json j;
  j["comparisons"] = m.comparisons;
  j["tf"] = m.tf;
  j["lambda"] = m.lambda;
  j["lambda_candidates"] = m.lambda_candidates;
  j["em_iterations"] = m.em_iterations;
  j["em_converged"] = m.em_converged;
  j["random_pairs"] = m.random_pairs;
  j["levels"] = json::array();
  for (const auto& levels : m.levels) {
    json lj = json::array();
    for (const LevelParams& p : levels) {
      lj.push_back({{"label", p.label}, {"m", p.m}, {"u", p.u}, {"candidates", p.candidates}});
    }
    j["levels"].push_back(std::move(lj));
  }
  return j.dump();
}

Result<Model> ModelFromJson(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return Status::Corruption("stored linkage model is not a JSON object");
  Model m;
  try {
    m.comparisons = j.at("comparisons").get<std::vector<std::string>>();
    m.tf = j.at("tf").get<std::vector<bool>>();
    m.lambda = j.at("lambda").get<double>();
    m.lambda_candidates = j.at("lambda_candidates").get<double>();
    m.em_iterations = j.at("em_iterations").get<int>();
    m.em_converged = j.at("em_converged").get<bool>();
    m.random_pairs = j.at("random_pairs").get<uint64_t>();
    for (const json& lj : j.at("levels")) {
      std::vector<LevelParams> levels;
      for (const json& p : lj) {
        levels.push_back({p.at("label").get<std::string>(), p.at("m").get<double>(),
                          p.at("u").get<double>(), p.at("candidates").get<uint64_t>()});
      }
      m.levels.push_back(std::move(levels));
    }
  } catch (const json::exception& e) {
    return Status::Corruption(std::string("stored linkage model: ") + e.what());
  }
  if (m.levels.size() != m.comparisons.size() || m.tf.size() != m.comparisons.size()) {
    return Status::Corruption("stored linkage model: comparisons, levels and tf disagree");
  }
  return m;
}

}  // namespace tessera::linkage
