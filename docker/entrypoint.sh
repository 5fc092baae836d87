#!/bin/sh
# SPDX-License-Identifier: MIT
# SageMaker starts the image as `docker run IMAGE train` or `... serve`;
# anything else runs vidrec itself (`docker run IMAGE recommend ...`).
# Serving needs no privileges, so as root it drops to the image's vidrec user;
# training stays root because SageMaker mounts /opt/ml owned by root, and a
# multi-instance job's sshd and mpirun run as root.
set -e
cmd=${1:-serve}
[ $# -gt 0 ] && shift
case "$cmd" in
  train) exec vidrec sagemaker train "$@" ;;
  serve)
    if [ "$(id -u)" = 0 ] && id vidrec >/dev/null 2>&1; then
      exec setpriv --reuid=vidrec --regid=vidrec --init-groups vidrec sagemaker serve "$@"
    fi
    exec vidrec sagemaker serve "$@" ;;
  *) exec vidrec "$cmd" "$@" ;;
esac
