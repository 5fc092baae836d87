# SPDX-License-Identifier: MIT
# Sourced by the other scripts: installs the Debian packages vidrec needs,
# only those missing, so a second run costs nothing.
# What building the binary and its man pages needs (the image's build stage):
VIDREC_BUILD_PACKAGES=(g++ cmake ninja-build pkg-config
  libcli11-dev libarmadillo-dev libfccp-dev zlib1g-dev nlohmann-json3-dev libxxhash-dev
  libmicrohttpd-dev openmpi-bin libopenmpi-dev libzip-dev libhnswlib-dev help2man)
# ... and what the tests, the demo and packaging add.
VIDREC_PACKAGES=("${VIDREC_BUILD_PACKAGES[@]}" gzip libopenblas0 catch2 curl
  python3-numpy python3-scipy dpkg-dev file chromium)

# install_deps [PACKAGE...]: VIDREC_PACKAGES and these.
install_deps() { install_packages "${VIDREC_PACKAGES[@]}" "$@"; }

install_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "Installing: ${missing[*]}" >&2
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "need root (or sudo) to install: ${missing[*]}" >&2; return 1; }
    sudo=sudo
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# configure_build DIR BUILD_TYPE [TARGET [CMAKE_ARGS...]] -- configures and builds TARGET (default: all)
configure_build() {
  local dir=$1 type=$2 target=${3:-all}
  shift $(($# < 3 ? $# : 3))
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" "$@" >/dev/null
  cmake --build "$dir" -j "$(nproc)" --target "$target"
}
