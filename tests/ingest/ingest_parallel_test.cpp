// SPDX-License-Identifier: MIT
// prepare --threads N against --threads 1 (the sequential path, the
// reference): the same files, report and errors for any N and chunk size.
#include "vidrec/ingest/ingest_parallel.hpp"

#include <zlib.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <random>
#include <sstream>

#include "test_util.hpp"
#include "vidrec/base/errors.hpp"
#include "vidrec/ingest/prepare.hpp"
#include "vidrec/ingest/spill.hpp"

using namespace vidrec;

namespace {

void write_gzip(const std::string& path, const std::string& text) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, text.data(), unsigned(text.size()));
  gzclose(f);
}

// Random rows with every hazard the reader and parser handle: quoted fields
// holding the delimiter, CRLF, blank lines, padding, every reject kind,
// locations (ties included), types to weight and ignore.
std::string rows(std::mt19937& rng, size_t n, char d = ',', uint32_t users = 3000, uint32_t videos = 500) {
  static const char* const kTypes[] = {"watch", "like", "share", "skip"};
  static const char* const kPlaces[] = {"US", "DE", "", "\"FR,x\"", "a-region-with-a-long-name"};
  std::ostringstream o;
  for (size_t i = 0; i < n; ++i) {
    const uint32_t u = rng() % users, v = uint32_t(std::min(rng() % videos, rng() % videos));
    switch (rng() % 40) {
      case 0: o << "\n"; continue;
      case 1: o << "u" << u << d << "v" << v << "\n"; continue;  // too few fields
      case 2: o << "u1" << d << "v1" << d << "watch" << d << "1" << d << "US" << d << "1700000000" << d << "x\n"; continue;
      case 3: o << d << "v1" << d << "watch" << d << "1" << d << "US" << d << "1700000000\n"; continue;
      case 4: o << "u1" << d << d << "watch" << d << "1" << d << "US" << d << "1700000000\n"; continue;
      case 5: o << "u1" << d << "v1" << d << "watch" << d << "abc" << d << "US" << d << "1700000000\n"; continue;
      case 6: o << "u1" << d << "v1" << d << "watch" << d << "inf" << d << "US" << d << "1700000000\n"; continue;
      case 7: o << "u1" << d << "v1" << d << "watch" << d << "1" << d << "US" << d << "yesterday\n"; continue;
      case 8: o << "u\xff" << d << "v1" << d << "watch" << d << "1" << d << "US" << d << "1700000000\n"; continue;
      default: break;
    }
    o << (u % 7 == 0 ? "\"user, " : "u") << u << (u % 7 == 0 ? "\"" : "") << d << " v" << v << " " << d
      << kTypes[rng() % 4] << d << (rng() % 8) * 0.1 << d << kPlaces[(u + rng() % 2) % 5] << d
      << 1700000000 + rng() % 1000000 << (rng() % 5 == 0 ? "\r\n" : "\n");
  }
  return o.str();
}

// Several inputs whose layouts differ: headers in other orders and
// delimiters, none, a BOM, leading blank lines, gzip, no final newline.
std::vector<std::string> hostile_inputs(const test::TempDir& dir, size_t n) {
  std::mt19937 rng(7);
  std::vector<std::string> in;
  const std::string header = "userId,videoId,interactionType,interactionValue,location,timestamp\n";
  test::write_text(dir.file("a.csv"), "\xEF\xBB\xBF" + header + rows(rng, n));
  write_gzip(dir.file("b.csv.gz"), "\n\n" + header + rows(rng, n) + rows(rng, 1).substr(0, 20));
  test::write_text(dir.file("c.csv"), "userId;videoId;interactionType;interactionValue;location;timestamp\r\n" +
                                          rows(rng, n, ';'));
  test::write_text(dir.file("d.csv"), "\n" + rows(rng, n));  // no header
  test::write_text(dir.file("e.csv"), "");
  test::write_text(dir.file("f.csv"), header);
  for (const char* f : {"a.csv", "b.csv.gz", "c.csv", "d.csv", "e.csv", "f.csv"}) in.push_back(dir.file(f));
  return in;
}

struct Outcome {
  std::string dataset, rejects, summary, json, text, error;
  uint64_t spill_runs = 0;
};

Outcome run(PrepareConfig c, const test::TempDir& dir, unsigned threads, size_t chunk) {
  const std::string tag = "t" + std::to_string(threads) + "c" + std::to_string(chunk);
  c.threads = threads;
  c.chunk_bytes = chunk;
  c.output = dir.file(tag + ".vrd");
  c.rejects_path = dir.file(tag + ".rej");
  c.summary_json_path = dir.file(tag + ".json");
  c.tmp_dir = dir.path().string();
  c.progress = false;
  Outcome o;
  try {
    const PrepareReport rep = run_prepare(c);
    o.json = rep.to_json().dump();
    o.text = rep.to_text();
    o.spill_runs = rep.spill_runs;
  } catch (const IoError& e) {
    o.error = std::string("IoError: ") + e.what();
  } catch (const InputError& e) {
    o.error = std::string("InputError: ") + e.what();
  }
  for (auto [path, out] : {std::pair{c.output, &o.dataset}, {c.rejects_path, &o.rejects},
                           {c.summary_json_path, &o.summary}})
    if (std::ifstream(path).good()) *out = test::read_text(path);
  return o;
}

void check_same(const PrepareConfig& c, const test::TempDir& dir, bool expect_spill = false,
                std::vector<size_t> chunks = {1, 100, 4096}) {
  const Outcome ref = run(c, dir, 1, 0);
  for (unsigned threads : {2u, 3u, 5u})
    for (size_t chunk : chunks) {
      INFO("threads " << threads << ", chunk " << chunk);
      const Outcome o = run(c, dir, threads, chunk);
      CHECK(o.error == ref.error);
      CHECK(o.dataset == ref.dataset);
      CHECK(o.rejects == ref.rejects);
      CHECK(o.summary == ref.summary);
      CHECK(o.json == ref.json);
      CHECK(o.text == ref.text);
      if (expect_spill) CHECK(o.spill_runs > 0);
    }
}

}  // namespace

TEST_CASE("prepare --threads N writes what --threads 1 writes, byte for byte", "[threads][prepare]") {
  test::TempDir dir;
  PrepareConfig c;
  c.inputs = hostile_inputs(dir, 3000);
  c.output = "unused";
  SECTION("plain") { check_same(c, dir); }
  SECTION("weights, ignored types, pruning") {
    c.type_weights = {{"like", 0.3}, {"share", 2}};
    c.ignore_types = {"skip"};
    c.prune = {3, 2};
    check_same(c, dir);
  }
  SECTION("two users: shards left empty") {
    test::write_text(dir.file("two.csv"), "u1,v1,watch,1,US,1700000000\nu2,v2,like,2,DE,1700000001\n"
                                          "u1,v2,watch,3,DE,1700000002\n");
    c.inputs = {dir.file("two.csv")};
    check_same(c, dir);
  }
  SECTION("a memory budget that spills in every shard") {
    std::mt19937 rng(11);
    test::write_text(dir.file("big.csv"), rows(rng, 200000, ',', 40000, 5000));
    c.inputs.push_back(dir.file("big.csv"));
    c.memory = kMinMemory * 2;
    check_same(c, dir, true, {4096, 65536});
  }
}

TEST_CASE("prepare --threads N fails as --threads 1 does, at the first error in input order", "[threads][prepare]") {
  test::TempDir dir;
  PrepareConfig c;
  c.inputs = hostile_inputs(dir, 2000);
  c.output = "unused";
  SECTION("--strict: the first bad row") {
    c.strict = true;
    check_same(c, dir);
  }
  SECTION("an unreadable second input") {
    c.inputs.insert(c.inputs.begin() + 1, dir.file("missing.csv"));
    check_same(c, dir);
  }
  SECTION("corrupt gzip data mid-file") {
    std::mt19937 rng(3);
    write_gzip(dir.file("cut.gz"), rows(rng, 20000));
    std::string gz = test::read_text(dir.file("cut.gz"));
    gz[gz.size() / 2] = char(gz[gz.size() / 2] ^ 0x55);
    test::write_text(dir.file("cut.gz"), gz);
    c.inputs.insert(c.inputs.begin() + 2, dir.file("cut.gz"));
    check_same(c, dir);
  }
  SECTION("a line over 64 MiB in a later input, after rows and rejects") {
    std::mt19937 rng(5);
    test::write_text(dir.file("long.csv"), rows(rng, 3000) + std::string(65 << 20, 'x') + "\n" + rows(rng, 10));
    c.inputs.insert(c.inputs.begin() + 1, dir.file("long.csv"));
    check_same(c, dir, false, {size_t(1) << 22});
  }
  SECTION("CR-only line endings in a later input") {
    test::write_text(dir.file("mac.csv"), "u1,v1,watch,1,US,1700000000\ru2,v1,watch,1,US,1700000000\r");
    c.inputs.insert(c.inputs.begin() + 1, dir.file("mac.csv"));
    check_same(c, dir);
  }
}

TEST_CASE("threaded ingest writes the strict error's row to the rejects once, nothing after it", "[threads]") {
  test::TempDir dir;
  const std::vector<std::string> inputs = hostile_inputs(dir, 2000);
  IngestOptions opt;
  opt.strict = true;
  opt.progress = false;
  std::ostringstream ref_rejects;
  opt.rejects = &ref_rejects;
  struct Count : RowSink, KeyedSink {
    void add(const Row&, double) override {}
    void add(const KeyedRows&) override {}
  } sink;
  IngestStats st;
  std::string ref_error;
  try {
    for (const std::string& in : inputs) ingest_file(in, opt, sink, st);
  } catch (const InputError& e) {
    ref_error = e.what();
  }
  REQUIRE(ref_error.find("--strict") != std::string::npos);
  for (unsigned threads : {2u, 5u}) {
    std::ostringstream rejects;
    opt.rejects = &rejects;
    Count a, b, c3;
    IngestStats st2;
    CHECK_THROWS_WITH(ingest_parallel(inputs, opt, {&a, &b, &c3}, {threads, 7}, st2), ref_error);
    CHECK(rejects.str() == ref_rejects.str());
  }
}
