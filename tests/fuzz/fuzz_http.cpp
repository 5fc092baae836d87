// SPDX-License-Identifier: MIT
// libFuzzer target: the HTTP request body handler (JSON, JSON Lines or CSV
// -> invocation -> reply) of `vidrec serve`, on a small model built at start.
// Api::handle must answer every body with a status, never throw or read out
// of bounds; the input is also tried as an Accept, Content-Type and k value.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "vidrec/model/model.hpp"
#include "vidrec/serve/api.hpp"
#include "vidrec/serve/content.hpp"

namespace {
vidrec::ModelSlot slot;
vidrec::Metrics metrics;

void build_model() {
  vidrec::DatasetData d;
  d.user_ids = {"u1", "u2", "u3"};
  d.video_ids = {"v1", "v2", "v3", "v4"};
  d.indptr = {0, 2, 3, 4};
  d.indices = {0, 1, 2, 1};
  d.weights = {1, 2, 3, 1};
  d.events = {1, 1, 1, 1};
  d.first_ts = d.last_ts = {0, 0, 0, 0};
  const auto dir =
      std::filesystem::temp_directory_path() / ("vidrec-fuzz-http-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  vidrec::write_dataset(d, (dir / "d.vrd").string());
  const std::vector<float> users = {1, 0, 0, 1, 0.5f, 0.5f}, videos = {1, 0, 0, 1, 0.7f, 0.7f, -1, 0.2f};
  vidrec::ModelData md;
  md.factors = 2;
  md.user_factors = users.data();
  md.video_factors = videos.data();
  md.meta = {{"hyperparameters",
              {{"regularization", 0.1}, {"alpha", 1.0}, {"confidence", "linear"}, {"epsilon", 1.0}}}};
  vidrec::write_model(vidrec::Dataset::open((dir / "d.vrd").string()), md, (dir / "m.vrm").string());
  slot.set(vidrec::ServingModel::load((dir / "m.vrm").string()));
  std::filesystem::remove_all(dir);
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  build_model();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const vidrec::Api api(slot, metrics);
  for (const char* path : {"/invocations", "/similar"})
    for (const char* type : {"application/json", "application/jsonlines", "text/csv"})
      for (const char* accept : {"", "text/csv", "application/jsonlines"}) {
        const vidrec::HttpReply r = api.handle({"POST", path, type, body, accept, "3"});
        if (r.status < 200 || r.status > 599 || r.body.empty()) std::abort();
      }
  using vidrec::MediaType;
  (void)vidrec::request_type(body);
  (void)vidrec::reply_type(body, {MediaType::Json, MediaType::JsonLines, MediaType::Csv});
  const vidrec::HttpReply r = api.handle({"POST", "/invocations", "text/csv", "u1\n", body, body});
  if (r.status < 200 || r.status > 599 || r.body.empty()) std::abort();
  return 0;
}
