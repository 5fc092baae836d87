// SPDX-License-Identifier: MIT
// Comm (comm.hpp) over MPI, built as the plugin libvidrec_mpi.so. MPI counts
// are ints, so transfers go in chunks of at most 1 GiB; MPI keeps messages
// between two ranks in order, so the chunks of one transfer match up.
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "vidrec/base/comm.hpp"

namespace vidrec {
namespace {

constexpr size_t kChunk = size_t(1) << 30;
constexpr int kTag = 7;

class MpiComm final : public Comm {
 public:
  MpiComm() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm host;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &host);
    MPI_Comm_size(host, &local_size_);
    MPI_Comm_free(&host);
  }
  ~MpiComm() override { MPI_Finalize(); }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_size() const override { return local_size_; }

  void allgather(const void* send, size_t bytes, void* recv) override {
    if (bytes * size_t(size_) > kChunk) throw std::length_error("allgather: more than 1 GiB");
    MPI_Allgather(send, int(bytes), MPI_BYTE, recv, int(bytes), MPI_BYTE, MPI_COMM_WORLD);
  }

  void alltoallv(const void* send, const std::vector<size_t>& send_off, void* recv,
                 const std::vector<size_t>& recv_off) override {
    const auto* out = static_cast<const char*>(send);
    auto* in = static_cast<char*>(recv);
    std::vector<MPI_Request> requests;
    for (int p = 0; p < size_; ++p) {
      if (p == rank_) continue;
      post(in + recv_off[p], recv_off[p + 1] - recv_off[p], p, requests, true);
      post(const_cast<char*>(out + send_off[p]), send_off[p + 1] - send_off[p], p, requests, false);
    }
    const size_t own = send_off[rank_ + 1] - send_off[rank_];
    if (own) std::memcpy(in + recv_off[rank_], out + send_off[rank_], own);
    MPI_Waitall(int(requests.size()), requests.data(), MPI_STATUSES_IGNORE);
  }

  void send(int to, const void* data, size_t bytes) override {
    const auto* p = static_cast<const char*>(data);
    for (size_t done = 0; done < bytes; done += kChunk)
      MPI_Send(p + done, int(std::min(kChunk, bytes - done)), MPI_BYTE, to, kTag, MPI_COMM_WORLD);
  }
  void recv(int from, void* data, size_t bytes) override {
    auto* p = static_cast<char*>(data);
    for (size_t done = 0; done < bytes; done += kChunk)
      MPI_Recv(p + done, int(std::min(kChunk, bytes - done)), MPI_BYTE, from, kTag, MPI_COMM_WORLD,
               MPI_STATUS_IGNORE);
  }
  void bcast(void* data, size_t bytes, int root) override {
    auto* p = static_cast<char*>(data);
    for (size_t done = 0; done < bytes; done += kChunk)
      MPI_Bcast(p + done, int(std::min(kChunk, bytes - done)), MPI_BYTE, root, MPI_COMM_WORLD);
  }
  void abort_job(int code) override { MPI_Abort(MPI_COMM_WORLD, code); }

 private:
  void post(char* data, size_t bytes, int peer, std::vector<MPI_Request>& requests, bool receive) {
    for (size_t done = 0; done < bytes; done += kChunk) {
      requests.emplace_back();
      const int n = int(std::min(kChunk, bytes - done));
      if (receive)
        MPI_Irecv(data + done, n, MPI_BYTE, peer, kTag, MPI_COMM_WORLD, &requests.back());
      else
        MPI_Isend(data + done, n, MPI_BYTE, peer, kTag, MPI_COMM_WORLD, &requests.back());
    }
  }

  int rank_ = 0, size_ = 1, local_size_ = 1;
};

}  // namespace
}  // namespace vidrec

extern "C" __attribute__((visibility("default"))) vidrec::Comm* vidrec_mpi_comm_create(char* error,
                                                                                       size_t error_size) {
  // Only the calling thread talks to MPI; the solver's threads never do.
  int provided = 0;
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
    std::snprintf(error, error_size, "MPI_Init_thread failed");
    return nullptr;
  }
  try {
    return new vidrec::MpiComm();
  } catch (const std::exception& e) {
    std::snprintf(error, error_size, "%s", e.what());
    return nullptr;
  }
}
