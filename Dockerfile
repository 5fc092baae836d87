# SPDX-License-Identifier: MIT
# vidrec for Amazon SageMaker: `docker run IMAGE train` trains from
# /opt/ml/input into /opt/ml/model/model.vrm; `docker run IMAGE serve`
# answers /ping and /invocations on 0.0.0.0:8080 ($SAGEMAKER_BIND_TO_PORT).
# Any other command runs vidrec itself: `docker run IMAGE recommend ...`.
# With several training instances the hosts form one MPI job over ssh
# (README, "SageMaker multi-instance").

FROM debian:bookworm-slim AS build
WORKDIR /src
COPY scripts/deps.sh scripts/deps.sh
RUN bash -c '. scripts/deps.sh && install_deps' && rm -rf /var/lib/apt/lists/*
COPY . .
# Installed under /out: the Runtime component (bin/vidrec, man pages, bash
# completion) and the Mpi one (lib/vidrec/libvidrec_mpi.so, which bin/vidrec
# loads from ../lib/vidrec); not the library and headers (packaging/).
RUN rm -rf build && cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DVIDREC_BUILD_TESTS=OFF \
 && cmake --build build --target vidrec vidrec_man \
 && cmake --install build --prefix /out --strip --component Runtime \
 && cmake --install build --prefix /out --strip --component Mpi

FROM debian:bookworm-slim
# Runtime libraries only: OpenBLAS, libmicrohttpd, libzip,
# xxHash, zlib; curl for the container's own health checks; Open MPI and ssh
# for multi-instance training.
# One root key pair, baked into the image, lets every container of a job log
# into every other: SageMaker's training network is private to the job, as in
# AWS's own MPI containers. pam_loginuid would end each session in a
# container (no CAP_AUDIT_CONTROL).
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libopenblas0-pthread libarmadillo11 libmicrohttpd12 libxxhash0 zlib1g libzip4 curl ca-certificates \
      openmpi-bin openssh-server openssh-client \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /run/sshd /root/.ssh && chmod 700 /root/.ssh && ssh-keygen -A \
 && ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/id_ed25519 \
 && cp /root/.ssh/id_ed25519.pub /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys \
 && printf 'Host *\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n' >/root/.ssh/config \
 && sed -i 's/^session\s*required\s*pam_loginuid.so/session optional pam_loginuid.so/' /etc/pam.d/sshd \
 && useradd --system --no-create-home --shell /usr/sbin/nologin vidrec \
 && mkdir -p /opt/ml/model /opt/ml/input /opt/ml/output
COPY --from=build /out/ /usr/local/
COPY docker/entrypoint.sh /usr/local/bin/entrypoint.sh
# SageMaker mounts /opt/ml as root and training writes there, so the image
# starts as root; entrypoint.sh drops to the vidrec user for `serve`.
ENV SM_ROOT=/opt/ml
EXPOSE 8080
# Healthy while `serve` answers /ping; other commands (train, recommend ...)
# serve nothing, so they count as healthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD tr '\0' ' ' </proc/1/cmdline | grep -q 'sagemaker serve' || exit 0; \
      curl -fsS -o /dev/null "http://127.0.0.1:${SAGEMAKER_BIND_TO_PORT:-8080}/ping" || exit 1
ENTRYPOINT ["/bin/sh", "/usr/local/bin/entrypoint.sh"]
CMD ["serve"]
