// SPDX-License-Identifier: MIT
// libFuzzer target: the model file reader, fully verified and header-only
// (the fast path `recommend` takes), then a recommendation and a similarity
// query. Any input is refused with FormatError or answered in bounds.
#include <cstdint>
#include <vector>

#include "reseal.hpp"
#include "vidrec/base/errors.hpp"
#include "vidrec/recommend/recommend.hpp"

namespace {
void query(const vidrec::Model& m) {
  vidrec::RecommendOptions opt;
  opt.k = 3;
  opt.threads = 1;
  const vidrec::Recommender rec(m, opt);
  if (m.n_users()) rec.for_user(m.user_id(0));
  rec.for_user("nobody");
  if (m.n_videos()) rec.similar(0);
}
}  // namespace

// Each input as it is and resealed (past the checksums), read fully verified
// and header-only.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<char> resealed(data, data + size);
  vidrec::fuzz::reseal(resealed);
  const std::vector<char> inputs[2] = {std::vector<char>(data, data + size), resealed};
  for (const auto& bytes : inputs)
    for (const auto verify : {vidrec::Model::Verify::Full, vidrec::Model::Verify::Header}) {
      try {
        query(vidrec::Model::from_file(vidrec::MappedFile::from_bytes("fuzz.vrm", bytes), verify));
      } catch (const vidrec::FormatError&) {
      }
    }
  return 0;
}
