// SPDX-License-Identifier: MIT
// top_videos MODEL USER [K]: a user's recommendations from a model file, as
// `vidrec recommend --model MODEL --user USER -k K` prints them.
#include <cstdint>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>

#include "vidrec/model/model.hpp"
#include "vidrec/recommend/recommend.hpp"

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) {
    std::fprintf(stderr, "usage: top_videos MODEL USER [K]\n");
    return 2;
  }
  try {
    const vidrec::Model model = vidrec::Model::open(argv[1]);
    vidrec::RecommendOptions options;
    if (argc == 4) options.k = uint32_t(std::stoul(argv[3]));
    const vidrec::Recommender recommender(model, options);
    vidrec::ResultWriter out(std::cout, vidrec::Format::Json, vidrec::ResultWriter::Kind::Recommend, model,
                             false);
    out.write(recommender.for_user(argv[2]));
    out.finish();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "top_videos: %s\n", e.what());
    return 1;
  }
  return 0;
}
