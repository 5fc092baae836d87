// SPDX-License-Identifier: MIT
// Comm (base/comm.hpp) between threads of one process: N "ranks" run as
// threads, so the distributed code is tested here, under the sanitizers,
// without mpirun. Collectives meet at a barrier and copy from each other's
// buffers; point-to-point messages go through per-pair queues.
#pragma once
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "vidrec/base/comm.hpp"

namespace vidrec::test {

class ThreadGroup {
 public:
  explicit ThreadGroup(int n)
      : n_(n), posted_(size_t(n)), offsets_(size_t(n)), boxes_(size_t(n) * size_t(n)) {}

  // Runs fn(comm) on n threads; rethrows the first exception a thread raised.
  void run(const std::function<void(Comm&)>& fn);

 private:
  friend class ThreadComm;
  void barrier() {
    std::unique_lock<std::mutex> lock(mutex_);
    const uint64_t gen = generation_;
    if (++arrived_ == n_) {
      arrived_ = 0;
      ++generation_;
      cv_.notify_all();
    } else {
      cv_.wait(lock, [&] { return generation_ != gen; });
    }
  }
  struct Box {
    std::mutex mutex;
    std::condition_variable cv;
    std::deque<std::vector<char>> messages;
  };
  int n_;
  std::mutex mutex_;
  std::condition_variable cv_;
  int arrived_ = 0;
  uint64_t generation_ = 0;
  std::vector<const char*> posted_;
  std::vector<const std::vector<size_t>*> offsets_;
  std::vector<Box> boxes_;  // [from * n + to]
};

class ThreadComm final : public Comm {
 public:
  ThreadComm(ThreadGroup& g, int rank) : g_(g), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return g_.n_; }
  int local_size() const override { return g_.n_; }
  void allgather(const void* send, size_t bytes, void* recv) override {
    post(send, nullptr);
    for (int p = 0; p < g_.n_; ++p)
      std::memcpy(static_cast<char*>(recv) + size_t(p) * bytes, g_.posted_[size_t(p)], bytes);
    g_.barrier();
  }
  void alltoallv(const void* send, const std::vector<size_t>& send_off, void* recv,
                 const std::vector<size_t>& recv_off) override {
    post(send, &send_off);
    for (int p = 0; p < g_.n_; ++p) {
      const std::vector<size_t>& off = *g_.offsets_[size_t(p)];
      const size_t bytes = off[size_t(rank_) + 1] - off[size_t(rank_)];
      if (bytes != recv_off[size_t(p) + 1] - recv_off[size_t(p)])
        throw std::logic_error("alltoallv: sizes disagree");
      if (bytes)
        std::memcpy(static_cast<char*>(recv) + recv_off[size_t(p)],
                    g_.posted_[size_t(p)] + off[size_t(rank_)], bytes);
    }
    g_.barrier();
  }
  void send(int to, const void* data, size_t bytes) override {
    auto& box = g_.boxes_[size_t(rank_) * size_t(g_.n_) + size_t(to)];
    std::lock_guard<std::mutex> lock(box.mutex);
    box.messages.emplace_back(static_cast<const char*>(data), static_cast<const char*>(data) + bytes);
    box.cv.notify_all();
  }
  void recv(int from, void* data, size_t bytes) override {
    auto& box = g_.boxes_[size_t(from) * size_t(g_.n_) + size_t(rank_)];
    std::unique_lock<std::mutex> lock(box.mutex);
    box.cv.wait(lock, [&] { return !box.messages.empty(); });
    if (box.messages.front().size() != bytes) throw std::logic_error("recv: message size disagrees");
    if (bytes) std::memcpy(data, box.messages.front().data(), bytes);
    box.messages.pop_front();
  }
  void bcast(void* data, size_t bytes, int root) override {
    post(data, nullptr);
    if (rank_ != root && bytes) std::memcpy(data, g_.posted_[size_t(root)], bytes);
    g_.barrier();
  }

 protected:
  void abort_job(int) override { std::abort(); }  // a test bug: ranks would wait forever

 private:
  void post(const void* data, const std::vector<size_t>* offsets) {
    g_.posted_[size_t(rank_)] = static_cast<const char*>(data);
    g_.offsets_[size_t(rank_)] = offsets;
    g_.barrier();
  }
  ThreadGroup& g_;
  int rank_;
};

inline void ThreadGroup::run(const std::function<void(Comm&)>& fn) {
  std::vector<std::exception_ptr> errors(static_cast<size_t>(n_));
  std::vector<std::thread> threads;
  for (int r = 0; r < n_; ++r)
    threads.emplace_back([&, r] {
      ThreadComm comm(*this, r);
      try {
        fn(comm);
      } catch (...) {
        errors[size_t(r)] = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace vidrec::test
