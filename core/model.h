/* core/model.h — the Mamba LM: parameters, initialisation, forward and backward over a backend.
 *
 * The model is immutable during inference: config + one parameter arena (fp32 master weights,
 * in HF tensor order) + its compute copy in the backend's activation dtype (the same array on
 * f32 backends). Everything mutable lives elsewhere: activations and backward scratch in
 * krait_acts, gradients and AdamW moments in krait_optim (optim.h), per-sequence recurrent
 * state in krait_state (state.h). One model serves many of each, one call at a time (the
 * backend's ops share its scratch: one thread at a time per backend; see infer.h); threads
 * share one model's weights through krait_model_share, a view on each thread's own backend.
 *
 * Data flow (DESIGN.md): ids (B, L) -> embedding -> NL x [add + RMSNorm -> mixer] -> add +
 * RMSNorm (norm_f) -> head. The head (tied or untied lm_head) runs over blocks of rows so the
 * (M, V) logits are never held at once.
 *
 * This file does not read or write files (see safetensors.h / checkpoint.h) and does not sample. */
#ifndef KRAIT_MODEL_H
#define KRAIT_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "config.h"
#include "rng.h"
#include "state.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One named tensor of the parameter arena (HF name and shape). */
typedef struct krait_tensor_info {
    char name[80];
    int ndim;
    int64_t shape[4];
    size_t offset;        /* in elements from the arena start */
    size_t numel;
    int decay;            /* AdamW weight decay applies (not norms, biases, A_log, D) */
} krait_tensor_info;

/* Offsets (in elements) of one layer's tensors inside any arena laid out like the params. */
typedef struct krait_layer_offsets {
    size_t norm_w;        /* (D) */
    size_t in_w, in_b;    /* (2E, D), (2E) or SIZE_MAX */
    size_t conv_w, conv_b;/* (E, K), (E) or SIZE_MAX */
    size_t x_w;           /* (R + 2N, E) */
    size_t dt_w, dt_b;    /* (E, R), (E) */
    size_t A_log;         /* (E, N) */
    size_t Dskip;         /* (E) */
    size_t out_w, out_b;  /* (D, E), (D) or SIZE_MAX */
} krait_layer_offsets;

typedef struct krait_model {
    krait_config cfg;
    krait_backend *be;             /* not owned */
    size_t n_params;
    float *params;                 /* (n_params) device, fp32 master */
    void *params_act;              /* (n_params) compute copy, or == params on f32 backends */
    int n_tensors;
    krait_tensor_info *tensors;    /* (n_tensors) host */
    krait_layer_offsets *layers;   /* (NL) host */
    size_t emb, norm_f, lm_head;   /* offsets: (V, D), (D), (V, D) == emb when tied; emb is SIZE_MAX
                                    * for a feature-input model, lm_head SIZE_MAX for a classifier */
    size_t inp_w, inp_b;           /* input_dim F > 0: backbone.input_proj (D, F), (D); else SIZE_MAX */
    size_t cls_w, cls_b;           /* head "classify": classifier (C, D), (C); else SIZE_MAX */
    const struct krait_model *owner; /* krait_model_share: the model whose arena this one reads */
} krait_model;

/* 1 for a model with the classification head (core/classify.h), 0 for a language model. */
static inline int krait_model_is_classifier(const krait_model *m) { return m->cls_w != (size_t)-1; }
/* The element count of the model's largest tensor (at least 1): the size of a staging buffer. */
static inline size_t krait_model_max_numel(const krait_model *m)
{
    size_t n = 1;
    for (int i = 0; i < m->n_tensors; i++)
        if (m->tensors[i].numel > n) n = m->tensors[i].numel;
    return n;
}
/* The ids the model's tokenizer uses: vocab_size_raw, without the padding rows (sampling never
 * draws a pad id). */
static inline int krait_model_vocab_used(const krait_model *m)
{
    const int V = m->cfg.vocab_size, raw = m->cfg.vocab_size_raw;
    return raw > 0 && raw <= V ? raw : V;
}

/* Build the tensor table and allocate the arena on be (uninitialised). cfg must be finalised
 * (krait_config_finalize: it derives d_inner, dt_rank and the padded vocab_size); NULL with a
 * logged line when it is not, or on failure. be == NULL builds the table only (no arena), to
 * check files against it. */
krait_model *krait_model_init(const krait_config *cfg, krait_backend *be);
void krait_model_free(krait_model *m);
/* The same weights on another backend, for inference on another thread: a backend is used by one
 * thread at a time, so each thread takes its own backend (krait_backend_cpu_init, or
 * krait_backend_cuda_init on the same device), a view of the model on it, and its own infer and
 * states. The view reads m's parameter arena (nothing is copied); it must be freed before m, and
 * neither may be trained or have its weights changed while a view exists. be must be the same
 * kind of backend as m's (name, activation dtype and, for CUDA, device). NULL, with one logged
 * line, otherwise. */
krait_model *krait_model_share(const krait_model *m, krait_backend *be);

/* The official initialisation (mamba_simple.py, mixer_seq_simple.py:_init_weights), drawn from
 * rng on the host and uploaded; refreshes the compute copy. */
krait_status krait_model_init_weights(krait_model *m, krait_rng *rng);
/* After writing m->params: refresh the compute copy (no-op on f32 backends). */
krait_status krait_model_sync_act(krait_model *m);

const krait_tensor_info *krait_model_find(const krait_model *m, const char *name);

/* The parameter at off (an offset into params) in the backend's activation dtype (params_act). */
static inline const void *krait_act_at(const krait_model *m, size_t off)
{
    return (const char *)m->params_act + off * krait_dtype_size(m->be->act_dtype);
}

/* ---- activations for one (B, L) shape --------------------------------------------------------- */
typedef struct krait_layer_acts {
    float *r;             /* (M, D) residual entering this layer's norm (after the add) */
    float *rstd;          /* (M) */
    void *xz;             /* (M, 2E) */
    void *u;              /* (M, E) conv + SiLU output */
    void *dbc;            /* (M, R + 2N) */
    void *dtl;            /* (M, E) dt_proj output, before bias and softplus */
    void *delta;          /* (M, E) */
    void *y;              /* (M, E) scan output before the gate */
    float *h_chunks;      /* (B, nchunks, E, N) */
} krait_layer_acts;

typedef struct krait_acts {
    int B, L, M, train, chunk, head_rows;
    int L_max, B_max;             /* L and B the buffers were sized for */
    void *arena;
    size_t bytes;
    krait_layer_acts *layer;      /* (NL) — with train == 0 every layer shares layer[0]'s buffers */
    float *r_f, *rstd_f;          /* (M, D), (M) final residual and its norm statistics */
    void *hf;                     /* (M, D) norm_f output */
    void *h;                      /* (M, D) norm output feeding the mixer (recomputed in bwd) */
    void *g;                      /* (M, E) gated output feeding out_proj (recomputed in bwd) */
    void *out;                    /* (M, D) mixer output */
    int32_t *ids, *targets;       /* (M) device */
    float *feats_f32;             /* (M, F) input features (input_dim > 0), else NULL */
    void *feats;                  /* (M, F) act: their compute copy (== feats_f32 on f32 backends) */
    float *pool_f32;              /* (M, D) classifier scratch: hf in fp32 / dL/dhf (classify head) */
    void *logits;                 /* (head_rows, V) */
    float *loss;                  /* (M) */
    int32_t *pred;                /* (M) */
    /* backward scratch */
    float *dr;                    /* (M, D) */
    void *dx, *dh, *dhf;          /* (M, D) */
    void *dg, *dy, *ddelta, *du;  /* (M, E) */
    void *dxz;                    /* (M, 2E) */
    void *ddbc;                   /* (M, R + 2N) */
    /* dropout, training activations only (0 = off): on the first residual (the embedding or input
     * projection) and on each mixer output before it joins the residual stream; the masks are
     * drawn from drop_seed (the trainer sets it per step) and reapplied to the gradients */
    float drop_embed, drop_resid;
    uint64_t drop_seed;
    /* host staging for the heads (the classifier's pooled states and their gradient; the LM
     * head's targets and per-row losses): grown on demand by krait_acts_host, kept across
     * steps, freed with the acts */
    float *host;
    size_t host_n;
} krait_acts;

/* Activations for batches of B sequences of L tokens. train = 1 keeps what backward needs. */
krait_acts *krait_acts_init(const krait_model *m, int B, int L, int train);
/* The bytes krait_acts_init(m, B, L, train) would allocate on m's backend (SIZE_MAX when the
 * batch is too large for krait at all), so a command can refuse before it tries. */
size_t krait_acts_bytes(const krait_model *m, int B, int L, int train);
void krait_acts_free(const krait_model *m, krait_acts *a);
/* a->host holding at least n floats (grown when needed; NULL when out of memory). */
float *krait_acts_host(krait_acts *a, size_t n);

/* ---- forward / backward ------------------------------------------------------------------------ */
/* Backbone forward of a->ids (already on the device): fills a->hf. With a state, the state is
 * the initial conv/SSM state and receives the final one (so chunks can follow each other). */
krait_status krait_model_forward(const krait_model *m, krait_acts *a, krait_state *state);

/* LM head + cross-entropy over a->hf against a->targets (targets < 0 are ignored).
 * *loss_sum and *n_valid receive the summed loss and the count of scored rows; pred_host (M)
 * receives argmax ids when non-NULL (-1 for unscored rows). With grads != NULL the loss is averaged over n_valid
 * for the gradient: writes a->dhf and accumulates the head weight gradient into grads. A loss
 * that is not finite is KRAIT_STATUS_NUMERIC (logged) without grads; with grads it is returned
 * as it is (the trainer reports it with the step and stops or skips, train.on_nonfinite). */
krait_status krait_lm_head(const krait_model *m, krait_acts *a, float *grads, double *loss_sum,
                           long *n_valid, int32_t *pred_host);

/* Backward from a->dhf through norm_f, the layers and the embedding; grads += dL/dparams. */
krait_status krait_model_backward(const krait_model *m, krait_acts *a, float *grads);

/* Run the next calls on sequences of L <= L_max tokens (evaluation only: the last, shorter
 * chunk of a long sequence). */
krait_status krait_acts_set_len(krait_acts *a, int L);

/* Run the next calls on B <= B_max sequences of L <= L_max tokens (evaluation and inference
 * only, train == 0): a decode step over the live rows of a batch. */
krait_status krait_acts_set_shape(krait_acts *a, int B, int L);

/* Upload ids and targets (host, M each) into a. Checks ids are in [0, V). */
krait_status krait_acts_set_batch(const krait_model *m, krait_acts *a, const int32_t *ids,
                                  const int32_t *targets);

/* Upload input features (host, M x F) for a feature-input model (input_dim > 0). Checks every
 * value is finite. */
krait_status krait_acts_set_features(const krait_model *m, krait_acts *a, const float *feats);

/* One training micro-step: set_batch, forward, head, backward. grads must be zeroed by the
 * caller. *loss = mean loss over scored rows. */
krait_status krait_lm_forward_backward(const krait_model *m, krait_acts *a, float *grads,
                                       const int32_t *ids, const int32_t *targets, double *loss,
                                       long *n_valid);

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_MODEL_H */
