// SPDX-License-Identifier: MIT
// EntryBlocks (features.hpp): the hand-over between emit() and its sink.
#include "vidrec/ingest/features.hpp"

namespace vidrec {

EntryBlocks::EntryBlocks(const std::function<void(const EntryBlock&)>& sink, bool pipelined) : sink_(sink) {
  if (pipelined) writer_ = std::thread([this] { drain(); });
}

EntryBlocks::~EntryBlocks() {
  if (!writer_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
  }
  cv_.notify_all();
  writer_.join();
}

void EntryBlocks::hand_over() {
  if (!writer_.joinable()) {
    sink_(fill_->block());
    fill_->n = 0;
    return;
  }
  Buffer* next = fill_ == &buffers_[0] ? &buffers_[1] : &buffers_[0];
  std::unique_lock<std::mutex> lock(mu_);
  fill_->full = true;
  cv_.notify_all();
  cv_.wait(lock, [&] { return !next->full; });
  if (error_) std::rethrow_exception(error_);
  fill_ = next;
  fill_->n = 0;
}

void EntryBlocks::flush() {
  if (fill_->n) hand_over();
  if (!writer_.joinable()) return;
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !buffers_[0].full && !buffers_[1].full; });
  if (error_) std::rethrow_exception(error_);
}

// Takes the buffers in turn; after a failure it only hands them back, so the
// producer learns of it at its next hand-over. done_: abandoned (the
// destructor; flush() has returned or the producer has thrown).
void EntryBlocks::drain() {
  Buffer* take = &buffers_[0];
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return take->full || done_; });
    if (done_) return;
    const bool failed = bool(error_);
    lock.unlock();
    std::exception_ptr e;
    if (!failed) {
      try {
        sink_(take->block());
      } catch (...) {
        e = std::current_exception();
      }
    }
    lock.lock();
    if (e) error_ = e;
    take->full = false;
    cv_.notify_all();
    take = take == &buffers_[0] ? &buffers_[1] : &buffers_[0];
  }
}

}  // namespace vidrec
