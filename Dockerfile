# SPDX-License-Identifier: MIT
# vidrec for Amazon SageMaker: `docker run IMAGE train` trains from
# /opt/ml/input into /opt/ml/model/model.vrm; `docker run IMAGE serve`
# answers /ping and /invocations on 0.0.0.0:8080 ($SAGEMAKER_BIND_TO_PORT).
# Any other command runs vidrec itself: `docker run IMAGE recommend ...`.
# With several training instances the hosts form one MPI job over ssh
# (README, "SageMaker multi-instance"). `--target serve` builds the smaller
# image for endpoints: the same commands, without Open MPI, ssh and OpenBLAS.
# scripts/container_test.sh builds both with podman and checks them.

FROM debian:bookworm-slim AS build
WORKDIR /src
COPY scripts/deps.sh scripts/deps.sh
RUN bash -c '. scripts/deps.sh && install_packages "${VIDREC_BUILD_PACKAGES[@]}"' && rm -rf /var/lib/apt/lists/*
COPY . .
# Installed under /out: the Runtime component (bin/vidrec, man pages, bash
# completion); under /out-mpi the Mpi one (lib/vidrec/libvidrec_mpi.so,
# which bin/vidrec loads from ../lib/vidrec under mpirun). Not the library
# and headers (packaging/).
RUN rm -rf build && cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DVIDREC_BUILD_TESTS=OFF \
 && cmake --build build --target vidrec vidrec_man \
 && cmake --install build --prefix /out --strip --component Runtime \
 && cmake --install build --prefix /out-mpi --strip --component Mpi

# The serving image, `docker build --target serve`: an endpoint's `serve`,
# and `train` on one instance. The binary links libc and libm alone (C++
# runtime, zlib and xxHash are static) and opens the rest when a command
# needs it: libmicrohttpd for serve, libzip for NumPy files, LAPACK for
# fold-in and explain (the reference one: fold-in's solves are small, and
# OpenBLAS would add 43 MB).
FROM debian:bookworm-slim AS serve
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libmicrohttpd12 libzip4 liblapack3 \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/debconf/*-old /var/log/apt /var/log/dpkg.log \
 && useradd --system --no-create-home --shell /usr/sbin/nologin vidrec \
 && mkdir -p /opt/ml/model /opt/ml/input /opt/ml/output
COPY --from=build /out/ /usr/local/
COPY docker/entrypoint.sh /usr/local/bin/entrypoint.sh
# SageMaker mounts /opt/ml as root and training writes there, so the image
# starts as root; entrypoint.sh drops to the vidrec user for `serve`.
ENV SM_ROOT=/opt/ml
EXPOSE 8080
# Healthy while `serve` answers /ping, asked by the binary itself (no curl);
# other commands (train, recommend ...) serve nothing, so they count as healthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD tr '\0' ' ' </proc/1/cmdline | grep -q 'sagemaker serve' || exit 0; vidrec sagemaker ping --timeout 4
ENTRYPOINT ["/bin/sh", "/usr/local/bin/entrypoint.sh"]
CMD ["serve"]

# The default image: the serving one plus training at scale. OpenBLAS for
# the Cholesky solver; Open MPI and ssh for multi-instance jobs.
# One root key pair, baked into the image, lets every container of a job log
# into every other: SageMaker's training network is private to the job, as in
# AWS's own MPI containers. pam_loginuid would end each session in a
# container (no CAP_AUDIT_CONTROL).
FROM serve
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libopenblas0-pthread openmpi-bin openssh-server openssh-client \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/debconf/*-old /var/log/apt /var/log/dpkg.log \
 && mkdir -p /run/sshd /root/.ssh && chmod 700 /root/.ssh && ssh-keygen -A \
 && ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/id_ed25519 \
 && cp /root/.ssh/id_ed25519.pub /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys \
 && printf 'Host *\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n' >/root/.ssh/config \
 && sed -i 's/^session\s*required\s*pam_loginuid.so/session optional pam_loginuid.so/' /etc/pam.d/sshd
COPY --from=build /out-mpi/ /usr/local/
