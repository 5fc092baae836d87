// SPDX-License-Identifier: MIT
// Ingest on several threads (prepare --threads): inputs cut into chunks at
// line ends, chunks parsed in parallel, their rows aggregated in parallel in
// shards by user, their counts and rejects committed in input order.
//
// Contract
// - The same counts (IngestStats), the same rejects text in the same order
//   (by input, then line) and the same exceptions (type and message) as
//   ingest_file() over each input in turn; each shard receives exactly the
//   rows ingest_file() would pass to one sink whose user hashes to it
//   (shard_of()), in no particular order, keyed on the parsing threads
//   (features.hpp's KeyedRows).
// - One thread reads: an input is opened when the previous one is read; gzip
//   is inflated there. Each input's first chunk holds its first non-blank
//   line (a header perhaps: the layout may differ per input), and the later
//   chunks are parsed with the parser state it leaves.
// - An error of a chunk (a bad row under strict, CR-only endings, a header
//   without a required column) or of the reader (an input that cannot be
//   opened or read, a line over 64 MiB) is thrown when the chunks before it
//   are committed, so the first in input order wins; nothing after it is
//   committed. An exception from a shard's sink (a spill's disk full) stops
//   the run at once. Every thread is joined before the call returns or throws.
// - Memory: at most 2 * threads + 2 chunks (of chunk_bytes, more for longer
//   lines) and their rows and rejects are in flight.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "vidrec/ingest/features.hpp"
#include "vidrec/ingest/ingest.hpp"

namespace vidrec {

struct ParallelIngest {
  unsigned threads = 2;               // parsing threads, besides the reader
  size_t chunk_bytes = size_t(1) << 22;  // at most 16 MiB (tests pass tiny ones)
};

// The shard of `shards` a user goes to, by hash_id(user): its high half
// scaled, as the low bits pick the user's slot in the shard's interner.
inline size_t shard_of(uint64_t user_hash, size_t shards) {
  return size_t(((user_hash >> 32) * shards) >> 32);
}

// Reads `inputs` ("-" = stdin) in order into `shards` (each called by one
// thread at a time), adding to `stats`.
void ingest_parallel(const std::vector<std::string>& inputs, const IngestOptions& options,
                     const std::vector<KeyedSink*>& shards, const ParallelIngest& how, IngestStats& stats);

}  // namespace vidrec
