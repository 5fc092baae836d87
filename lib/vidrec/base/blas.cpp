// SPDX-License-Identifier: MIT
#include "vidrec/base/blas.hpp"

// Armadillo declares the BLAS and LAPACK prototypes it calls: the definitions
// below must agree with them, or the compiler rejects the conflicting C
// declarations (checked: a parameter's const dropped fails the build).
#include <armadillo>
#include <mutex>
#include <string>

#include "vidrec/base/dynlib.hpp"
#include "vidrec/base/errors.hpp"

namespace {

using arma::blas_int;
using arma::blas_len;

// X(return type, symbol, (parameters), (arguments)): what Armadillo (with
// ARMA_USE_FORTRAN_HIDDEN_ARGS: a Fortran CHARACTER argument's length comes
// last, hidden) calls from this project's code and tests, found by `nm -u` on
// their objects; one missing fails the link.
// clang-format off
#define VIDREC_BLAS_FUNCTIONS(X) \
  X(float, sdot_, (const blas_int* n, const float* x, const blas_int* incx, const float* y, const blas_int* incy), (n, x, incx, y, incy)) \
  X(double, ddot_, (const blas_int* n, const double* x, const blas_int* incx, const double* y, const blas_int* incy), (n, x, incx, y, incy)) \
  X(double, dnrm2_, (const blas_int* n, const double* x, const blas_int* incx), (n, x, incx)) \
  X(void, dgemm_, (const char* transA, const char* transB, const blas_int* m, const blas_int* n, const blas_int* k, const double* alpha, const double* A, const blas_int* ldA, const double* B, const blas_int* ldB, const double* beta, double* C, const blas_int* ldC, blas_len transA_len, blas_len transB_len), (transA, transB, m, n, k, alpha, A, ldA, B, ldB, beta, C, ldC, transA_len, transB_len)) \
  X(void, dgemv_, (const char* transA, const blas_int* m, const blas_int* n, const double* alpha, const double* A, const blas_int* ldA, const double* x, const blas_int* incx, const double* beta, double* y, const blas_int* incy, blas_len transA_len), (transA, m, n, alpha, A, ldA, x, incx, beta, y, incy, transA_len)) \
  X(void, sgemv_, (const char* transA, const blas_int* m, const blas_int* n, const float* alpha, const float* A, const blas_int* ldA, const float* x, const blas_int* incx, const float* beta, float* y, const blas_int* incy, blas_len transA_len), (transA, m, n, alpha, A, ldA, x, incx, beta, y, incy, transA_len)) \
  X(void, dsyrk_, (const char* uplo, const char* transA, const blas_int* n, const blas_int* k, const double* alpha, const double* A, const blas_int* ldA, const double* beta, double* C, const blas_int* ldC, blas_len uplo_len, blas_len transA_len), (uplo, transA, n, k, alpha, A, ldA, beta, C, ldC, uplo_len, transA_len)) \
  X(void, dgbcon_, (const char* norm, const blas_int* n, const blas_int* kl, const blas_int* ku, const double* ab, const blas_int* ldab, const blas_int* ipiv, const double* anorm, double* rcond, double* work, blas_int* iwork, blas_int* info, blas_len norm_len), (norm, n, kl, ku, ab, ldab, ipiv, anorm, rcond, work, iwork, info, norm_len)) \
  X(void, dgbsv_, (const blas_int* n, const blas_int* kl, const blas_int* ku, const blas_int* nrhs, double* ab, const blas_int* ldab, blas_int* ipiv, double* b, const blas_int* ldb, blas_int* info), (n, kl, ku, nrhs, ab, ldab, ipiv, b, ldb, info)) \
  X(void, dgbsvx_, (const char* fact, const char* trans, const blas_int* n, const blas_int* kl, const blas_int* ku, const blas_int* nrhs, double* ab, const blas_int* ldab, double* afb, const blas_int* ldafb, blas_int* ipiv, char* equed, double* r, double* c, double* b, const blas_int* ldb, double* x, const blas_int* ldx, double* rcond, double* ferr, double* berr, double* work, blas_int* iwork, blas_int* info, blas_len fact_len, blas_len trans_len, blas_len equed_len), (fact, trans, n, kl, ku, nrhs, ab, ldab, afb, ldafb, ipiv, equed, r, c, b, ldb, x, ldx, rcond, ferr, berr, work, iwork, info, fact_len, trans_len, equed_len)) \
  X(void, dgbtrf_, (const blas_int* m, const blas_int* n, const blas_int* kl, const blas_int* ku, double* ab, const blas_int* ldab, blas_int* ipiv, blas_int* info), (m, n, kl, ku, ab, ldab, ipiv, info)) \
  X(void, dgbtrs_, (const char* trans, const blas_int* n, const blas_int* kl, const blas_int* ku, const blas_int* nrhs, const double* ab, const blas_int* ldab, const blas_int* ipiv, double* b, const blas_int* ldb, blas_int* info, blas_len trans_len), (trans, n, kl, ku, nrhs, ab, ldab, ipiv, b, ldb, info, trans_len)) \
  X(void, dgecon_, (const char* norm, const blas_int* n, const double* a, const blas_int* lda, const double* anorm, double* rcond, double* work, blas_int* iwork, blas_int* info, blas_len norm_len), (norm, n, a, lda, anorm, rcond, work, iwork, info, norm_len)) \
  X(void, dgels_, (const char* trans, const blas_int* m, const blas_int* n, const blas_int* nrhs, double* a, const blas_int* lda, double* b, const blas_int* ldb, double* work, const blas_int* lwork, blas_int* info, blas_len trans_len), (trans, m, n, nrhs, a, lda, b, ldb, work, lwork, info, trans_len)) \
  X(void, dgelsd_, (const blas_int* m, const blas_int* n, const blas_int* nrhs, double* a, const blas_int* lda, double* b, const blas_int* ldb, double* S, const double* rcond, blas_int* rank, double* work, const blas_int* lwork, blas_int* iwork, blas_int* info), (m, n, nrhs, a, lda, b, ldb, S, rcond, rank, work, lwork, iwork, info)) \
  X(void, dgesv_, (const blas_int* n, const blas_int* nrhs, double* a, const blas_int* lda, blas_int* ipiv, double* b, const blas_int* ldb, blas_int* info), (n, nrhs, a, lda, ipiv, b, ldb, info)) \
  X(void, dgesvx_, (const char* fact, const char* trans, const blas_int* n, const blas_int* nrhs, double* a, const blas_int* lda, double* af, const blas_int* ldaf, blas_int* ipiv, char* equed, double* r, double* c, double* b, const blas_int* ldb, double* x, const blas_int* ldx, double* rcond, double* ferr, double* berr, double* work, blas_int* iwork, blas_int* info, blas_len fact_len, blas_len trans_len, blas_len equed_len), (fact, trans, n, nrhs, a, lda, af, ldaf, ipiv, equed, r, c, b, ldb, x, ldx, rcond, ferr, berr, work, iwork, info, fact_len, trans_len, equed_len)) \
  X(void, dgetrf_, (const blas_int* m, const blas_int* n, double* a, const blas_int* lda, blas_int* ipiv, blas_int* info), (m, n, a, lda, ipiv, info)) \
  X(void, dgetrs_, (const char* trans, const blas_int* n, const blas_int* nrhs, const double* a, const blas_int* lda, const blas_int* ipiv, double* b, const blas_int* ldb, blas_int* info, blas_len trans_len), (trans, n, nrhs, a, lda, ipiv, b, ldb, info, trans_len)) \
  X(void, dgtsv_, (const blas_int* n, const blas_int* nrhs, double* dl, double* d, double* du, double* b, const blas_int* ldb, blas_int* info), (n, nrhs, dl, d, du, b, ldb, info)) \
  X(double, dlangb_, (const char* norm, const blas_int* n, const blas_int* kl, const blas_int* ku, const double* ab, const blas_int* ldab, double* work, blas_len norm_len), (norm, n, kl, ku, ab, ldab, work, norm_len)) \
  X(double, dlange_, (const char* norm, const blas_int* m, const blas_int* n, const double* a, const blas_int* lda, double* work, blas_len norm_len), (norm, m, n, a, lda, work, norm_len)) \
  X(double, dlansy_, (const char* norm, const char* uplo, const blas_int* n, const double* a, const blas_int* lda, double* work, blas_len norm_len, blas_len uplo_len), (norm, uplo, n, a, lda, work, norm_len, uplo_len)) \
  X(void, dpbtrf_, (const char* uplo, const blas_int* n, const blas_int* kd, double* ab, const blas_int* ldab, blas_int* info, blas_len uplo_len), (uplo, n, kd, ab, ldab, info, uplo_len)) \
  X(void, dpocon_, (const char* uplo, const blas_int* n, const double* a, const blas_int* lda, const double* anorm, double* rcond, double* work, blas_int* iwork, blas_int* info, blas_len uplo_len), (uplo, n, a, lda, anorm, rcond, work, iwork, info, uplo_len)) \
  X(void, dposv_, (const char* uplo, const blas_int* n, const blas_int* nrhs, double* a, const blas_int* lda, double* b, const blas_int* ldb, blas_int* info, blas_len uplo_len), (uplo, n, nrhs, a, lda, b, ldb, info, uplo_len)) \
  X(void, dposvx_, (const char* fact, const char* uplo, const blas_int* n, const blas_int* nrhs, double* a, const blas_int* lda, double* af, const blas_int* ldaf, char* equed, double* s, double* b, const blas_int* ldb, double* x, const blas_int* ldx, double* rcond, double* ferr, double* berr, double* work, blas_int* iwork, blas_int* info, blas_len fact_len, blas_len uplo_len, blas_len equed_len), (fact, uplo, n, nrhs, a, lda, af, ldaf, equed, s, b, ldb, x, ldx, rcond, ferr, berr, work, iwork, info, fact_len, uplo_len, equed_len)) \
  X(void, dpotrf_, (const char* uplo, const blas_int* n, double* a, const blas_int* lda, blas_int* info, blas_len uplo_len), (uplo, n, a, lda, info, uplo_len)) \
  X(void, dpotri_, (const char* uplo, const blas_int* n, double* a, const blas_int* lda, blas_int* info, blas_len uplo_len), (uplo, n, a, lda, info, uplo_len)) \
  X(void, dpotrs_, (const char* uplo, const blas_int* n, const blas_int* nrhs, const double* a, const blas_int* lda, double* b, const blas_int* ldb, blas_int* info, blas_len uplo_len), (uplo, n, nrhs, a, lda, b, ldb, info, uplo_len)) \
  X(void, dtrcon_, (const char* norm, const char* uplo, const char* diag, const blas_int* n, const double* a, const blas_int* lda, double* rcond, double* work, blas_int* iwork, blas_int* info, blas_len norm_len, blas_len uplo_len, blas_len diag_len), (norm, uplo, diag, n, a, lda, rcond, work, iwork, info, norm_len, uplo_len, diag_len)) \
  X(void, dtrtrs_, (const char* uplo, const char* trans, const char* diag, const blas_int* n, const blas_int* nrhs, const double* a, const blas_int* lda, double* b, const blas_int* ldb, blas_int* info, blas_len uplo_len, blas_len trans_len, blas_len diag_len), (uplo, trans, diag, n, nrhs, a, lda, b, ldb, info, uplo_len, trans_len, diag_len)) \
  X(blas_int, ilaenv_, (const blas_int* ispec, const char* name, const char* opts, const blas_int* n1, const blas_int* n2, const blas_int* n3, const blas_int* n4, blas_len name_len, blas_len opts_len), (ispec, name, opts, n1, n2, n3, n4, name_len, opts_len))
// clang-format on

struct Blas {
#define VIDREC_BLAS_MEMBER(ret, name, params, args) ret(*name) params;
  VIDREC_BLAS_FUNCTIONS(VIDREC_BLAS_MEMBER)
#undef VIDREC_BLAS_MEMBER
};

// The thread count: stored until the library loads (blas.hpp), then the
// library's, through its own functions (bound at the load, defined further
// down: setting it must not load the library). Guarded, as parallel_for's
// callers may set it from any thread.
std::mutex threads_mutex;
int pending_threads = 0;
int default_threads = 0;
void (*loaded_set_threads)(int) = nullptr;
int (*loaded_get_threads)() = nullptr;

// OpenBLAS (Debian's libopenblas0, any variant, provides the soname through
// its alternatives); else the reference LAPACK, whose handle also finds the
// BLAS it depends on (libblas3): slower, but enough for fold-in's small
// solves, and 35 MB smaller in a serving image.
vidrec::DynamicLibrary open_blas() {
  try {
    return vidrec::DynamicLibrary("libopenblas.so.0", "libopenblas0");
  } catch (const vidrec::IoError& openblas) {
    try {
      return vidrec::DynamicLibrary("liblapack.so.3", "liblapack3");
    } catch (const vidrec::IoError& reference) {
      throw vidrec::IoError(std::string(openblas.what()) + "; nor the reference LAPACK: " + reference.what());
    }
  }
}

Blas load() {
  const vidrec::DynamicLibrary lib = open_blas();
  Blas b{};
#define VIDREC_BLAS_BIND(ret, name, params, args) lib.bind(b.name, #name);
  VIDREC_BLAS_FUNCTIONS(VIDREC_BLAS_BIND)
#undef VIDREC_BLAS_BIND
  void (*set_threads)(int) = nullptr;
  int (*get_threads)() = nullptr;
  // The reference BLAS has no threads (nor these functions).
  if (!lib.bind_if_present(set_threads, "openblas_set_num_threads") ||
      !lib.bind_if_present(get_threads, "openblas_get_num_threads"))
    return b;
  const std::lock_guard<std::mutex> lock(threads_mutex);
  default_threads = get_threads();
  if (pending_threads > 0) set_threads(pending_threads);
  loaded_set_threads = set_threads;
  loaded_get_threads = get_threads;
  return b;
}

const Blas& openblas() {
  static const Blas library = load();
  return library;
}

}  // namespace

// In Armadillo's namespace, where its declarations are: GCC checks C
// functions' types against each other only within one scope.
namespace arma {
#define VIDREC_BLAS_FORWARD(ret, name, params, args) \
  extern "C" ret name params { return ::openblas().name args; }
VIDREC_BLAS_FUNCTIONS(VIDREC_BLAS_FORWARD)
#undef VIDREC_BLAS_FORWARD
}  // namespace arma

extern "C" void openblas_set_num_threads(int threads) {
  const std::lock_guard<std::mutex> lock(threads_mutex);
  if (!loaded_set_threads)
    pending_threads = threads;
  else
    loaded_set_threads(threads > 0 ? threads : default_threads);
}

extern "C" int openblas_get_num_threads(void) {
  const std::lock_guard<std::mutex> lock(threads_mutex);
  return loaded_get_threads ? loaded_get_threads() : pending_threads;
}
