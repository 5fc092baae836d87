// SPDX-License-Identifier: MIT
// The processes behind SageMaker multi-instance training (plan in
// sagemaker_mpi.hpp): sshd, the leader's wait for its workers, mpirun, and a
// worker's wait for the job to end.
//
// Contract
// - Programs are started with posix_spawnp and an argv, never through a shell.
// - start_sshd runs the daemon (it forks into the background) and throws
//   IoError when it cannot start or exits non-zero.
// - wait_for_ssh tries `SSH -o BatchMode=yes -o ConnectTimeout=5 HOST true`
//   for each host, once a second, for at most `seconds` in all; a host that
//   never answers is an IoError naming it and quoting ssh's last complaint.
// - run_job runs mpirun with this process's stdout, copies its stderr to
//   ours as it comes and returns its exit status (128 + N when killed by
//   signal N) with the end of that stderr.
// - wait_for_job_end (a worker) polls this host's processes for Open MPI's
//   daemon `orted`: returns once one has been seen and none is left, or once
//   the leader, having answered ssh, stops answering (it is gone and the job
//   with it). Throws IoError when neither an orted nor the leader's departure
//   is seen within `seconds`.
#pragma once
#include <string>
#include <vector>

namespace vidrec {

void start_sshd(const std::string& sshd);

void wait_for_ssh(const std::vector<std::string>& hosts, const std::string& ssh, unsigned seconds);

struct JobResult {
  int status = 0;
  std::string stderr_tail;  // the last few KiB
};

JobResult run_job(const std::vector<std::string>& argv);

// What ended a worker's wait, for its log line.
enum class JobEnd { OrtedGone, LeaderGone };

JobEnd wait_for_job_end(const std::string& current_host, const std::string& leader, const std::string& ssh,
                        unsigned seconds);

}  // namespace vidrec
