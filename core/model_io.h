/* core/model_io.h — model folders: load krait's own and HuggingFace Mamba folders, save them.
 *
 * A model folder is `config.json` (HF MambaConfig keys, the original state-spaces keys read
 * too, krait's keys under "krait"; see config.h) and `model.safetensors` (or shards listed by
 * `model.safetensors.index.json`; see safetensors.h). Tensors carry HF names and shapes, in
 * F32, F16 or BF16; they are converted to the fp32 master weights on load.
 *
 * Loading rules (a folder downloaded from state-spaces/mamba-*-hf works as it is):
 *  - the embedding is `backbone.embeddings.weight` or `backbone.embedding.weight` (not both);
 *  - the embedding (and an untied lm_head) has the padded vocab_size rows, or exactly the
 *    unpadded vocab_size rows of the config (then the pad rows are zero);
 *  - tied config (tie_word_embeddings, the default): `lm_head.weight` may be absent (as
 *    transformers' save_pretrained writes it) or present with the same shape and the same
 *    values as the embedding (as the -hf repos store it); different values are an error;
 *  - untied config: `lm_head.weight` is required;
 *  - every other tensor must have exactly the shape of krait's tensor table for the config
 *    (conv1d.weight is [E, 1, K]), and a tensor krait would not use is an error.
 * Every violation: KRAIT_STATUS_BAD_INPUT and ONE error line naming the file, the tensor and
 * the problem. Nothing is guessed.
 *
 * Saving writes `config.json` (krait_config_to_json with the torch_dtype of the weights) and
 * one `model.safetensors`, tensors in the chosen dtype, each file through a temporary name,
 * fsync and rename. A tied model omits `lm_head.weight`, as transformers' save_pretrained does
 * (MambaForCausalLM ties it to backbone.embeddings.weight on load), so transformers loads a
 * krait folder with MambaForCausalLM.from_pretrained.
 *
 * This file does not read tokenizers, optimizer state or trainer state (see checkpoint.h). */
#ifndef KRAIT_MODEL_IO_H
#define KRAIT_MODEL_IO_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "config.h"
#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a model folder holds, learned without reading the weights. */
typedef struct krait_model_file_info {
    krait_config cfg;
    int n_tensors;            /* tensors in the safetensors file(s) */
    int n_files;              /* safetensors files (1, or the shard count) */
    size_t n_params;          /* parameters of the model (a tied head counted once) */
    uint64_t tensor_bytes;    /* bytes of tensor data in the files */
    char dtypes[40];          /* the dtypes found, e.g. "F32" or "BF16+F32" */
    char embedding[32];       /* the embedding's name in the file */
    int embedding_rows;       /* its rows (< cfg.vocab_size: padded with zero rows on load) */
    int lm_head_stored;       /* 1 if the file holds lm_head.weight */
} krait_model_file_info;

/* Load path — a model folder, or a `.safetensors` / `.index.json` file with config.json beside
 * it — onto backend be. NULL on failure with *status set (status may be NULL) and one line
 * logged. The model borrows be: free it (krait_model_free) before the backend. */
krait_model *krait_model_load(const char *path, krait_backend *be, krait_status *status);

/* Read the weights of path into an existing model m (same rules as krait_model_load). The
 * folder's config must describe the same shapes as m->cfg (krait_config_same_shape). */
krait_status krait_model_load_weights(krait_model *m, const char *path);

/* Validate path's config and tensor names, shapes and dtypes (as load does) without reading
 * the weights. */
krait_status krait_model_inspect(krait_model_file_info *info, const char *path);

/* Write m into folder dir (created if needed): config.json + model.safetensors in dtype
 * KRAIT_DTYPE_F32 (bit-exact master weights), _BF16 or _F16 (round to nearest even). */
krait_status krait_model_save(const krait_model *m, const char *dir, krait_dtype dtype);

/* Copy every tensor of src whose name and shape dst has too (fine-tuning a classifier from a
 * pretrained language model: embedding, layers, norm_f) and refresh dst's compute copy.
 * *n_copied (may be NULL) receives the count. A tensor with the same name but another shape is
 * an error (BAD_INPUT, one line naming src_name, where src came from, and the tensor); dst's
 * other tensors are left as they are. */
krait_status krait_model_copy_matching(krait_model *dst, const krait_model *src, const char *src_name, int *n_copied);

/* 1 if a and b give the same tensor table and math (sizes, biases, tying, eps, head); else 0
 * with *key naming the first config key that differs. */
int krait_config_same_shape(const krait_config *a, const krait_config *b, const char **key);

/* "f32" / "bf16" / "f16" (also "float32", "bfloat16", "float16") -> dtype. 1 if known. */
int krait_dtype_from_name(krait_dtype *out, const char *name);
/* KRAIT_DTYPE_F32 -> "float32" (the torch_dtype string of config.json). */
const char *krait_dtype_torch_name(krait_dtype t);

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_MODEL_IO_H */
