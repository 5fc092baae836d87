# SPDX-License-Identifier: MIT
# vidrec for Amazon SageMaker: `docker run IMAGE train` trains from
# /opt/ml/input into /opt/ml/model/model.vrm; `docker run IMAGE serve`
# answers /ping and /invocations on 0.0.0.0:8080 ($SAGEMAKER_BIND_TO_PORT).
# Any other command runs vidrec itself: `docker run IMAGE recommend ...`.

FROM debian:bookworm-slim AS build
WORKDIR /src
COPY scripts/deps.sh scripts/deps.sh
RUN bash -c '. scripts/deps.sh && install_deps' && rm -rf /var/lib/apt/lists/*
COPY . .
RUN rm -rf build && cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DVIDREC_BUILD_TESTS=OFF \
 && cmake --build build --target vidrec \
 && strip build/apps/vidrec

FROM debian:bookworm-slim
# Runtime libraries only: OpenBLAS, libmicrohttpd,
# xxHash, zlib; curl for the container's own health checks.
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libopenblas0-pthread libarmadillo11 libmicrohttpd12 libxxhash0 zlib1g curl ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --no-create-home --shell /usr/sbin/nologin vidrec \
 && mkdir -p /opt/ml/model /opt/ml/input /opt/ml/output
COPY --from=build /src/build/apps/vidrec /usr/local/bin/vidrec
COPY docker/entrypoint.sh /usr/local/bin/entrypoint.sh
# SageMaker mounts /opt/ml as root and training writes there, so the image
# starts as root; entrypoint.sh drops to the vidrec user for `serve`.
ENV SM_ROOT=/opt/ml
EXPOSE 8080
ENTRYPOINT ["/bin/sh", "/usr/local/bin/entrypoint.sh"]
CMD ["serve"]
