/*===- CCallers.c - C API calls only C can make ------------------*- C -*-===*\
|*                                                                            *|
|* A C caller may pass any int as an enum parameter; C++ cannot make such a   *|
|* call without undefined behaviour (a value outside the enumerators' range), *|
|* so the tests of unknown enum values call through these C functions.        *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#include "samoyeds-c/Runtime.h"

sy_status cPackWeightLayout(const void *dense, int dtype, int64_t experts,
                            int64_t rows, int64_t cols, int n, int m, int v,
                            int layout, sy_packed_buffer **out) {
  return sy_pack_weight_layout(dense, (sy_dtype)dtype, experts, rows, cols, n,
                               m, v, (sy_weight_layout)layout, out);
}

sy_status cPackedSizesLayout(int64_t experts, int64_t rows, int64_t cols, int n,
                             int m, int v, int layout) {
  return sy_packed_sizes_layout(experts, rows, cols, n, m, v,
                                (sy_weight_layout)layout, 0, 0, 0);
}

sy_status cRelayoutWeight(const sy_packed_weight *packed, int dtype,
                          int64_t experts, int64_t rows, int64_t cols, int n,
                          int m, int v, int from, int to,
                          sy_packed_buffer **out) {
  return sy_relayout_weight(packed, (sy_dtype)dtype, experts, rows, cols, n, m,
                            v, (sy_weight_layout)from, (sy_weight_layout)to,
                            out);
}

sy_status cUnpackWeight(const sy_packed_weight *packed, int dtype,
                        int64_t experts, int64_t rows, int64_t cols, int n,
                        int m, int v, void *dense, uint64_t dense_bytes) {
  return sy_unpack_weight(packed, (sy_dtype)dtype, experts, rows, cols, n, m, v,
                          dense, dense_bytes);
}

const char *cStatusName(int status) {
  return sy_status_name((sy_status)status);
}

uint64_t cDtypeSize(int dtype) { return sy_dtype_size((sy_dtype)dtype); }
