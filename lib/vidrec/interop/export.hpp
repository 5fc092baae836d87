// SPDX-License-Identifier: MIT
// `vidrec export`: a model or dataset as files NumPy, SciPy and the implicit
// library read.
//
// Contract
// - export_file looks at the file's magic: a model (.vrm) or a dataset (.vrd);
//   anything else is a FormatError. It creates the directory `dir` when
//   missing and writes into it, each file atomically:
//   model:   user_factors.npy, item_factors.npy (float32, C order, users x
//            factors and videos x factors, rows in id order), user_ids.txt,
//            item_ids.txt (one id per line, row order, '\n'-terminated) and
//            model.npz, a fitted implicit.cpu.als.AlternatingLeastSquares as
//            its save() writes one (the same factors plus factors,
//            regularization, alpha, iterations, cg_steps, use_cg, use_native,
//            calculate_training_loss, num_threads, dtype, random_state;
//            AlternatingLeastSquares.load() in implicit >= 0.7 reads it), and
//            meta.json, the model's metadata (hyperparameters, training).
//   dataset: user_items.npz, the user x video weights as scipy.sparse.save_npz
//            writes a CSR matrix (deflated; indices and indptr int32, or
//            int64 when a count passes 2^31 - 1, as SciPy picks), and the id files.
// - An id holding '\n' or '\r' cannot be one line of an id file: InputError.
//   The id files are written first, so such an id stops export before any
//   array is written.
// - format: All writes every file above; Npy leaves out model.npz, Npz the
//   two .npy files (the id files and meta.json always). A dataset has one
//   form (Npy for one is a ConfigError).
// - Returns the paths written: the id files first, then the others as above.
#pragma once
#include <string>
#include <vector>

namespace vidrec {

enum class ExportFormat { All, Npy, Npz };

std::vector<std::string> export_file(const std::string& input, const std::string& dir,
                                     ExportFormat format = ExportFormat::All);

}  // namespace vidrec
