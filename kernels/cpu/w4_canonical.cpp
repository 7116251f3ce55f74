// The canonical integer form of a 4-bit weight matrix: checks shared by every packer.
#include "w4_layouts.h"

#include <algorithm>

#include "core/error.h"

namespace awq {

bool W4Canonical::symmetric() const {
    return std::all_of(zeros.begin(), zeros.end(), [](uint8_t z) { return z == 8; });
}

void W4Canonical::validate(const std::string& where) const {
    if (n <= 0 || k <= 0 || group <= 0)
        throw Error(where, "4-bit weight needs positive n, k and group size (got n=" + std::to_string(n) +
                               " k=" + std::to_string(k) + " group=" + std::to_string(group) + ")");
    if (k % group != 0)
        throw Error(where, "in_features " + std::to_string(k) + " is not a multiple of the group size " +
                               std::to_string(group));
    const size_t nk = (size_t)n * (size_t)k, ng = (size_t)n * (size_t)groups();
    if (q.size() != nk || zeros.size() != ng || scales.size() != ng)
        throw Error(where, "4-bit weight arrays have sizes q=" + std::to_string(q.size()) +
                               " zeros=" + std::to_string(zeros.size()) + " scales=" +
                               std::to_string(scales.size()) + ", expected " + std::to_string(nk) + ", " +
                               std::to_string(ng) + ", " + std::to_string(ng));
    if (std::any_of(q.begin(), q.end(), [](uint8_t v) { return v > 15; }))
        throw Error(where, "4-bit weight value out of range 0..15");
    if (std::any_of(zeros.begin(), zeros.end(), [](uint8_t v) { return v > 15; }))
        throw Error(where, "4-bit zero point out of range 0..15");
}

}  // namespace awq
