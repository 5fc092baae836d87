// SPDX-License-Identifier: MIT
// The processes of one distributed job (`mpirun -np N vidrec train ...`), as
// the few collectives training needs.
//
// Contract
// - launched_comm() returns the job's communicator when this process was
//   started by an MPI launcher (Open MPI's mpirun sets OMPI_COMM_WORLD_SIZE;
//   PMIx launchers PMIX_RANK), else nullptr: a plain `vidrec` never loads MPI.
// - The MPI implementation lives in a plugin, libvidrec_mpi.so, loaded with
//   dlopen from beside the executable (or ../lib/vidrec/ when installed, or
//   $VIDREC_MPI_PLUGIN), so commands that never run under mpirun start
//   without MPI's libraries. Launched by mpirun without the plugin is an
//   IoError saying this build has no MPI support.
// - The communicator lives until the process exits (MPI_Finalize runs then),
//   so rank 0 prints a failure before any rank can leave the job: mpirun
//   kills the remaining ranks as soon as one exits non-zero.
// - Sizes are in bytes and may exceed 2^31 (implementations split them).
// - Every call is collective over all ranks unless said otherwise, and is
//   made from the thread that created the communicator.
// - abort() ends every rank of the job with `code` (MPI_Abort): for errors
//   that one rank meets in the middle of a collective step.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

namespace vidrec {

class Comm {
 public:
  virtual ~Comm() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Ranks on this host (sharing its cores).
  virtual int local_size() const = 0;
  // recv (size() * bytes) = every rank's `bytes` from `send`, in rank order.
  virtual void allgather(const void* send, size_t bytes, void* recv) = 0;
  // Rank r's send[send_off[r] .. send_off[r+1]) arrives at rank r, in
  // recv[recv_off[me] ..); the offsets (size() + 1 each) must agree pairwise.
  virtual void alltoallv(const void* send, const std::vector<size_t>& send_off, void* recv,
                         const std::vector<size_t>& recv_off) = 0;
  // Point to point (not collective): a message of exactly `bytes`.
  virtual void send(int to, const void* data, size_t bytes) = 0;
  virtual void recv(int from, void* data, size_t bytes) = 0;
  virtual void bcast(void* data, size_t bytes, int root) = 0;
  [[noreturn]] void abort(int code) {
    abort_job(code);
    std::_Exit(code);  // should the implementation return
  }

 protected:
  virtual void abort_job(int code) = 0;
};

Comm* launched_comm();

// What the plugin exports: creates the communicator (MPI_Init_thread) or
// returns null, writing the reason to `error` (`error_size` bytes).
extern "C" using CommFactory = Comm * (*)(char* error, size_t error_size);
inline constexpr const char* kCommFactorySymbol = "vidrec_mpi_comm_create";

}  // namespace vidrec
