// Unit and property tests of the linkage model: settings, blocking against brute force,
// clustering's chaining guard, EM on data with a known answer, and the properties that linkage
// is symmetric (left/right swapped) and independent of the order of the rows.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include "linkage/evaluate.h"
#include "linkage/linker.h"

namespace tessera::linkage {
namespace {

// A small synthetic population: originals and corrupted duplicates (typos, missing values,
// swapped names), with the true pairs.
struct Synthetic {
  Table left, right;
  std::vector<IdPair> truth;
};

std::string Typo(std::string s, std::mt19937_64* rng) {
  if (s.size() < 2) return s;
  size_t i = (*rng)() % (s.size() - 1);
  switch ((*rng)() % 3) {
    case 0: std::swap(s[i], s[i + 1]); break;
    case 1: s[i] = static_cast<char>('a' + (*rng)() % 26); break;
    default: s.erase(i, 1); break;
  }
  return s;
}

Synthetic MakeSynthetic(int n, uint64_t seed) {
  static const std::vector<std::string> kGiven = {"james", "mary", "john", "patricia", "robert", "jennifer",
      "michael", "linda", "william", "elizabeth", "david", "barbara", "zbigniew", "ottilie", "thaddeus",
      "wilhelmina", "bartholomew", "guinevere", "ezekiel", "philippa"};
  static const std::vector<std::string> kSurname = {"smith", "johnson", "williams", "brown", "jones",
      "garcia", "miller", "davis", "rodriguez", "martinez", "kowalczyk", "featherstonehaugh", "oyelaran",
      "nakashima", "vasquez", "oconnor", "abernathy", "whitlock", "pemberton", "castellano"};
  static const std::vector<std::string> kStreet = {"high street", "station road", "church lane",
      "mill road", "park avenue", "victoria street", "green lane", "kings road", "queen street"};
  std::mt19937_64 rng(seed);
  Synthetic s;
  for (Table* t : {&s.left, &s.right}) {
    t->columns = {"given_name", "surname", "date_of_birth", "street_number", "address_1", "postcode"};
    t->values.assign(t->columns.size(), {});
  }
  s.left.name = "left";
  s.right.name = "right";
  auto add = [](Table* t, const std::string& id, const std::vector<std::string>& row) {
    t->ids.push_back(id);
    for (size_t c = 0; c < row.size(); ++c) t->values[c].push_back(row[c]);
  };
  for (int i = 0; i < n; ++i) {
    char dob[16];
    std::snprintf(dob, sizeof dob, "19%02d%02d%02d", static_cast<int>(rng() % 80 + 10),
                  static_cast<int>(rng() % 12 + 1), static_cast<int>(rng() % 28 + 1));
    std::vector<std::string> row = {kGiven[rng() % kGiven.size()], kSurname[rng() % kSurname.size()], dob,
                                    std::to_string(rng() % 200 + 1), kStreet[rng() % kStreet.size()],
                                    std::to_string(2000 + rng() % 60)};
    add(&s.left, "a" + std::to_string(i), row);
    if (rng() % 10 < 7) {  // 70% have a corrupted duplicate on the right
      std::vector<std::string> dup = row;
      int changes = 1 + static_cast<int>(rng() % 2);
      for (int k = 0; k < changes; ++k) {
        size_t field = rng() % dup.size();
        switch (rng() % 4) {
          case 0: dup[field] = ""; break;
          case 1: std::swap(dup[0], dup[1]); break;
          default: dup[field] = Typo(dup[field], &rng); break;
        }
      }
      add(&s.right, "b" + std::to_string(i), dup);
      s.truth.push_back({"a" + std::to_string(i), "b" + std::to_string(i)});
    } else {  // someone else: a fresh record
      row = {kGiven[rng() % kGiven.size()], kSurname[rng() % kSurname.size()], dob,
             std::to_string(rng() % 200 + 1), kStreet[rng() % kStreet.size()],
             std::to_string(2000 + rng() % 60)};
      row[2][3] = static_cast<char>('0' + rng() % 10);
      add(&s.right, "b" + std::to_string(i), row);
    }
  }
  return s;
}

Settings DefaultsFor(const Table& t) {
  std::vector<std::string> ignored;
  Settings s = InferSettings(t.columns, &ignored);
  EXPECT_TRUE(ignored.empty());
  return s;
}

// Linked pairs as (id, id) with the left/right ids ordered, and their probabilities.
std::map<IdPair, double> LinkedPairs(const Table& left, const Table* right, const Settings& settings) {
  auto input = LinkInput::Build(&left, right, settings);
  EXPECT_TRUE(input.ok()) << input.status().ToString();
  LinkResult result = Link(*input, settings, {});
  std::map<IdPair, double> out;
  for (const ScoredPair& p : result.pairs) {
    if (p.decision != Decision::kMatch) continue;
    IdPair ids{input->id(p.pair.a), input->id(p.pair.b)};
    if (ids.first > ids.second) std::swap(ids.first, ids.second);
    out[ids] = p.probability;
  }
  return out;
}

Table Shuffled(const Table& t, uint64_t seed) {
  std::vector<size_t> order(t.ids.size());
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(seed));
  Table out = t;
  for (size_t i = 0; i < order.size(); ++i) {
    out.ids[i] = t.ids[order[i]];
    for (size_t c = 0; c < t.columns.size(); ++c) out.values[c][i] = t.values[c][order[i]];
  }
  return out;
}

TEST(Settings, ParseErrorsNameThePath) {
  EXPECT_EQ(ParseSettings("{\"threshold\": 2}").status().message(), "$.threshold: must lie in (0, 1)");
  EXPECT_EQ(ParseSettings("{\"comparisons\": [{\"kind\": \"name\"}]}").status().message(),
            "$.comparisons[0].column: a column name is required");
  EXPECT_EQ(ParseSettings("{\"comparisons\": [{\"column\": \"x\", \"kind\": \"soundex\"}]}").status().message(),
            "$.comparisons[0].kind: unknown kind \"soundex\"");
  EXPECT_EQ(ParseSettings("{\"blocking\": [[{\"column\": \"x\", \"transform\": \"prefix:0\"}]]}").status().message(),
            "$.blocking[0][0].transform: expected \"exact\", \"prefix:N\", \"phonetic\", \"year\" or \"digits\", got \"prefix:0\"");
  EXPECT_EQ(ParseSettings("{\"colour\": 1}").status().message(), "$.colour: unknown setting");
  EXPECT_FALSE(ParseSettings("{").ok());
}

TEST(Settings, RoundTripAndInference) {
  std::vector<std::string> ignored;
  Settings s = InferSettings({"First Name", "LAST_NAME", "DOB", "e-mail", "Zip", "notes"}, &ignored);
  EXPECT_EQ(ignored, std::vector<std::string>{"notes"});
  ASSERT_EQ(s.comparisons.size(), 5u);
  EXPECT_EQ(s.comparisons[0].kind, ComparisonKind::kName);
  EXPECT_EQ(s.comparisons[0].swap_column, "LAST_NAME");
  EXPECT_EQ(s.comparisons[2].kind, ComparisonKind::kDate);
  EXPECT_EQ(s.comparisons[3].kind, ComparisonKind::kEmail);
  EXPECT_FALSE(s.blocking.empty());
  auto again = ParseSettings(SettingsToJson(s));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(SettingsToJson(*again), SettingsToJson(s));
}

TEST(Blocking, MatchesBruteForceWithoutDuplicates) {
  Synthetic data = MakeSynthetic(300, 7);
  for (bool dedupe : {false, true}) {
    Settings settings = DefaultsFor(data.left);
    auto input = LinkInput::Build(&data.left, dedupe ? nullptr : &data.right, settings);
    ASSERT_TRUE(input.ok());
    Blocker blocker(&*input, settings);
    std::vector<RuleStats> stats;
    std::vector<RecordPair> pairs = blocker.Generate(&stats);
    std::set<RecordPair> unique(pairs.begin(), pairs.end());
    EXPECT_EQ(unique.size(), pairs.size()) << "a pair was generated twice";
    std::set<RecordPair> expected;
    for (uint32_t a = 0; a < input->left_count(); ++a) {
      uint32_t b_begin = dedupe ? a + 1 : input->left_count();
      uint32_t b_end = dedupe ? input->left_count() : input->record_count();
      for (uint32_t b = b_begin; b < b_end; ++b) {
        if (blocker.Covers(a, b)) expected.insert({a, b});
      }
    }
    EXPECT_EQ(unique, expected) << (dedupe ? "dedupe" : "link");
    uint64_t sum = 0;
    for (const RuleStats& r : stats) sum += r.pairs;
    EXPECT_EQ(sum, pairs.size());
  }
}

// The server's block index keeps RecordKeys per profile: records share a block by those keys
// exactly when the batch blocker pairs them (no block is oversized here).
TEST(Blocking, RecordKeysAgreeWithTheBlocker) {
  Synthetic data = MakeSynthetic(200, 11);
  Settings settings = DefaultsFor(data.left);
  settings.max_block_pairs = 1'000'000;
  auto input = LinkInput::Build(&data.left, nullptr, settings);
  ASSERT_TRUE(input.ok());
  Blocker blocker(&*input, settings);
  std::vector<std::vector<RuleKey>> keys;
  for (uint32_t r = 0; r < input->record_count(); ++r) {
    keys.push_back(RecordKeys(*input, settings, r));
  }
  // Keys depend on the record only, not on the other records of the input.
  Table one = data.left;
  for (auto& column : one.values) column.resize(1);
  one.ids.resize(1);
  auto single = LinkInput::Build(&one, nullptr, settings, /*parallel=*/false);
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(RecordKeys(*single, settings, 0), keys[0]);
  int shared = 0;
  for (uint32_t a = 0; a < input->record_count(); ++a) {
    for (uint32_t b = a + 1; b < input->record_count(); ++b) {
      ASSERT_EQ(SharesBlock(keys[a], keys[b]), blocker.Covers(a, b)) << a << " " << b;
      shared += SharesBlock(keys[a], keys[b]);
    }
  }
  EXPECT_GT(shared, 0);
}

TEST(Blocking, OversizedBlocksAreSkippedAndReported) {
  Table t;
  t.name = "t";
  t.columns = {"surname", "postcode"};
  t.values.assign(2, {});
  for (int i = 0; i < 50; ++i) {
    t.ids.push_back(std::to_string(i));
    t.values[0].push_back("smith");
    t.values[1].push_back(i < 5 ? "1000" : std::to_string(2000 + i));
  }
  Settings s;
  s.comparisons = {{.column = "surname", .kind = ComparisonKind::kName}};
  s.blocking = {BlockingRule{{BlockingKey{.column = "surname"}}}, BlockingRule{{BlockingKey{.column = "postcode"}}}};
  s.max_block_pairs = 100;
  auto input = LinkInput::Build(&t, nullptr, s);
  ASSERT_TRUE(input.ok());
  std::vector<RuleStats> stats;
  std::vector<RecordPair> pairs = Blocker(&*input, s).Generate(&stats);
  EXPECT_EQ(stats[0].skipped_blocks, 1u);
  EXPECT_EQ(stats[0].skipped_pairs, 50u * 49 / 2);
  EXPECT_EQ(pairs.size(), 10u);  // the five records sharing postcode 1000
}

TEST(Cluster, GuardStopsChainingThroughAWeakBridge) {
  // 0-1 and 1-2 are links, but 0 and 2 were compared and clearly differ: 2 stays apart.
  std::vector<uint32_t> c = Cluster(4, {{{0, 1}, 0.99}, {{1, 2}, 0.6}, {{2, 3}, 0.95}}, {{0, 2}});
  EXPECT_EQ(c[0], c[1]);
  EXPECT_NE(c[1], c[2]);
  EXPECT_EQ(c[2], c[3]);
  std::vector<uint32_t> chained = Cluster(4, {{{0, 1}, 0.99}, {{1, 2}, 0.6}, {{2, 3}, 0.95}}, {});
  EXPECT_EQ(chained[0], chained[3]);
}

TEST(Model, UnsupervisedEmFindsTheDuplicates) {
  Synthetic data = MakeSynthetic(2000, 11);
  Settings settings = DefaultsFor(data.left);
  auto input = LinkInput::Build(&data.left, &data.right, settings);
  ASSERT_TRUE(input.ok());
  auto truth = ResolveLabels(*input, [&] {
    std::vector<LabelledIdPair> v;
    for (const IdPair& p : data.truth) v.push_back({p, true});
    return v;
  }());
  ASSERT_TRUE(truth.ok());
  std::vector<RecordPair> true_pairs;
  for (const LabelledPair& p : *truth) true_pairs.push_back(p.pair);
  LinkResult result = Link(*input, settings, {}, true);
  Evaluation e = Evaluate(*input, settings, result, true_pairs);
  EXPECT_TRUE(result.model.em_converged);
  EXPECT_GT(e.pairs.precision, 0.98);
  EXPECT_GT(e.pairs.recall, 0.95);
  // Agreement is evidence for a match, disagreement against, and a rare name is worth more.
  const Model& m = result.model;
  for (size_t c = 0; c < m.comparisons.size(); ++c) {
    EXPECT_GT(m.LevelWeight(c, kExactLevel, 0), 0) << m.comparisons[c];
    EXPECT_LT(m.LevelWeight(c, static_cast<int>(m.levels[c].size()) - 1, 0), 0) << m.comparisons[c];
  }
  EXPECT_GT(m.LevelWeight(1, kExactLevel, 1.0 / 400), m.LevelWeight(1, kExactLevel, 1.0 / 20));
}

TEST(Model, LabelsOverrideAndTrain) {
  Synthetic data = MakeSynthetic(500, 3);
  Settings settings = DefaultsFor(data.left);
  auto input = LinkInput::Build(&data.left, &data.right, settings);
  ASSERT_TRUE(input.ok());
  LinkResult plain = Link(*input, settings, {});
  ASSERT_FALSE(plain.pairs.empty());
  RecordPair linked = plain.pairs.front().pair;
  // A person rejected the first linked pair and accepted a pair the model would never link.
  RecordPair unlikely{0, input->left_count() + 1};
  if (linked == unlikely) unlikely.b++;
  LinkResult labelled = Link(*input, settings, {{linked, false}, {unlikely, true}});
  bool saw_linked = false, saw_unlikely = false;
  for (const ScoredPair& p : labelled.pairs) {
    if (p.pair == linked) saw_linked = true;
    if (p.pair == unlikely) {
      saw_unlikely = true;
      EXPECT_EQ(p.decision, Decision::kMatch);
      EXPECT_EQ(p.probability, 1.0);
    }
  }
  EXPECT_FALSE(saw_linked);
  EXPECT_TRUE(saw_unlikely);
  EXPECT_EQ(labelled.clusters[unlikely.a], labelled.clusters[unlikely.b]);
}

TEST(Properties, SymmetricAndIndependentOfRowOrder) {
  for (uint64_t seed : {1, 2, 3}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    Synthetic data = MakeSynthetic(800, seed);
    Settings settings = DefaultsFor(data.left);
    settings.random_pairs = 20'000;  // sample (not enumerate) so the sampler's symmetry is tested
    auto forward = LinkedPairs(data.left, &data.right, settings);
    auto backward = LinkedPairs(data.right, &data.left, settings);
    auto shuffled = LinkedPairs(Shuffled(data.left, seed), &data.right, settings);
    Table right_shuffled = Shuffled(data.right, seed + 9);
    auto shuffled_right = LinkedPairs(data.left, &right_shuffled, settings);
    ASSERT_FALSE(forward.empty());
    EXPECT_EQ(forward, backward);
    EXPECT_EQ(forward, shuffled);
    EXPECT_EQ(forward, shuffled_right);
    auto dedupe = LinkedPairs(data.left, nullptr, settings);
    EXPECT_EQ(dedupe, LinkedPairs(Shuffled(data.left, seed + 1), nullptr, settings));
  }
}

TEST(Table, ReadErrorsNameTheLine) {
  EXPECT_EQ(ParseTable("x.csv", "id,name\n1,a\n1,b\n", "id").status().message(),
            "x.csv: line 3: duplicate id \"1\"");
  EXPECT_EQ(ParseTable("x.csv", "id,name\n1,a,b\n", "id").status().message(),
            "x.csv: line 2: 3 fields, the header has 2");
  EXPECT_EQ(ParseTable("x.csv", "key,name\n1,a\n", "id").status().message(),
            "x.csv: line 1: no id column \"id\" in the header");
  auto t = ParseTable("x.csv", "id, name\n 7 , Zoë \n", "id");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->ids[0], "7");
  EXPECT_EQ(t->values[0][0], "Zoë");
}

}  // namespace
}  // namespace tessera::linkage
