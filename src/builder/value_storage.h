// Where each value's bytes live relative to other values: views share their input's bytes, and
// the inputs of a Concat done in place are slices of its output, so their producers write straight
// into it and no copy kernel runs. Private to the builder.
//
// Storage is a forest: every value is placed at a byte offset inside a root value; a root and
// everything placed in it are one block of the memory plan, RootBytes() long.
#pragma once

#include <cstdint>
#include <vector>

#include "opal/graph.h"

namespace opal::build {

class ValueStorage {
 public:
  explicit ValueStorage(const Graph& g);

  // `out` is a view of `in`: the same bytes (Reshape, Flatten, Squeeze, ...), from byte `offset`.
  void Alias(ValueId out, ValueId in, int64_t offset = 0);

  // Tries to make Concat node `n` free: each input placed at its slice of the output. Succeeds
  // (and returns true) only when the concatenation is of contiguous slices (every dim before the
  // axis is 1), every input is computed by a kernel or is a graph input (no constant), each slice
  // starts 64-byte aligned, and the placement agrees with earlier ones: no value ends up at two
  // places and no two values written by different kernels share a byte. Otherwise changes
  // nothing and returns false (the Concat keeps its copy kernel).
  bool PlaceConcatInPlace(NodeId n);

  // True when Concat node `n` was placed in place (it needs no kernel).
  bool InPlace(NodeId n) const;

  // Tries to make Slice node `n` a view: its output is a contiguous range of its input's bytes
  // (step 1, every dim before the first sliced one of extent 1, every dim after it whole) starting
  // 64-byte aligned, and the input is computed (not a constant). Returns whether it did; the
  // output then lives inside the input's block and needs no kernel.
  bool PlaceSliceAsView(NodeId n);

  // The root whose block holds `v`, and v's byte offset in that block (0 for a root).
  ValueId Root(ValueId v) const;
  int64_t Offset(ValueId v) const;
  // The block size of root `r`: the extent of everything placed in it.
  int64_t RootBytes(ValueId r) const;

 private:
  struct Link {
    ValueId parent;
    int64_t offset;  // bytes of this value start `offset` bytes into its parent's
  };
  Link Find(ValueId v) const;  // the root and the offset into it (relative: may be negative)
  bool Consistent() const;     // no byte is written by two kernels' values
  void Normalise();            // roots start at their lowest member: offsets >= 0, sizes known

  const Graph& g_;
  std::vector<Link> link_;
  std::vector<int64_t> shift_;  // per root: added to members' offsets after Normalise
  std::vector<int64_t> size_;   // per root
  std::vector<bool> placed_;    // per value: a root moved into another value's block by a Concat
  std::vector<bool> in_place_;  // per node: a Concat done in place
};

}  // namespace opal::build
