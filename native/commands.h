// Helpers shared by the command implementations (commands.cc) and other native code: byte buffers, whole-buffer
// TPM unmarshalling and marshalling through tss2-mu.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <tss2/tss2_common.h>
#include <tss2/tss2_mu.h>

namespace enrolld {

using Bytes = std::vector<uint8_t>;

template <typename T>
using UnmarshalFn = TSS2_RC (*)(uint8_t const[], size_t, size_t*, T*);
template <typename T>
using MarshalFn = TSS2_RC (*)(T const*, uint8_t[], size_t, size_t*);

// Unmarshals `in` into *out; the structure must span the whole buffer (TSS2_MU_RC_BAD_SIZE otherwise).
template <typename T>
TSS2_RC UnmarshalAll(const Bytes& in, UnmarshalFn<T> fn, T* out) {
  size_t offset = 0;
  TSS2_RC rc = fn(in.data(), in.size(), &offset, out);
  if (rc != TSS2_RC_SUCCESS) return rc;
  return offset == in.size() ? TSS2_RC_SUCCESS : TSS2_MU_RC_BAD_SIZE;
}

// Marshals *in into *out (replacing its contents).
template <typename T>
TSS2_RC MarshalAll(const T* in, MarshalFn<T> fn, Bytes* out) {
  out->assign(sizeof(T) + 64, 0);  // a marshalled structure is never larger than its C struct
  size_t offset = 0;
  TSS2_RC rc = fn(in, out->data(), out->size(), &offset);
  if (rc != TSS2_RC_SUCCESS) {
    out->clear();
    return rc;
  }
  out->resize(offset);
  return TSS2_RC_SUCCESS;
}

}  // namespace enrolld
