// SPDX-License-Identifier: MIT
#include "vidrec/ingest/ingest_parallel.hpp"

#include <sys/stat.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "vidrec/base/progress.hpp"
#include "vidrec/ingest/line_reader.hpp"

namespace vidrec {

namespace {

// One step of the input sequence: a chunk to parse, an input's end (its
// bytes), or an error of the reader's; committed in sequence order.
struct Item {
  std::string name;
  std::string bytes;
  uint64_t lines_before = 0;
  bool first = false;
  std::shared_ptr<const LineParser> parser;  // for chunks after the first
  bool parse = false;
  bool done = false;
  IngestStats stats;
  std::string rejects;
  std::exception_ptr error;
};

// Newlines in [p, p + n): the reader counts every chunk's, so that its
// workers number their lines. 16 bytes a step (std::count went byte by
// byte: 2.7% of a run's samples, on the reader thread).
uint64_t count_newlines(const char* p, size_t n) {
  uint64_t count = 0;
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i nl = _mm_set1_epi8('\n');
  while (n - i >= 16) {
    // Up to 255 steps summed per byte lane (each match adds 1), then the lanes.
    __m128i acc = _mm_setzero_si128();
    for (size_t k = 0; k < 255 && n - i >= 16; ++k, i += 16)
      acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)), nl));
    const __m128i sums = _mm_sad_epu8(acc, _mm_setzero_si128());
    count += uint64_t(_mm_cvtsi128_si64(sums)) + uint64_t(_mm_cvtsi128_si64(_mm_unpackhi_epi64(sums, sums)));
  }
#endif
  for (; i < n; ++i) count += p[i] == '\n';
  return count;
}

// A chunk's rows, keyed, per shard.
class Batches : public RowSink {
 public:
  explicit Batches(size_t shards) : shards_(shards) {}
  void add(const Row& row, double weight) override {
    const uint64_t h = hash_id(row.user);
    shards_[shard_of(h, shards_.size())].add(row, weight, h);
  }
  const KeyedRows& shard(size_t s) const { return shards_[s]; }
  void clear() {
    for (KeyedRows& s : shards_) s.clear();
  }

 private:
  std::vector<KeyedRows> shards_;
};

class Run {
 public:
  Run(const IngestOptions& opt, const std::vector<KeyedSink*>& shards, const ParallelIngest& how,
      IngestStats& stats)
      : opt_(opt),
        shards_(shards),
        locks_(shards.size()),
        chunk_(std::clamp<size_t>(how.chunk_bytes, 1, size_t(16) << 20)),
        max_in_flight_(2 * size_t(how.threads) + 2),
        stats_(stats) {
    for (unsigned i = 0; i < std::max(1u, how.threads); ++i) workers_.emplace_back([this] { work(); });
  }
  ~Run() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    work_cv_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

  void read(const std::vector<std::string>& inputs) {
    for (const std::string& path : inputs)
      if (!read_input(path)) break;
    std::unique_lock<std::mutex> lock(mu_);
    reading_done_ = true;
    work_cv_.notify_all();
    room_cv_.wait(lock, [this] { return stop_ || next_commit_ == dispatched_; });
    if (error_) std::rethrow_exception(error_);
  }

 private:
  // False once the run stops (an error, or an input whose first line fails).
  bool read_input(const std::string& path) {
    const std::string name = path == "-" ? "<stdin>" : path;
    std::string buf;
    uint64_t lines = 0;
    bool first = true, go_on = true;
    std::shared_ptr<const LineParser> parser;
    auto chunk = [&] {  // the next chunk of the input, its bytes to come
      auto item = std::make_unique<Item>();
      item->name = name;
      item->lines_before = lines;
      item->first = first;
      item->parser = parser;
      item->parse = true;
      return item;
    };
    try {
      struct stat st {};
      const bool regular = path != "-" && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
      const std::unique_ptr<ByteSource> src = open_source(path);
      Progress progress("prepare " + name, regular ? uint64_t(st.st_size) : 0, opt_.progress);
      bool more = true;
      // Reads until `buf` holds `want` bytes; false at the input's end. A
      // line over the limit is an error before it is parsed, as in LineReader.
      auto fill = [&](size_t want) {
        while (buf.size() < want) {
          const size_t old = buf.size(), from = buf.rfind('\n') + 1;  // the partial line's start
          buf.resize(std::max(want, old + chunk_));
          size_t n = 0;
          try {
            n = src->read(buf.data() + old, buf.size() - old);
          } catch (...) {
            buf.resize(old);
            throw;
          }
          buf.resize(old + n);
          if (std::min(buf.find('\n', from), buf.size()) - from >= LineReader::kMaxLine) {
            const uint64_t before = count_newlines(buf.data(), from);
            buf.resize(from);  // the lines before it are still committed
            throw_long_line(name, lines + before + 1);
          }
          if (n == 0) return false;
        }
        return true;
      };
      while (more) {
        more = fill(chunk_);
        size_t cut = more ? buf.rfind('\n') + 1 : buf.size();  // npos + 1 == 0: no line end yet
        for (;;) {
          if (first && cut > 0) {  // the chunk must hold the input's first non-blank line
            const int found = probe(name, std::string_view(buf.data(), cut), parser);
            if (found < 0) go_on = false;
            if (found != 0 || !more) break;
          } else if (cut > 0 || !more) {
            break;
          }
          more = fill(buf.size() + chunk_);
          cut = more ? buf.rfind('\n') + 1 : buf.size();
        }
        if (cut == 0) continue;
        auto item = chunk();
        lines += count_newlines(buf.data(), cut) + (buf[cut - 1] != '\n');
        item->bytes = spare();
        item->bytes.assign(buf, cut, std::string::npos);
        item->bytes.swap(buf);  // buf keeps the rest, the item the lines
        item->bytes.resize(cut);
        first = false;
        if (!dispatch(std::move(item)) || !go_on) return false;
        progress.update(src->offset(), human_bytes(double(src->offset())));
      }
      auto end = std::make_unique<Item>();
      end->stats.bytes = src->offset();
      progress.finish("");
      return dispatch(std::move(end));
    } catch (...) {
      // The lines read before the error are committed before it, as ingest_file reads them.
      const size_t cut = buf.rfind('\n') + 1;
      if (cut > 0 && go_on) {
        auto item = chunk();
        item->bytes.assign(buf, 0, cut);
        dispatch(std::move(item));
      }
      auto err = std::make_unique<Item>();
      err->error = std::current_exception();
      dispatch(std::move(err));
      return false;
    }
  }

  // Looks for the first non-blank line among `lines` (complete lines) and
  // leaves `parser` in the state it leaves: 1 found, 0 not yet, -1 found but
  // it throws (the worker parsing the chunk throws it in order).
  int probe(const std::string& name, std::string_view lines, std::shared_ptr<const LineParser>& parser) const {
    LineReader reader(name, lines);
    auto p = std::make_shared<LineParser>(opt_.layout);
    Row row;
    Reject why{};
    std::string_view line;
    while (reader.next(line)) {
      try {
        if (p->parse(line, true, row, why) == LineResult::Blank) continue;
      } catch (...) {
        return -1;
      }
      parser = std::move(p);
      return 1;
    }
    return 0;
  }

  // Chunk buffers go round: a fresh one would cost its pages' faults again.
  std::string spare() {
    std::lock_guard<std::mutex> lock(mu_);
    if (spare_.empty()) return std::string();
    std::string s = std::move(spare_.back());
    spare_.pop_back();
    return s;
  }
  void recycle(std::string&& s) {
    s.clear();
    std::lock_guard<std::mutex> lock(mu_);
    spare_.push_back(std::move(s));
  }

  // Queues an item; false when the run has stopped.
  bool dispatch(std::unique_ptr<Item> item) {
    std::unique_lock<std::mutex> lock(mu_);
    room_cv_.wait(lock, [this] { return stop_ || dispatched_ - next_commit_ < max_in_flight_; });
    if (stop_) return false;
    Item* it = item.get();
    pending_[dispatched_++] = std::move(item);
    if (it->parse) {
      queue_.push_back(it);
      work_cv_.notify_one();
    } else {
      it->done = true;
      commit_ready();
    }
    return true;
  }

  void work() {
    IngestOptions opt = opt_;
    opt.progress = false;
    Batches rows(shards_.size());
    std::ostringstream rejects;
    for (;;) {
      Item* it;
      {
        std::unique_lock<std::mutex> lock(mu_);
        work_cv_.wait(lock, [this] { return stop_ || !queue_.empty() || reading_done_; });
        if (stop_ || queue_.empty()) return;
        it = queue_.front();
        queue_.pop_front();
      }
      rows.clear();
      rejects.str(std::string());
      opt.rejects = opt_.rejects ? &rejects : nullptr;
      try {
        LineParser parser = it->first ? LineParser(opt.layout) : *it->parser;
        ingest_chunk(it->name, it->bytes, it->lines_before, it->first, parser, opt, rows, it->stats);
      } catch (...) {
        it->error = std::current_exception();
      }
      it->rejects = rejects.str();
      recycle(std::move(it->bytes));
      try {
        deliver(rows);
      } catch (...) {
        fail(std::current_exception());
        return;
      }
      std::lock_guard<std::mutex> lock(mu_);
      it->done = true;
      commit_ready();
    }
  }

  // Hands each shard its rows, taking the shards free now first.
  void deliver(const Batches& rows) {
    std::vector<size_t> left;
    for (size_t s = 0; s < shards_.size(); ++s)
      if (rows.shard(s).size()) left.push_back(s);
    while (!left.empty()) {
      bool fed = false;
      for (size_t i = 0; i < left.size();) {
        std::unique_lock<std::mutex> lock(locks_[left[i]], std::try_to_lock);
        if (!lock) {
          ++i;
          continue;
        }
        shards_[left[i]]->add(rows.shard(left[i]));
        left.erase(left.begin() + ptrdiff_t(i));
        fed = true;
      }
      if (!fed) {
        std::lock_guard<std::mutex> lock(locks_[left[0]]);
        shards_[left[0]]->add(rows.shard(left[0]));
        left.erase(left.begin());
      }
    }
  }

  void fail(std::exception_ptr e) {
    std::lock_guard<std::mutex> lock(mu_);
    stop_with(e);
  }
  // Under mu_: the flag is set in the same hold that saw the error, so no
  // other thread commits past it.
  void stop_with(std::exception_ptr e) {
    if (!error_) error_ = e;
    stop_ = true;
    work_cv_.notify_all();
    room_cv_.notify_all();
  }

  // Under mu_: commits the finished items at the head of the sequence.
  void commit_ready() {
    try {
      while (!stop_) {
        const auto at = pending_.find(next_commit_);
        if (at == pending_.end() || !at->second->done) return;
        Item& it = *at->second;
        if (opt_.rejects && !it.rejects.empty()) opt_.rejects->write(it.rejects.data(), std::streamsize(it.rejects.size()));
        stats_.add(it.stats);
        if (it.error) return stop_with(it.error);
        pending_.erase(at);
        ++next_commit_;
        room_cv_.notify_all();
      }
    } catch (...) {
      stop_with(std::current_exception());
    }
  }

  const IngestOptions& opt_;
  const std::vector<KeyedSink*>& shards_;
  std::vector<std::mutex> locks_;
  const size_t chunk_, max_in_flight_;
  IngestStats& stats_;
  std::mutex mu_;
  std::condition_variable work_cv_, room_cv_;
  std::deque<Item*> queue_;
  std::vector<std::string> spare_;
  std::map<uint64_t, std::unique_ptr<Item>> pending_;
  uint64_t dispatched_ = 0, next_commit_ = 0;
  bool reading_done_ = false, stop_ = false;
  std::exception_ptr error_;
  std::vector<std::thread> workers_;  // last: started once the rest is set up
};

}  // namespace

void ingest_parallel(const std::vector<std::string>& inputs, const IngestOptions& options,
                     const std::vector<KeyedSink*>& shards, const ParallelIngest& how, IngestStats& stats) {
  Run run(options, shards, how, stats);
  run.read(inputs);
}

}  // namespace vidrec
