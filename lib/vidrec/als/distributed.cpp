// SPDX-License-Identifier: MIT
#include "vidrec/als/distributed.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>

#include "vidrec/als/solver.hpp"
#include "vidrec/base/errors.hpp"

namespace vidrec {

namespace {

// Set just before run_collectively raises an error every rank raises, so the
// outer handler tells it from an error of one rank alone.
thread_local bool g_agreed = false;  // thread_local: tests run ranks as threads

enum Kind : int { kNone = 0, kInput, kFormat, kIo, kConfig, kMemory, kOther };

[[noreturn]] void raise(int kind, const std::string& what, bool primary) {
  g_agreed = true;
  if (!primary) throw ReportedElsewhere(what, kind == kConfig ? 2 : 1);
  switch (kind) {
    case kInput:
      throw InputError(what);
    case kFormat:
      throw FormatError(what);
    case kIo:
      throw IoError(what);
    case kConfig:
      throw ConfigError(what);
    case kMemory:
      throw std::bad_alloc();
    default:
      throw std::runtime_error(what);
  }
}

// The rows a rank owns of one side, renumbered for its local solve.
struct Block {
  uint32_t begin = 0, end = 0;    // owned rows of the matrix
  std::vector<uint64_t> indptr;   // rebased to 0
  std::vector<uint32_t> indices;  // positions in `needed`
  std::vector<uint32_t> needed;   // other-side columns referenced, ascending
  CsrView local;                  // rows end - begin, cols needed.size()
};

Block make_block(const CsrView& m, uint32_t begin, uint32_t end) {
  Block b;
  b.begin = begin;
  b.end = end;
  const uint64_t first = m.indptr[begin], count = m.indptr[end] - first;
  b.indptr.resize(size_t(end - begin) + 1);
  for (uint32_t r = begin; r <= end; ++r) b.indptr[r - begin] = m.indptr[r] - first;
  // A bitmap of referenced columns with prefix counts: O(cols / 8) bytes
  // however many columns there are.
  const size_t words = (size_t(m.cols) + 63) / 64;
  std::vector<uint64_t> bits(words, 0);
  for (uint64_t k = 0; k < count; ++k) {
    const uint32_t c = m.indices[first + k];
    bits[c / 64] |= uint64_t(1) << (c % 64);
  }
  std::vector<uint32_t> before(words + 1, 0);
  for (size_t w = 0; w < words; ++w) before[w + 1] = before[w] + uint32_t(__builtin_popcountll(bits[w]));
  b.needed.reserve(before[words]);
  for (size_t w = 0; w < words; ++w)
    for (uint64_t v = bits[w]; v; v &= v - 1) b.needed.push_back(uint32_t(w * 64 + __builtin_ctzll(v)));
  b.indices.resize(count);
  for (uint64_t k = 0; k < count; ++k) {
    const uint32_t c = m.indices[first + k];
    const uint64_t below = bits[c / 64] & ((uint64_t(1) << (c % 64)) - 1);
    b.indices[k] = before[c / 64] + uint32_t(__builtin_popcountll(below));
  }
  b.local = {end - begin, uint32_t(b.needed.size()), b.indptr.data(), b.indices.data(), m.values + first};
  return b;
}

// Who sends which owned factor columns to whom, fixed for the whole run.
struct Exchange {
  std::vector<uint32_t> send_cols;  // owned columns (0 = first owned), grouped by destination rank
  std::vector<size_t> send_off;     // bytes per destination, size() + 1
  std::vector<size_t> recv_off;     // bytes per source into the receiver's needed-column matrix
};

// `needed`: columns this rank references (ascending); `owners`: every rank's
// range of that side. Ranks tell the owners what they need, once.
Exchange plan_exchange(Comm& comm, const std::vector<uint32_t>& needed, const std::vector<uint32_t>& owners,
                       uint32_t f) {
  const int n = comm.size(), me = comm.rank();
  std::vector<uint64_t> want(size_t(n), 0);  // how many columns I need from each owner
  for (int o = 0, k = 0; o < n; ++o) {
    const auto stop = std::lower_bound(needed.begin() + k, needed.end(), owners[size_t(o) + 1]);
    want[size_t(o)] = uint64_t(stop - needed.begin() - k);
    k = int(stop - needed.begin());
  }
  std::vector<uint64_t> all(size_t(n) * size_t(n));
  comm.allgather(want.data(), want.size() * sizeof(uint64_t), all.data());
  std::vector<size_t> req_send(size_t(n) + 1, 0), req_recv(size_t(n) + 1, 0);
  for (int p = 0; p < n; ++p) {
    req_send[size_t(p) + 1] = req_send[size_t(p)] + want[size_t(p)] * sizeof(uint32_t);
    req_recv[size_t(p) + 1] =
        req_recv[size_t(p)] + all[size_t(p) * size_t(n) + size_t(me)] * sizeof(uint32_t);
  }
  Exchange ex;
  ex.send_cols.resize(req_recv[size_t(n)] / sizeof(uint32_t));
  comm.alltoallv(needed.data(), req_send, ex.send_cols.data(), req_recv);
  for (uint32_t& c : ex.send_cols) c -= owners[size_t(me)];
  const size_t column = size_t(f) * sizeof(float);
  ex.send_off.resize(size_t(n) + 1);
  ex.recv_off.resize(size_t(n) + 1);
  for (size_t p = 0; p <= size_t(n); ++p) {
    ex.send_off[p] = req_recv[p] / sizeof(uint32_t) * column;
    ex.recv_off[p] = req_send[p] / sizeof(uint32_t) * column;
  }
  return ex;
}

// Y (f x needed) <- the needed columns of the side whose owned part is X.
void exchange(Comm& comm, const Exchange& ex, const arma::fmat& X, arma::fmat& Y,
              std::vector<float>& buffer) {
  const auto f = uint32_t(X.n_rows);
  buffer.resize(ex.send_cols.size() * f);
  for (size_t i = 0; i < ex.send_cols.size(); ++i)
    std::memcpy(buffer.data() + i * f, X.colptr(ex.send_cols[i]), f * sizeof(float));
  comm.alltoallv(buffer.data(), ex.send_off, Y.memptr(), ex.recv_off);
}

// Folds every rank's share into `value` in rank order: each rank receives
// its predecessor's running value, add()s its own share and passes it on;
// every rank then gets the last rank's total. Sums thus taken in the single
// process's order give its bits.
template <class Add>
void fold_in_rank_order(Comm& comm, void* value, size_t bytes, Add&& add) {
  const int me = comm.rank(), last = comm.size() - 1;
  if (me > 0) comm.recv(me - 1, value, bytes);
  add();
  if (me < last) comm.send(me + 1, value, bytes);
  comm.bcast(value, bytes, last);
}

// gram(all columns of a side, 0) from each rank's owned columns X.
arma::fmat chain_gram(Comm& comm, const arma::fmat& X, uint32_t block, unsigned threads) {
  std::vector<arma::fmat> parts((X.n_cols + block - 1) / block);
  gram_parts(X, block, 0, parts, threads);  // before waiting for the predecessor
  arma::fmat G(X.n_rows, X.n_rows, arma::fill::zeros);
  fold_in_rank_order(comm, G.memptr(), G.n_elem * sizeof(float), [&] {
    for (const arma::fmat& p : parts) G += p;
  });
  return G;
}

// The system's Gram matrix of one half-sweep (solver.hpp finish_system_gram).
arma::fmat system_gram(Comm& comm, const arma::fmat& X, uint32_t block, const AlsConfig& cfg) {
  arma::fmat G = chain_gram(comm, X, block, cfg.threads);
  finish_system_gram(G, cfg);
  return G;
}

// The training loss from the owned users X_u (with Y_u, their referenced
// videos) and owned videos X_v.
double chain_loss(Comm& comm, const Block& users, const arma::fmat& X_u, const arma::fmat& Y_u,
                  const Block& videos, const arma::fmat& X_v, uint32_t n_users, uint32_t n_videos,
                  const AlsConfig& cfg) {
  const arma::fmat G = chain_gram(comm, X_v, gram_block(n_videos), cfg.threads);
  LossSums sums;
  fold_in_rank_order(comm, &sums, sizeof sums, [&] {
    add_loss_rows(users.local, X_u, Y_u, G, cfg, sums, n_videos);
    add_item_norms(videos.local, X_v, cfg, n_users, sums);
  });
  return finish_loss(sums, n_users, n_videos, cfg);
}

// Rank 0 collects every rank's owned columns into the full matrix.
arma::fmat gather(Comm& comm, const arma::fmat& X, const std::vector<uint32_t>& owners, uint32_t n) {
  const size_t column = size_t(X.n_rows) * sizeof(float);
  if (comm.rank() != 0) {
    comm.send(0, X.memptr(), X.n_cols * column);
    return {};
  }
  arma::fmat full(X.n_rows, n);
  if (X.n_cols) std::memcpy(full.memptr(), X.memptr(), X.n_cols * column);  // a rank may own none
  for (int p = 1; p < comm.size(); ++p)
    comm.recv(p, full.colptr(owners[size_t(p)]), (owners[size_t(p) + 1] - owners[size_t(p)]) * column);
  return full;
}

}  // namespace

std::vector<uint32_t> balance_rows(const CsrView& m, int parts, uint32_t granule) {
  std::vector<uint32_t> cuts(size_t(parts) + 1, 0);
  cuts[size_t(parts)] = m.rows;
  const uint64_t granules = (uint64_t(m.rows) + granule - 1) / granule;
  auto at = [&](uint64_t j) { return m.indptr[std::min<uint64_t>(j * granule, m.rows)]; };
  for (int k = 1; k < parts; ++k) {
    const uint64_t nnz = m.nnz(), share = uint64_t(parts);  // nnz * k / parts without overflow
    const uint64_t target = nnz / share * uint64_t(k) + nnz % share * uint64_t(k) / share;
    uint64_t lo = 0, hi = granules;  // the first granule cut at or past the target
    while (lo < hi) {
      const uint64_t mid = (lo + hi) / 2;
      if (at(mid) < target)
        lo = mid + 1;
      else
        hi = mid;
    }
    if (lo > 0 && target - at(lo - 1) < at(lo) - target) --lo;
    cuts[size_t(k)] = std::max(cuts[size_t(k) - 1], uint32_t(std::min<uint64_t>(lo * granule, m.rows)));
  }
  return cuts;
}

void run_collectively(Comm& comm, const std::function<void()>& fn) {
  int kind = kNone;
  std::string what;
  try {
    fn();
  } catch (const ReportedElsewhere&) {
    throw;
  } catch (const InputError& e) {
    kind = kInput, what = e.what();
  } catch (const FormatError& e) {
    kind = kFormat, what = e.what();
  } catch (const IoError& e) {
    kind = kIo, what = e.what();
  } catch (const ConfigError& e) {
    kind = kConfig, what = e.what();
  } catch (const std::bad_alloc&) {
    kind = kMemory, what = "out of memory";
  } catch (const std::exception& e) {
    kind = kOther, what = e.what();
  }
  std::vector<int> kinds(size_t(comm.size()));
  comm.allgather(&kind, sizeof kind, kinds.data());
  const auto failed = std::find_if(kinds.begin(), kinds.end(), [](int k) { return k != kNone; });
  if (failed == kinds.end()) return;
  const int from = int(failed - kinds.begin());
  uint64_t size = what.size();
  comm.bcast(&size, sizeof size, from);
  what.resize(size);
  comm.bcast(what.data(), size, from);
  if (comm.size() > 1 && from != 0) what = "rank " + std::to_string(from) + ": " + what;
  raise(*failed, what, comm.rank() == 0);
}

DistributedResult train_als_distributed(Comm& comm, const CsrView& user_items, const CsrView& item_users,
                                        const AlsConfig& cfg, const AlsProgress& progress,
                                        const RowCheck& check_rows) {
  g_agreed = false;
  try {
    const int n = comm.size(), me = comm.rank();
    const uint32_t f = cfg.factors, n_users = user_items.rows, n_videos = user_items.cols;
    const std::vector<uint32_t> user_cuts = balance_rows(user_items, n, gram_block(n_users));
    const std::vector<uint32_t> video_cuts = balance_rows(item_users, n, gram_block(n_videos));
    Block users, videos;
    float max_weight = 0;
    run_collectively(comm, [&] {
      cfg.validate();
      if (item_users.rows != n_videos || item_users.cols != n_users || item_users.nnz() != user_items.nnz())
        throw std::invalid_argument("train_als: item_users is not the transpose of user_items");
      if (check_rows) {
        check_rows(false, user_cuts[size_t(me)], user_cuts[size_t(me) + 1]);
        check_rows(true, video_cuts[size_t(me)], video_cuts[size_t(me) + 1]);
      }
      users = make_block(user_items, user_cuts[size_t(me)], user_cuts[size_t(me) + 1]);
      videos = make_block(item_users, video_cuts[size_t(me)], video_cuts[size_t(me) + 1]);
      check_weights(users.local.values, users.local.nnz(), user_items.indptr[users.begin], max_weight);
    });
    std::vector<float> maxima(static_cast<size_t>(n));
    comm.allgather(&max_weight, sizeof max_weight, maxima.data());
    max_weight = *std::max_element(maxima.begin(), maxima.end());

    // Owned factors (X) and the referenced factors of the other side (Y).
    arma::fmat X_u(f, users.end - users.begin), X_v(f, videos.end - videos.begin);
    arma::fmat Y_u(f, users.needed.size()), Y_v(f, videos.needed.size());
    init_factors(X_u, cfg.seed, uint64_t(users.begin) * f);
    init_factors(X_v, cfg.seed, (uint64_t(n_users) + videos.begin) * f);
    const Exchange videos_to_users = plan_exchange(comm, users.needed, video_cuts, f);
    const Exchange users_to_videos = plan_exchange(comm, videos.needed, user_cuts, f);
    std::vector<float> buffer;
    exchange(comm, videos_to_users, X_v, Y_u, buffer);

    DistributedResult result;
    result.user_cuts = user_cuts;
    for (uint32_t it = 1; it <= cfg.iterations; ++it) {
      const auto start = std::chrono::steady_clock::now();
      solve_all_rows(users.local, Y_u, system_gram(comm, X_v, gram_block(n_videos), cfg), X_u, cfg, n_videos);
      exchange(comm, users_to_videos, X_u, Y_v, buffer);
      solve_all_rows(videos.local, Y_v, system_gram(comm, X_u, gram_block(n_users), cfg), X_v, cfg, n_users);
      exchange(comm, videos_to_users, X_v, Y_u, buffer);  // for the next iteration and the loss
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      result.stats.iteration_seconds.push_back(seconds);
      run_collectively(comm, [&] {
        if (!X_u.is_finite() || !X_v.is_finite()) throw InputError(divergence_message(it, max_weight, cfg));
      });
      double loss = std::numeric_limits<double>::quiet_NaN();
      if (cfg.compute_loss) {
        loss = chain_loss(comm, users, X_u, Y_u, videos, X_v, n_users, n_videos, cfg);
        result.stats.loss.push_back(loss);
      }
      if (progress && me == 0) progress(it, seconds, loss);
    }
    result.own_users = std::move(X_u);
    result.item_factors = gather(comm, X_v, video_cuts, n_videos);
    return result;
  } catch (const std::exception& e) {
    if (g_agreed) throw;
    std::fprintf(stderr, "vidrec: error on rank %d of %d: %s\n", comm.rank(), comm.size(), e.what());
    comm.abort(dynamic_cast<const ConfigError*>(&e) ? 2 : 1);
  }
}

UserFactorSource::UserFactorSource(Comm& comm, const DistributedResult& result, uint32_t chunk)
    : comm_(comm), result_(result), chunk_(chunk) {}

void UserFactorSource::fill(uint32_t first, uint32_t count, float* out) {
  const std::vector<uint32_t>& cuts = result_.user_cuts;
  const uint64_t end = uint64_t(first) + count, f = result_.own_users.n_rows;
  if (first != next_ || (count != chunk_ && end != cuts.back()))
    throw std::logic_error("UserFactorSource: chunks out of order");
  for (int p = 0; p < comm_.size(); ++p) {
    const uint64_t b = std::max<uint64_t>(first, cuts[size_t(p)]),
                   e = std::min<uint64_t>(end, cuts[size_t(p) + 1]);
    if (b >= e) continue;
    float* to = out + (b - first) * f;
    if (p == 0)
      std::memcpy(to, result_.own_users.colptr(b), (e - b) * f * sizeof(float));
    else
      comm_.recv(p, to, (e - b) * f * sizeof(float));
  }
  next_ = end;
}

void UserFactorSource::drain() {
  std::vector<float> sink;
  while (next_ < result_.user_cuts.back()) {
    const auto count = uint32_t(std::min<uint64_t>(chunk_, result_.user_cuts.back() - next_));
    sink.resize(size_t(count) * result_.own_users.n_rows);
    fill(uint32_t(next_), count, sink.data());
  }
}

void send_user_factors(Comm& comm, const DistributedResult& result, uint32_t chunk) {
  const uint64_t b = result.user_cuts[size_t(comm.rank())], e = result.user_cuts[size_t(comm.rank()) + 1];
  const uint64_t f = result.own_users.n_rows;
  for (uint64_t first = b / chunk * chunk; first < e; first += chunk) {
    const uint64_t lo = std::max(first, b), hi = std::min(first + chunk, e);
    comm.send(0, result.own_users.colptr(lo - b), (hi - lo) * f * sizeof(float));
  }
}

}  // namespace vidrec
