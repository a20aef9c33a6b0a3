/* opal runtime: the C API of a model built by `opal build` (DIR/libmodel.so, DIR/weights.bin).
 *
 * The library is self-contained: it needs neither Halide nor LLVM nor opal at run time, only the C
 * and C++ standard libraries and pthreads. Link with -lmodel or dlopen it and look up these
 * symbols. Every function is safe to call from any thread on different models; one model runs one
 * inference at a time (opal_model_run serialises calls on the same model).
 *
 * Errors: functions returning int return 0 on success and a non-zero opal_status otherwise;
 * opal_last_error() then gives a one-line message for the calling thread (valid until the next
 * call on that thread).
 */
#ifndef OPAL_RUNTIME_H_
#define OPAL_RUNTIME_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OPAL_RUNTIME_ABI 1

enum opal_status {
  OPAL_OK = 0,
  OPAL_ERR_ARGUMENT = 1, /* a null pointer, an index out of range, a size that does not match */
  OPAL_ERR_IO = 2,       /* the weights file is missing, short or does not match the library */
  OPAL_ERR_MEMORY = 3,   /* the arena could not be allocated */
  OPAL_ERR_KERNEL = 4    /* a kernel reported an error (the message names the node) */
};

/* Element types use ONNX TensorProto.DataType numbers (1 = float32, 7 = int64, 9 = bool, ...). */
typedef struct opal_tensor_info {
  const char* name;
  int32_t dtype;
  int32_t rank;
  const int64_t* dims; /* rank entries, outermost first */
  size_t bytes;        /* dense size of the tensor */
} opal_tensor_info;

typedef struct opal_model opal_model;

/* Loads the model whose weights are DIR/weights.bin (dir = the folder `opal build` wrote).
 * num_threads <= 0 uses the machine's cores. On success *out owns the model. */
int opal_model_load(const char* dir, int num_threads, opal_model** out);

int opal_model_num_inputs(const opal_model* m);
int opal_model_num_outputs(const opal_model* m);
int opal_model_input_info(const opal_model* m, int index, opal_tensor_info* info);
int opal_model_output_info(const opal_model* m, int index, opal_tensor_info* info);

/* Runs one inference. inputs[i] points to the dense bytes of input i (any alignment);
 * outputs[i] to a buffer of output i's size, which is overwritten. */
int opal_model_run(opal_model* m, const void* const* inputs, void* const* outputs);

/* Profiling: the model's kernel calls (steps), the graph node(s) each computes, and a run that
 * adds each step's wall time in seconds to step_seconds[0 .. num_steps-1]. */
int opal_model_num_steps(const opal_model* m);
const char* opal_model_step_node(const opal_model* m, int step);
int opal_model_run_profiled(opal_model* m, const void* const* inputs, void* const* outputs,
                            double* step_seconds);

/* Releases everything the model holds; null is allowed. */
void opal_model_free(opal_model* m);

/* The last error message of the calling thread ("" when none). */
const char* opal_last_error(void);

/* The model's name, the target it was built for, and the builder's version, e.g.
 * "resnet50 | x86-64-linux-avx2-fma | opal 0.1.0". */
const char* opal_model_description(const opal_model* m);

#ifdef __cplusplus
}
#endif

#endif /* OPAL_RUNTIME_H_ */
