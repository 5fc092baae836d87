// SPDX-License-Identifier: MIT
// What a vidrec file (dataset or model) holds, for `vidrec inspect`. Opening goes through the
// same checked readers as every other stage, so a corrupt or truncated file
// is reported (FormatError naming the file), never read past.
#pragma once
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "vidrec/dataset/dataset.hpp"

namespace vidrec {

// Kind, format version, sizes, checksums, counts and provenance.
nlohmann::json describe_file(const std::string& path);
std::string describe_text(const nlohmann::json& description);

// userId,videoId,weight,events,first_ts,last_ts with a header; timestamps as
// "YYYY-MM-DD HH:MM:SS" UTC; ids quoted when they need it (RFC 4180).
void dump_pairs_csv(const Dataset& ds, std::ostream& out);

// Quotes a CSV field when it holds a comma, quote, CR/LF or edge spaces.
std::string csv_field(std::string_view s);

}  // namespace vidrec
