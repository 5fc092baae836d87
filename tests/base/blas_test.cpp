// SPDX-License-Identifier: MIT
#include "vidrec/base/blas.hpp"

#include <dlfcn.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <armadillo>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

extern char** environ;

namespace {

bool openblas_mapped() {
  void* h = ::dlopen("libopenblas.so.0", RTLD_NOW | RTLD_NOLOAD);
  if (h) ::dlclose(h);
  return h != nullptr;
}

}  // namespace

// Needs a process in which nothing has called BLAS yet, so hidden: the test
// below runs it in a fresh copy of this executable, OPENBLAS_NUM_THREADS=1.
TEST_CASE("blas: first call in a fresh process", "[.blas_fresh]") {
  const char* env = std::getenv("OPENBLAS_NUM_THREADS");
  REQUIRE(std::string(env ? env : "unset") == "1");  // as the test below runs it
  REQUIRE_FALSE(openblas_mapped());
  // The thread count is kept, not loaded for.
  openblas_set_num_threads(2);
  CHECK(openblas_get_num_threads() == 2);
  CHECK_FALSE(openblas_mapped());

  // C = alpha A B^T + beta C, 3x4 = 3x5 * (4x5)^T, column-major, against a
  // hand loop; transB exercises the hidden string-length arguments.
  const arma::blas_int m = 3, n = 4, k = 5;
  std::vector<double> a(m * k), b(n * k), c(m * n, 1.0), want(m * n);
  for (size_t i = 0; i < a.size(); ++i) a[i] = 0.5 * static_cast<double>(i) - 3.0;
  for (size_t i = 0; i < b.size(); ++i) b[i] = 1.0 / static_cast<double>(i + 1);
  const double alpha = 2.0, beta = -1.0;
  for (arma::blas_int i = 0; i < m; ++i)
    for (arma::blas_int j = 0; j < n; ++j) {
      double s = 0;
      for (arma::blas_int p = 0; p < k; ++p) s += a[i + p * m] * b[j + p * n];
      want[i + j * m] = alpha * s + beta * 1.0;
    }
  arma::dgemm_("N", "T", &m, &n, &k, &alpha, a.data(), &m, b.data(), &n, &beta, c.data(), &m, 1, 1);
  CHECK(openblas_mapped());
  for (size_t i = 0; i < c.size(); ++i) CHECK(c[i] == Approx(want[i]).epsilon(1e-13));

  // The count set before the load was applied by it; below 1, the library's
  // default (here OPENBLAS_NUM_THREADS) comes back.
  CHECK(openblas_get_num_threads() == 2);
  openblas_set_num_threads(0);
  CHECK(openblas_get_num_threads() == 1);
}

TEST_CASE("blas: the first call loads OpenBLAS and forwards to it (fresh process)", "[base]") {
  char exe[4096];
  const ssize_t len = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  REQUIRE(len > 0);
  exe[len] = '\0';
  std::vector<char*> env;
  static char threads[] = "OPENBLAS_NUM_THREADS=1";
  env.push_back(threads);
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "OPENBLAS_NUM_THREADS=", 21) != 0) env.push_back(*e);
  env.push_back(nullptr);
  static char name[] = "blas: first call in a fresh process";
  char* argv[] = {exe, name, nullptr};
  pid_t pid = 0;
  REQUIRE(::posix_spawn(&pid, exe, nullptr, nullptr, argv, env.data()) == 0);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("blas: LAPACK through the loaded library solves as a hand check says", "[base]") {
  // An SPD system (as the ALS solver's): A x = b, checked by the residual
  // computed by hand, and a dot product against a plain sum.
  const arma::uword n = 6;
  arma::mat g(n, n);
  for (arma::uword i = 0; i < n; ++i)
    for (arma::uword j = 0; j < n; ++j) g(i, j) = 1.0 / static_cast<double>(i + j + 1) + (i == j ? 1.0 : 0.0);
  arma::vec rhs(n);
  for (arma::uword i = 0; i < n; ++i) rhs(i) = static_cast<double>(i) - 2.5;
  arma::vec x;
  REQUIRE(arma::solve(x, g, rhs, arma::solve_opts::likely_sympd));
  for (arma::uword i = 0; i < n; ++i) {
    double r = -rhs(i);
    for (arma::uword j = 0; j < n; ++j) r += g(i, j) * x(j);
    CHECK(std::abs(r) < 1e-12);
  }
  const arma::blas_int len = 100, one = 1;
  std::vector<double> u(len), v(len);
  double want = 0;
  for (arma::blas_int i = 0; i < len; ++i) {
    u[i] = 0.25 * i;
    v[i] = 1.0 - 0.01 * i;
    want += u[i] * v[i];
  }
  CHECK(arma::ddot_(&len, u.data(), &one, v.data(), &one) == Approx(want).epsilon(1e-13));
  CHECK(openblas_mapped());
}
