// SPDX-License-Identifier: MIT
// Large arrays on transparent huge pages. On these machines a fresh 4 KiB
// page costs a fault and is zeroed at ~2 GB/s, a 2 MiB one at ~7 GB/s; the
// arrays that prepare fills once (hundreds of MB) are worth the advice.
#pragma once
#include <sys/mman.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <utility>
#include <vector>

namespace vidrec {

constexpr size_t kHugePage = size_t(2) << 20;

// Sizes a large output vector on transparent huge pages: reserve() maps it
// untouched, so the advice is in place when resize() first writes it (one
// fault per 2 MiB instead of per 4 KiB).
template <class T>
inline void resize_huge(std::vector<T>& v, size_t n) {
  constexpr uintptr_t kHuge = kHugePage;
  v.reserve(n);
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(v.data()) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(v.data() + n)) & ~(kHuge - 1);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
  v.resize(n);
}

// A growing array of a trivially copyable T in its own mapping, grown with
// mremap: the kernel moves the pages, so growth neither copies the contents
// nor faults them in again. (realloc did this only while glibc served the
// block by mmap; once its dynamic threshold rose, every growth was a copy
// into fresh pages: 280 MB of copies and 60% of a run's page faults.) From
// 2 MiB on, the array is on huge pages: a fresh 4 KiB page costs a fault and
// ~2 GB/s of zeroing here, a huge page ~7 GB/s.
template <class T>
class GrowArray {
 public:
  GrowArray() = default;
  GrowArray(const GrowArray&) = delete;
  GrowArray& operator=(const GrowArray&) = delete;
  ~GrowArray() { release(); }
  void reserve(size_t n) {
    if (n <= capacity_) return;
    const size_t cap = std::max(n, capacity_ + capacity_ / 2);
    void* p;
    if (data_ && (bytes(capacity_) >= kHugePage || bytes(cap) < kHugePage)) {
      p = ::mremap(data_, bytes(capacity_), bytes(cap), MREMAP_MAYMOVE);
      if (p == MAP_FAILED) throw std::bad_alloc();
    } else {
      // A new mapping, also when a small array first reaches 2 MiB: Linux
      // 6.7+ places one that large on a 2 MiB boundary, as huge pages need
      // (growing the small one would keep its start); older kernels give
      // fewer huge pages, nothing else changes.
      p = ::mmap(nullptr, bytes(cap), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) throw std::bad_alloc();
      if (bytes(cap) >= kHugePage) ::madvise(p, bytes(cap), MADV_HUGEPAGE);
      if (data_) {
        std::memcpy(p, data_, size_ * sizeof(T));
        ::munmap(data_, bytes(capacity_));
      }
    }
    data_ = static_cast<T*>(p);
    capacity_ = bytes(cap) / sizeof(T);
  }
  void resize(size_t n) {
    reserve(n);
    size_ = n;
  }
  void push_back(const T& x) {
    if (size_ == capacity_) reserve(size_ + 1);
    data_[size_++] = x;
  }
  void clear() { size_ = 0; }
  // Unmaps the memory.
  void release() {
    if (data_) ::munmap(data_, bytes(capacity_));
    data_ = nullptr;
    size_ = capacity_ = 0;
  }
  void swap(GrowArray& o) {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    std::swap(capacity_, o.capacity_);
  }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  T& back() { return data_[size_ - 1]; }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }

 private:
  static size_t bytes(size_t n) {
    const size_t page = n * sizeof(T) >= kHugePage ? kHugePage : 4096;
    return (n * sizeof(T) + page - 1) / page * page;
  }
  T* data_ = nullptr;
  size_t size_ = 0, capacity_ = 0;
};

}  // namespace vidrec
