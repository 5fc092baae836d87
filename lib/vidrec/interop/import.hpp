// SPDX-License-Identifier: MIT
// `vidrec import`: a model (.vrm) from factors NumPy or implicit wrote.
//
// Contract
// - The factors come either from two .npy files (users x factors and videos x
//   factors) or from an implicit AlternatingLeastSquares save() (.npz with
//   user_factors and item_factors); float32 or float64, either byte order, C
//   or Fortran order; they are stored as float32. The ids come from two text
//   files, one id per line in row order (export.hpp's layout). `dir` names an
//   export directory and fills in what is not given: its *_factors.npy when
//   both are there, else its model.npz, its id files, and meta.json (the
//   exported model's metadata, whose hyperparameters serve's fold-in uses).
// - With an implicit .npz, its factors, regularization, alpha, iterations,
//   cg_steps, use_cg and random_state become the model's hyperparameters
//   (meta.json's win when both are there).
// - Refused with an error naming the file (InputError or FormatError): a
//   file that is not .npy/.npz, truncated, a dtype other than float32/64, NaN
//   or infinite factors, factor counts that differ, an id file whose line
//   count differs from its factors' rows, an empty or repeated id.
// - The model's ids are sorted (model.hpp); rows are permuted to match.
// - With `dataset`, the model takes its seen videos, popularity and locations
//   from it (what train takes), so a model exported and imported with the
//   dataset it was trained on recommends exactly what the original did; its
//   user and video ids must be exactly the imported ones. Without, the model
//   has no seen videos (nothing is excluded), every popularity is 0 (cold
//   start falls back to the first videos by id) and no locations.
// - Written atomically under an OutputLock; an output naming an input is a
//   ConfigError.
#pragma once
#include <string>

namespace vidrec {

struct ImportOptions {
  std::string dir;
  std::string user_factors, item_factors, implicit_npz;
  std::string user_ids, item_ids, meta;
  std::string dataset;
  std::string output;
};

struct ImportSummary {
  uint32_t users = 0, videos = 0, factors = 0;
  std::string factors_from;  // the file(s) the factors came from
};

ImportSummary import_model(ImportOptions opt);

}  // namespace vidrec
