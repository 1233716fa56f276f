/* core/config.h — model and training configuration: JSON with HF MambaConfig keys.
 *
 * A config file is one JSON object. Model keys use the HuggingFace MambaConfig names
 * (hidden_size, num_hidden_layers, state_size, expand, conv_kernel, time_step_rank, ...) and the
 * original state-spaces names are read too (d_model, n_layer, ssm_cfg, pad_vocab_size_multiple).
 * krait's own model settings live under "krait"; training settings under "train" (presets only;
 * a saved model's config.json has no "train").
 *
 * Validation is strict for krait's files (presets, and the configs krait saves: a "krait" object,
 * no "transformers_version"): an unknown key, a wrong type or a zero/negative size is an error
 * naming the file and the key. A config written by transformers (it has "transformers_version",
 * or "architectures" without a "krait" object) may carry keys krait does not know; those are
 * ignored with one warning, so a downloaded HF folder loads as it is. Such a config's vocab_size
 * is used as written, as transformers does (no padding); state-spaces configs are padded to
 * pad_vocab_size_multiple as the original code does (50277 -> 50280).
 *
 * This file does not read model weights or tokenizers; see safetensors.h and modalities/. */
#ifndef KRAIT_CONFIG_H
#define KRAIT_CONFIG_H

#include <stdint.h>

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct krait_config {
    /* shape (letters) */
    int d_model;          /* D   hidden_size | d_model */
    int n_layer;          /* NL  num_hidden_layers | n_layer */
    int vocab_size;       /* V   padded to pad_vocab_multiple */
    int vocab_size_raw;   /*     as written in the file, before padding */
    int d_state;          /* N   state_size | ssm_cfg.d_state */
    int d_conv;           /* K   conv_kernel | ssm_cfg.d_conv */
    int d_inner;          /* E   intermediate_size | d_inner | expand * D */
    int dt_rank;          /* R   time_step_rank | ssm_cfg.dt_rank | ceil(D / 16) */
    float expand;
    float norm_eps;       /* layer_norm_epsilon */
    int use_bias;         /* in_proj / out_proj bias */
    int use_conv_bias;
    int tie_embeddings;   /* tie_word_embeddings | tie_embeddings */
    int pad_vocab_multiple;
    /* initialisation (the official defaults) */
    float dt_min, dt_max, dt_init_floor, dt_scale;
    int dt_init_random;   /* "random" (1) or "constant" (0) */
    float init_std;       /* embedding std (initializer_range in krait files; 0.02) */
    int rescale_prenorm_residual;
    /* krait's own keys ("krait": {...}) */
    char modality[16];    /* "text", "audio", "dna", "synthetic", or "" (not said: a HF LM folder) */
    char head[16];        /* "lm" or "classify" */
    int n_classes;
    char pooling[8];      /* "mean" or "last" (classify head) */
    int bidirectional;    /* classify: the sequence and its reverse, pooled features averaged */
    int input_dim;        /* F > 0: inputs are F-float feature vectors (classify only), not ids */
    char tokenizer[64];   /* "bytes", "tokenizer.json", "dna", "mulaw", ... */
    int eos_token_id;     /* HF's end-of-text id, written for other tools (0 unless known: 256 for bytes) */
    /* which derived sizes were given explicitly (so overrides re-derive the others) */
    int d_inner_set, dt_rank_set;
} krait_config;

typedef struct krait_train_config {
    int steps;            /* optimizer steps (0 with minutes > 0: run on the clock) */
    double minutes;       /* wall-clock budget, 0 = none */
    int batch;            /* B */
    int seq_len;          /* L */
    float lr, min_lr;     /* peak and final learning rate (cosine) */
    int warmup;           /* linear warm-up steps */
    float weight_decay, beta1, beta2, eps, grad_clip;
    float embed_dropout;  /* dropout on the first residual (embedding or input projection), [0, 1) */
    float resid_dropout;  /* dropout on each mixer output before the residual add, [0, 1) */
    uint64_t seed;
    int log_every, eval_every, ckpt_every, keep_ckpts;
    char on_nonfinite[8]; /* a non-finite loss or gradient: "stop" (the default: exit with the step
                           * named, the last checkpoint kept) or "skip" (the batch; counted) */
    int seq_len_set;      /* "train.seq_len" was given (a file or --set), not the default: the
                           * classifiers, whose length is the data's, take it as a cap then */
} krait_train_config;

/* The official defaults (mamba_simple.py / config_mamba.py) with D, NL, V unset (0). */
void krait_config_default(krait_config *cfg);
/* AdamW (0.9, 0.95), wd 0.1, clip 1.0, lr 1e-3 -> 1e-5 cosine, warmup 100, seed 1. */
void krait_train_default(krait_train_config *tc);

/* Parse a JSON text (origin names it in messages) and apply its keys onto cfg and tc (start
 * from the defaults). tc may be NULL (then a "train" object is still validated but dropped).
 * Derived sizes are filled in and checked. On error: logs one
 * line "origin: problem" and returns KRAIT_STATUS_BAD_INPUT. */
krait_status krait_config_parse(krait_config *cfg, krait_train_config *tc, const char *json,
                                const char *origin);
/* Read and parse a file. */
krait_status krait_config_load(krait_config *cfg, krait_train_config *tc, const char *path);
/* A JSON object as the config files are read: nothing after it, no key twice in any object
 * (nested ones too); NULL with one error line naming origin (and the line and column of a
 * syntax error) otherwise. For the apps' own JSON files (audio.json). cJSON_Delete it. */
struct cJSON;
struct cJSON *krait_json_parse_object(const char *text, const char *origin);
/* v (finite) as JSON number text in buf (32 bytes suffice): the shortest decimal that reads back
 * as the same float (is_float) or double, always with a '.' or an exponent (1.0, not 1: strict
 * readers such as transformers 5 refuse an integer where a float belongs), and a '.' as the
 * decimal point whatever the C library's locale. */
void krait_json_number(char *buf, size_t size, double v, int is_float);
/* Fill derived sizes (E, R, padded V) and check every size; origin names the source. */
krait_status krait_config_finalize(krait_config *cfg, const char *origin);

/* Apply "key=value" (a model key, "krait.key" or "train.key"): command-line overrides. set_many
 * applies every one, each key and value checked as it comes, then checks the whole once (so
 * --set time_step_min=0.5 --set time_step_max=0.9 passes in either order); set is one of them. */
krait_status krait_config_set(krait_config *cfg, krait_train_config *tc, const char *assignment);
krait_status krait_config_set_many(krait_config *cfg, krait_train_config *tc, const char *const *assignments, int n);

/* Whether the model reads bytes: its config says "tokenizer": "bytes", or names no tokenizer and
 * has 256 or 257 ids as written (257: the bytes and <|endoftext|>). */
int krait_config_byte_level(const krait_config *cfg);

/* A config.json that transformers' MambaForCausalLM loads (HF keys, the original keys, and
 * krait's keys under "krait"); torch_dtype names the weights' dtype ("float32", "bfloat16",
 * "float16"). Caller frees. NULL on out of memory. */
char *krait_config_to_json(const krait_config *cfg, const char *torch_dtype);
/* The "train" object alone, as JSON (for trainer_state.json). Caller frees. */
char *krait_train_to_json(const krait_train_config *tc);

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_CONFIG_H */
