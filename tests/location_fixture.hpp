// SPDX-License-Identifier: MIT
// A small dataset and model with locations and negative feedback, whose
// popularity figures are computed by hand below; shared by the model,
// recommend and serve tests.
//
// Users a..g, videos v1..v5 (indices 0..4), locations DE (0) and FR (1):
//   a FR: v1 2, v2 1      b FR: v2 3, v3 -1     c FR: v2 0, v3 1
//   d DE: v1 1, v4 1      e (none): v1 1, v5 1  f DE: v2 -2
//   g (none): v1 -1
// Popularity, users with a positive pair: v1 3 (a d e), v2 2 (a b), v3 1 (c),
// v4 1 (d), v5 1 (e); global order v1 v2 v3 v4 v5.
// FR (users a b c): v2 2, v1 1, v3 1 (v1 before v3: lower index).
// DE (users d f):   v1 1, v4 1 (f's dislike of v2 counts for nothing).
// Factors (2): f and g have none (all zero, as ALS leaves a user without a
// positive pair); a (1, 0), b (0, 1), c (1, 1), d (1, 0), e (0, 1).
#pragma once
#include <string>
#include <vector>

#include "test_util.hpp"
#include "vidrec/dataset/dataset.hpp"
#include "vidrec/model/model.hpp"

namespace vidrec::test {

inline DatasetData location_dataset() {
  DatasetData d;
  d.user_ids = {"a", "b", "c", "d", "e", "f", "g"};
  d.video_ids = {"v1", "v2", "v3", "v4", "v5"};
  d.indptr = {0, 2, 4, 6, 8, 10, 11, 12};
  d.indices = {0, 1, 1, 2, 1, 2, 0, 3, 0, 4, 1, 0};
  d.weights = {2, 1, 3, -1, 0, 1, 1, 1, 1, 1, -2, -1};
  d.events.assign(12, 1);
  d.first_ts.assign(12, 0);
  d.last_ts.assign(12, 0);
  d.locations.ids = {"DE", "FR"};
  d.locations.of_user = {1, 1, 1, 0, kNoLocation, 0, kNoLocation};
  return d;
}

// Writes the dataset (d.vrd) and its model (m.vrm) into `dir`; returns the model's path.
inline std::string write_location_model(const TempDir& dir) {
  write_dataset(location_dataset(), dir.file("d.vrd"));
  const std::vector<float> users = {1, 0, 0, 1, 1, 1, 1, 0, 0, 1, 0, 0, 0, 0};
  const std::vector<float> videos = {0.5f, 0, 0.25f, 0.5f, 0, 0.75f, 0.125f, 0.125f, 0.75f, 0.25f};
  ModelData md;
  md.factors = 2;
  md.user_factors = users.data();
  md.video_factors = videos.data();
  md.meta = {{"hyperparameters", {{"regularization", 0.1}, {"alpha", 1.0}}}};
  write_model(Dataset::open(dir.file("d.vrd")), md, dir.file("m.vrm"));
  return dir.file("m.vrm");
}

}  // namespace vidrec::test
