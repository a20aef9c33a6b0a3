// Dead kernel taps of convolutions, dropped at import (internal to opal_graph; the importer calls
// it after shape inference, so task extraction, tuning and the build all see the same convs).
#pragma once

#include "opal/graph.h"

namespace opal::graph {

// A Conv (default domain, explicit or no padding, auto_pad NOTSET) whose weights are a float32
// constant and whose kernel has taps at the start or end of a spatial axis that read only padding
// for every output position (a dilation as large as the input: DeepLabV3's ASPP 3x3 convs of
// dilation 24 and 36 on a 28x28 or 14x14 map) gets a kernel without them: its weights sliced
// into a new constant, its pads reduced by the dropped taps' span, its dilation 1 on an axis left
// with one tap. The output is the same numbers (the dropped taps multiplied zeros); a 3x3 conv
// whose outer taps are all dead becomes a 1x1 conv. Returns how many convs changed.
int DropDeadConvTaps(Graph& g);

}  // namespace opal::graph
