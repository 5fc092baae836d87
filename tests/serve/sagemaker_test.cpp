// SPDX-License-Identifier: MIT
// The single-host SageMaker contract in process: SageMaker's own
// hyperparameters, and the validation channel a tuning job reads its metric
// from (checked against prepare + evaluate run on their own).
#include "vidrec/serve/sagemaker.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <regex>

#include "test_util.hpp"
#include "vidrec/base/errors.hpp"

using namespace vidrec;
namespace fs = std::filesystem;

namespace {

// A log: user u watches video v once for every (u, v) in `pairs`.
std::string log_of(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::string s = "userId,videoId,interactionType,interactionValue,location,timestamp\n";
  int second = 0;
  for (const auto& [u, v] : pairs) {
    const int m = second / 60 % 60, sec = second % 60;
    ++second;
    s += u + "," + v + ",watch,1,X,2025-01-01 10:" + (m < 10 ? "0" : "") + std::to_string(m) + ":" +
         (sec < 10 ? "0" : "") + std::to_string(sec) + "\n";
  }
  return s;
}

// 12 users in two taste groups of 6 videos each, 4 videos a user.
std::string training_log() {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (int u = 0; u < 12; ++u)
    for (int i = 0; i < 4; ++i)
      pairs.push_back({"u" + std::to_string(10 + u), "v" + std::to_string(10 + (u % 2) * 6 + (u + i) % 6)});
  return log_of(pairs);
}

struct Root {
  test::TempDir dir;
  fs::path root = dir.path() / "sm";
  Root(const std::string& hyperparameters, const std::string& validation) {
    fs::create_directories(root / "input" / "config");
    fs::create_directories(root / "input" / "data" / "training");
    test::write_text((root / "input" / "config" / "hyperparameters.json").string(), hyperparameters);
    test::write_text((root / "input" / "data" / "training" / "a.csv").string(), training_log());
    if (!validation.empty()) {
      fs::create_directories(root / "input" / "data" / "validation");
      test::write_text((root / "input" / "data" / "validation" / "v.csv").string(), validation);
    }
  }
};

constexpr const char* kHyper =
    R"({"factors":"3","iterations":"5","threads":"1","_tuning_objective_metric":"validation:ndcg@10",)"
    R"("sagemaker_program":"x"})";

}  // namespace

TEST_CASE("sagemaker: SageMaker's own hyperparameters are ignored, others still checked", "[sagemaker]") {
  const SageMakerHyperparameters hp =
      parse_hyperparameters(nlohmann::json{{"_tuning_objective_metric", "auc"},
                                           {"_anything", "1"},
                                           {"sagemaker_program", "train"},
                                           {"sagemaker_region", 3},
                                           {"factors", "7"}});
  CHECK(hp.als.factors == 7);
  CHECK_THROWS_WITH(parse_hyperparameters(nlohmann::json{{"tuning_objective_metric", "x"}}),
                    "unknown hyperparameter 'tuning_objective_metric'");
  CHECK_THROWS_WITH(parse_hyperparameters(nlohmann::json{{"factors_", "1"}}),
                    "unknown hyperparameter 'factors_'; did you mean 'factors'?");
}

TEST_CASE("sagemaker: tuning metric lines, and the README's regexes read them", "[sagemaker]") {
  EvaluateReport r;
  r.k = 10;
  r.model.ndcg = 0.25;
  r.model.precision = 0.1;
  r.model.recall = 1.0 / 3;
  r.model.map = 0.125;
  r.model.auc = 0.75;
  r.model.auc_users = 2;
  const std::string lines = tuning_metric_lines(r);
  CHECK(lines ==
        "validation:ndcg@10=0.250000\n"
        "validation:precision@10=0.100000\n"
        "validation:recall@10=0.333333\n"
        "validation:map@10=0.125000\n"
        "validation:auc=0.750000\n");
  std::smatch m;
  REQUIRE(std::regex_search(lines, m, std::regex("validation:ndcg@10=([0-9.]+)")));
  CHECK(m[1] == "0.250000");
  REQUIRE(std::regex_search(lines, m, std::regex("validation:auc=([0-9.]+)")));
  CHECK(m[1] == "0.750000");
  // AUC undefined (no user with both kinds of candidate): no line, rather
  // than a value the regex would misread.
  r.model.auc_users = 0;
  CHECK(tuning_metric_lines(r).find("auc") == std::string::npos);
}

TEST_CASE("sagemaker train: the validation channel is evaluated as `evaluate` would", "[sagemaker]") {
  // Validation: known users, one the model does not know (u99) and one
  // video it does not know (v99).
  const std::string validation = log_of({{"u10", "v11"},
                                         {"u10", "v14"},
                                         {"u11", "v16"},
                                         {"u12", "v12"},
                                         {"u13", "v99"},
                                         {"u99", "v10"},
                                         {"u15", "v20"},
                                         {"u15", "v21"}});
  Root sm(kHyper, validation);
  const SageMakerTrainReport rep = sagemaker_train(sm.root.string(), false);
  REQUIRE(rep.validation);
  CHECK(rep.validation_inputs.size() == 1);
  CHECK(rep.validation->k == 10);
  CHECK(rep.validation->users_unknown == 1);
  CHECK(rep.validation->pairs_unknown_video == 1);

  // The reference: prepare the channel with the defaults, evaluate at k = 10.
  PrepareConfig prep;
  prep.inputs = rep.validation_inputs;
  prep.output = sm.dir.file("val.vrd");
  prep.progress = false;
  run_prepare(prep);
  EvaluateStageConfig eval;
  eval.model = rep.model_path;
  eval.test = prep.output;
  eval.eval.k = 10;
  CHECK(rep.validation->to_json() == run_evaluate(eval).to_json());
  CHECK(!fs::exists(rep.model_path + ".lock"));

  // Without the channel: no evaluation.
  fs::remove_all(sm.root / "input" / "data" / "validation");
  CHECK(!sagemaker_train(sm.root.string(), false).validation);
}

TEST_CASE("sagemaker train: a validation channel that cannot be evaluated fails before training",
          "[sagemaker]") {
  SECTION("no user in common with the training data") {
    Root sm(kHyper, log_of({{"x1", "v10"}, {"x2", "v11"}}));
    CHECK_THROWS_WITH(sagemaker_train(sm.root.string(), false),
                      Catch::Contains("validation: none of its 2 users is in the training data"));
    CHECK(!fs::exists(sm.root / "model" / "model.vrm"));
  }
  SECTION("no data file in the channel, only markers and checksums") {
    Root sm(kHyper, "");
    const fs::path channel = sm.root / "input" / "data" / "validation";
    fs::create_directories(channel);
    for (const char* name : {"_SUCCESS", ".part-00000.crc", "part-00000.crc"})
      test::write_text((channel / name).string(), "x");
    CHECK_THROWS_WITH(sagemaker_train(sm.root.string(), false),
                      Catch::Contains("validation: no data files in the channel"));
  }
  SECTION("a validation channel alone is no training data") {
    Root sm(kHyper, log_of({{"u10", "v10"}}));
    fs::remove_all(sm.root / "input" / "data" / "training");
    CHECK_THROWS_WITH(sagemaker_train(sm.root.string(), false), Catch::Contains("no input data channel"));
  }
}

TEST_CASE("sagemaker train: every data file whatever its name; prepare's figures in output/data",
          "[sagemaker]") {
  Root sm(kHyper, "");
  const fs::path channel = sm.root / "input" / "data" / "training";
  // Spark's layout: part files without an extension (no header) beside its
  // markers and checksums, which must not be read as data.
  fs::rename(channel / "a.csv", channel / "part-00000");
  test::write_text((channel / "part-00001").string(), "u99,v99,watch,1,X,not a time\n");
  for (const char* name : {"_SUCCESS", ".part-00000.crc", "part-00001.crc", "_committed_123"})
    test::write_text((channel / name).string(), "junk,junk\n");
  const SageMakerTrainReport rep = sagemaker_train(sm.root.string(), false);
  CHECK(rep.inputs ==
        std::vector<std::string>{(channel / "part-00000").string(), (channel / "part-00001").string()});
  CHECK(rep.train.users == 12);
  const fs::path out = sm.root / "output" / "data";
  const nlohmann::json summary =
      nlohmann::json::parse(test::read_text((out / "prepare_summary.json").string()));
  CHECK(summary.at("rows_valid") == 48);
  CHECK(summary.at("rows_malformed") == 1);
  CHECK(test::read_text((out / "rejects.csv").string()).find("u99,v99") != std::string::npos);
  CHECK(!fs::exists(out / "rejects.csv.lock"));  // prepare's locks are not left in output.tar.gz
  CHECK(!fs::exists(out / "prepare_summary.json.lock"));
}
