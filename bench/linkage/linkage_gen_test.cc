#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "bench/linkage/corruptor.h"
#include "bench/linkage/febrl_io.h"
#include "bench/linkage/generate.h"
#include "bench/linkage/model.h"

namespace tessera::bench::linkgen {
namespace {

namespace fs = std::filesystem;

// A small stand-in for the FEBRL originals, so most tests do not need shared/ data.
std::vector<Record> TinyOriginals() {
  const char* kRows[][kNumFields] = {
      {"michaela", "neumann", "8", "stanley street", "miami", "winston hills", "4223", "nsw",
       "19151111", "5304218"},
      {"courtney", "painter", "12", "pinkerton circuit", "bega flats", "richlands", "4560", "vic",
       "19161214", "4066625"},
      {"charles", "green", "38", "salkauskas crescent", "kela", "dapto", "4566", "nsw", "19480930",
       "4365168"},
      {"vanessa", "parr", "905", "macquoid place", "broadbridge manor", "south grafton", "2135",
       "sa", "19951119", "9239102"},
      {"", "white", "", "lambrigg street", "", "north ryde", "3355", "qld", "", "9731855"},
      {"mitchell", "maxon", "47", "edkins street", "pinehill", "windermere", "3212", "vic",
       "19651013", "1551941"},
      {"elton", "white", "3", "light street", "kelgoola", "broadbeach waters", "3159", "wa",
       "19620216", "8859999"},
      {"katherine", "clarke", "1", "lyster place", "", "northwood", "2585", "tas", "19980624",
       "4970481"},
      {"catherine", "clark", "2", "paul coe crescent", "york house", "mitcham", "3141", "act",
       "19431210", "3744694"},
      {"joshua", "white", "61", "mcphail place", "sunbury", "bonnyrigg", "3929", "nt", "19090111",
       "8475133"},
  };
  std::vector<Record> out;
  for (const auto& row : kRows) {
    Record r;
    for (int f = 0; f < kNumFields; ++f) r.f[f] = row[f];
    out.push_back(r);
  }
  return out;
}

Model TinyModel(uint64_t seed, uint64_t expected) {
  ModelOptions m;
  m.expected_originals = expected;
  m.novel_share = 0.2;
  return Model::Build(TinyOriginals(), m, seed);
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class LinkageGenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("linkage_gen_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  GenerateOptions LinkOptions(const std::string& tag, uint64_t seed, int threads) {
    GenerateOptions o;
    o.records = 3000;
    o.overlap = 0.5;
    o.seed = seed;
    o.threads = threads;
    o.out_a = (dir_ / (tag + "_a.csv")).string();
    o.out_b = (dir_ / (tag + "_b.csv")).string();
    o.truth = (dir_ / (tag + "_truth.csv")).string();
    return o;
  }

  fs::path dir_;
};

TEST_F(LinkageGenTest, SameSeedSameBytesForAnyThreadCount) {
  const GenerateOptions o1 = LinkOptions("one", 7, 1), o2 = LinkOptions("two", 7, 2);
  const Model model = TinyModel(7, ExpectedOriginals(o1));
  GenerateStats s1, s2;
  ASSERT_TRUE(GenerateLink(model, o1, &s1).ok());
  ASSERT_TRUE(GenerateLink(TinyModel(7, ExpectedOriginals(o2)), o2, &s2).ok());
  EXPECT_EQ(Slurp(o1.out_a), Slurp(o2.out_a));
  EXPECT_EQ(Slurp(o1.out_b), Slurp(o2.out_b));
  EXPECT_EQ(Slurp(o1.truth), Slurp(o2.truth));

  const GenerateOptions o3 = LinkOptions("other", 8, 1);
  GenerateStats s3;
  ASSERT_TRUE(GenerateLink(TinyModel(8, ExpectedOriginals(o3)), o3, &s3).ok());
  EXPECT_NE(Slurp(o1.out_b), Slurp(o3.out_b));
}

void CheckLinkFiles(const GenerateOptions& o, bool opaque) {
  auto a = ReadFebrlFile(o.out_a);
  auto b = ReadFebrlFile(o.out_b);
  auto truth = ReadTruthFile(o.truth);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_TRUE(truth.ok()) << truth.status().ToString();
  EXPECT_EQ(a.value().size(), o.records);
  EXPECT_EQ(b.value().size(), o.records);
  EXPECT_EQ(truth.value().size(), o.records / 2);

  std::set<std::string> a_ids, b_ids;
  for (const FebrlRow& r : a.value()) a_ids.insert(r.id);
  for (const FebrlRow& r : b.value()) b_ids.insert(r.id);
  EXPECT_EQ(a_ids.size(), o.records) << "ids in A are unique";
  EXPECT_EQ(b_ids.size(), o.records) << "ids in B are unique";
  std::set<std::string> left, right;
  for (const auto& [l, r] : truth.value()) {
    EXPECT_TRUE(a_ids.count(l)) << l;
    EXPECT_TRUE(b_ids.count(r)) << r;
    left.insert(l);
    right.insert(r);
    if (!opaque) {
      EXPECT_EQ(l.substr(0, l.size() - 4) + "-dup-0", r) << "FEBRL4 naming: rec-n-org, rec-n-dup-0";
    } else {
      EXPECT_EQ(l.size(), 16u);
      EXPECT_EQ(l.find("rec"), std::string::npos);
    }
  }
  EXPECT_EQ(left.size(), truth.value().size()) << "one duplicate per A record";
  EXPECT_EQ(right.size(), truth.value().size());
}

TEST_F(LinkageGenTest, TruthPairsNameExistingRecords) {
  const GenerateOptions o = LinkOptions("plain", 3, 2);
  GenerateStats stats;
  ASSERT_TRUE(GenerateLink(TinyModel(3, ExpectedOriginals(o)), o, &stats).ok());
  CheckLinkFiles(o, false);
  EXPECT_EQ(stats.profile.pairs(), o.records / 2);
  EXPECT_EQ(stats.profile.FieldsModifiedShare(0), 0.0) << "every duplicate differs";
  const std::string a = Slurp(o.out_a);
  EXPECT_EQ(a.substr(0, a.find('\n')), kFebrlHeader);
}

TEST_F(LinkageGenTest, OpaqueIds) {
  GenerateOptions o = LinkOptions("opaque", 3, 1);
  o.opaque_ids = true;
  GenerateStats stats;
  ASSERT_TRUE(GenerateLink(TinyModel(3, ExpectedOriginals(o)), o, &stats).ok());
  CheckLinkFiles(o, true);
}

TEST_F(LinkageGenTest, DedupeTruthHasAllPairsPerEntity) {
  GenerateOptions o;
  o.records = 2000;
  o.dup_rate = 1.5;
  o.seed = 5;
  o.dedupe_out = (dir_ / "d.csv").string();
  o.truth = (dir_ / "d_truth.csv").string();
  GenerateStats stats;
  ASSERT_TRUE(GenerateDedupe(TinyModel(5, o.records), o, &stats).ok());
  auto d = ReadFebrlFile(o.dedupe_out);
  auto truth = ReadTruthFile(o.truth);
  ASSERT_TRUE(d.ok() && truth.ok());
  EXPECT_EQ(d.value().size(), 2000u + 3000u);
  std::map<std::string, int> per_entity;  // records per entity, from FEBRL ids
  std::set<std::string> ids;
  for (const FebrlRow& r : d.value()) {
    ids.insert(r.id);
    const size_t dash = r.id.find('-', 4);
    ++per_entity[r.id.substr(0, dash)];
  }
  size_t expected_pairs = 0;
  for (const auto& [e, n] : per_entity) {
    EXPECT_LE(n, 1 + o.max_dups);
    expected_pairs += static_cast<size_t>(n) * (n - 1) / 2;
  }
  EXPECT_EQ(truth.value().size(), expected_pairs);
  for (const auto& [l, r] : truth.value()) {
    EXPECT_TRUE(ids.count(l) && ids.count(r)) << l << "," << r;
    EXPECT_EQ(l.substr(0, l.find('-', 4)), r.substr(0, r.find('-', 4)));
  }
}

TEST(ModelTest, OriginalsAreConsistentAndUnique) {
  const Model model = TinyModel(11, 5000);
  std::set<std::string> ssids;
  Record r;
  for (uint64_t e = 0; e < 5000; ++e) {
    model.MakeOriginal(e, &r);
    ASSERT_EQ(r.f[kSocSecId].size(), 7u);
    EXPECT_TRUE(ssids.insert(r.f[kSocSecId]).second) << "soc_sec_id is unique per entity";
    if (!r.f[kPostcode].empty() && !r.f[kState].empty()) {
      EXPECT_EQ(StateOfPostcode(std::stoi(r.f[kPostcode])), r.f[kState]) << r.f[kSuburb];
    }
    if (!r.f[kDateOfBirth].empty()) {
      EXPECT_TRUE(Model::IsValidDate(r.f[kDateOfBirth]));
      EXPECT_TRUE(r.f[kDateOfBirth] >= "19000101" && r.f[kDateOfBirth] <= "19991231");
    }
  }
  Record again;
  model.MakeOriginal(42, &r);
  model.MakeOriginal(42, &again);
  EXPECT_EQ(r, again);
}

TEST(CorruptorTest, OneModificationChangesOneField) {
  const Model model = TinyModel(1, 1000);
  CorruptOptions options;
  options.max_mod_per_record = 1;
  const Corruptor corruptor(model, options);
  Record org, dup;
  for (uint64_t e = 0; e < 2000; ++e) {
    model.MakeOriginal(e, &org);
    Rng rng(e);
    corruptor.Corrupt(org, rng, &dup, nullptr);
    int differ = 0;
    for (int f = 0; f < kNumFields; ++f) differ += org.f[f] != dup.f[f] ? 1 : 0;
    EXPECT_EQ(differ, 1);
  }
}

TEST(CorruptorTest, RecordAndFieldCaps) {
  const Model model = TinyModel(2, 1000);
  CorruptOptions options;
  options.max_mod_per_record = 4;
  options.max_mod_per_field = 2;
  options.extra_mods_mean = 5;
  const Corruptor corruptor(model, options);
  Record org, dup;
  CorruptionLog log;
  for (uint64_t e = 0; e < 2000; ++e) {
    model.MakeOriginal(e, &org);
    Rng rng(e + 100);
    corruptor.Corrupt(org, rng, &dup, &log);
    int differ = 0;
    for (int f = 0; f < kNumFields; ++f) differ += org.f[f] != dup.f[f] ? 1 : 0;
    EXPECT_GE(differ, 1);
    EXPECT_LE(differ, 4);
  }
  for (size_t k = 5; k < log.mods_per_record.size(); ++k) EXPECT_EQ(log.mods_per_record[k], 0u);
}

TEST(CorruptorTest, Operations) {
  const Model model = TinyModel(3, 100);
  const Corruptor c(model, CorruptOptions());
  Rng rng(9);
  std::string v = "19751203";
  ASSERT_TRUE(c.Apply(kDateOfBirth, kSwapDayMonth, &v, rng));
  EXPECT_EQ(v, "19750312");
  v = "19751231";  // day > 12: falls back to a digit typo
  ASSERT_TRUE(c.Apply(kDateOfBirth, kSwapDayMonth, &v, rng));
  EXPECT_NE(v, "19751231");
  v = "katherine";
  ASSERT_TRUE(c.Apply(kGivenName, kMisspell, &v, rng));
  EXPECT_EQ(v, "catherine") << "the only vocabulary value within distance 2";
  v = "phillip";
  ASSERT_TRUE(c.Apply(kGivenName, kPhonetic, &v, rng));
  EXPECT_NE(v, "phillip");
  v = "smith";
  ASSERT_TRUE(c.Apply(kSurname, kLeadingSpace, &v, rng));
  EXPECT_EQ(v, " smith");
  v = "paul coe crescent";
  ASSERT_TRUE(c.Apply(kAddress1, kMergeWords, &v, rng));
  EXPECT_EQ(v.size(), 16u);
  v = "4223";
  for (int i = 0; i < 50; ++i) {
    std::string w = v;
    ASSERT_TRUE(c.Apply(kPostcode, kTranspose, &w, rng) || w == v);
    EXPECT_EQ(w.size(), 4u);
  }
  v = "";
  EXPECT_FALSE(c.Apply(kSurname, kKeyboard, &v, rng));
  EXPECT_TRUE(c.Apply(kSurname, kNewValue, &v, rng));
  EXPECT_FALSE(v.empty());
}

TEST(FebrlDataTest, LoadsOriginalsFromSharedData) {
  const char* shared = std::getenv("TESSERA_SHARED_DATA");
  const std::string dir = std::string(shared != nullptr ? shared : "") + "/febrl";
  if (shared == nullptr || !fs::exists(dir)) GTEST_SKIP() << "no FEBRL data at " << dir;
  std::vector<std::string> files;
  auto originals = LoadFebrlOriginals(dir, &files);
  ASSERT_TRUE(originals.ok()) << originals.status().ToString();
  EXPECT_EQ(files.size(), 5u);
  EXPECT_EQ(originals.value().size(), 11500u);  // 500 + 4000 + 2000 + 5000 (4b has no org)
}

}  // namespace
}  // namespace tessera::bench::linkgen
