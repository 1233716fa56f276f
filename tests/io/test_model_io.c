/* tests/io/test_model_io.c — model folders: krait's own save/load round trip (F32 bit-exact,
 * BF16/F16 equal to the kernels/bf16.h rounding of the fp32 weights, tied and untied), folders
 * laid out as HuggingFace writes them (both embedding names, tied with and without a stored
 * lm_head, an original state-spaces config with vocab 50277 padded to 50280 with zero rows,
 * unknown HF config keys, shards), inspection, and the malformed folders that must fail with
 * KRAIT_STATUS_BAD_INPUT and exactly one log line naming the file and the tensor. */
#include "model_io.h"

#include "bf16.h"
#include "fsutil.h"
#include "io_util.h"
#include "safetensors.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static io_cap cap;
static krait_backend *be;

/* One error line containing both fragments, and the expected status. Resets the capture. */
static void expect_bad(const char *what, krait_status got, const char *frag1, const char *frag2)
{
    int ok = got == KRAIT_STATUS_BAD_INPUT && cap.errors == 1 && strstr(cap.last_error, frag1) &&
             (!frag2 || strstr(cap.last_error, frag2));
    tu_check(ok, "%s: want BAD_INPUT and one line with \"%s\" and \"%s\"; got status %d, %d line(s): \"%s\"",
             what, frag1, frag2 ? frag2 : "", got, cap.errors, cap.last_error);
    if (ok) printf("  ok   %s: %s\n", what, cap.last_error);
    io_cap_reset(&cap);
}

static krait_config small_config(int vocab, int tied)
{
    krait_config c;
    krait_config_default(&c);
    c.d_model = 8;
    c.n_layer = 2;
    c.d_state = 4;
    c.vocab_size_raw = vocab;
    c.tie_embeddings = tied;
    krait_config_finalize(&c, "test");
    return c;
}

/* A model with fresh random weights (every tensor perturbed so that nothing is constant). */
static krait_model *random_model(const krait_config *c)
{
    krait_model *m = krait_model_init(c, be);
    krait_rng r;
    krait_rng_init(&r, tu_next());
    krait_model_init_weights(m, &r);
    float *h = malloc(m->n_params * sizeof *h);
    be->download(be, h, m->params, m->n_params * sizeof *h);
    for (size_t i = 0; i < m->n_params; i++) h[i] += (float)(0.01 * tu_normal());
    be->upload(be, m->params, h, m->n_params * sizeof *h);
    free(h);
    krait_model_sync_act(m);
    return m;
}

static float *host_params(const krait_model *m)
{
    float *h = malloc(m->n_params * sizeof *h);
    be->download(be, h, m->params, m->n_params * sizeof *h);
    return h;
}

/* Every tensor of b equals want(a's value) bit for bit, over the table. */
static int same_weights(const krait_model *a, const float *want, const krait_model *b)
{
    if (!b || a->n_params != b->n_params || a->n_tensors != b->n_tensors) return 0;
    float *hb = host_params(b);
    int ok = 1;
    for (int i = 0; i < a->n_tensors && ok; i++) {
        const krait_tensor_info *t = &a->tensors[i];
        ok = strcmp(t->name, b->tensors[i].name) == 0 &&
             memcmp(want + t->offset, hb + t->offset, t->numel * sizeof(float)) == 0;
        if (!ok) printf("  differs: %s\n", t->name);
    }
    free(hb);
    return ok;
}

static void test_round_trip(const char *root, int tied)
{
    krait_config c = small_config(24, tied);
    krait_model *m = random_model(&c);
    float *h = host_params(m), *want = malloc(m->n_params * sizeof *want);
    const krait_dtype dts[] = { KRAIT_DTYPE_F32, KRAIT_DTYPE_BF16, KRAIT_DTYPE_F16 };
    const char *st_names[] = { "F32", "BF16", "F16" };
    for (int k = 0; k < 3; k++) {
        char dir[600];
        snprintf(dir, sizeof dir, "%s/rt-%s-%d", root, st_names[k], tied);
        tu_check(krait_model_save(m, dir, dts[k]) == KRAIT_STATUS_OK, "save %s tied=%d", st_names[k], tied);
        for (size_t i = 0; i < m->n_params; i++)
            want[i] = dts[k] == KRAIT_DTYPE_F32 ? h[i]
                      : dts[k] == KRAIT_DTYPE_BF16 ? krait_bf16_to_f32(krait_f32_to_bf16(h[i]))
                                                   : krait_f16_to_f32(krait_f32_to_f16(h[i]));
        krait_status s;
        krait_model *b = krait_model_load(dir, be, &s);
        const char *key = NULL;
        tu_check(b && s == 0 && krait_config_same_shape(&m->cfg, &b->cfg, &key),
                 "load %s tied=%d (config differs at %s)", st_names[k], tied, key ? key : "-");
        tu_check(same_weights(m, want, b), "%s tied=%d: weights %s", st_names[k], tied,
                 k ? "equal the rounding of the fp32 weights" : "bit-exact");
        krait_model_free(b);
        /* the file itself: the dtype, and lm_head only when untied (as save_pretrained) */
        krait_model_file_info info;
        tu_check(krait_model_inspect(&info, dir) == 0 && !strcmp(info.dtypes, st_names[k]) &&
                     info.lm_head_stored == !tied && info.n_files == 1 &&
                     !strcmp(info.embedding, "backbone.embeddings.weight") && info.embedding_rows == 24,
                 "inspect %s tied=%d: dtypes %s, lm_head %d", st_names[k], tied, info.dtypes, info.lm_head_stored);
        size_t n = 0;
        char *cfg = (char *)io_read(io_path(dir, "config.json"), &n);
        tu_check(cfg && strstr(cfg, krait_dtype_torch_name(dts[k])) && strstr(cfg, "\"krait\"") &&
                     strstr(cfg, "MambaForCausalLM"), "config.json names torch_dtype %s and has \"krait\"",
                 krait_dtype_torch_name(dts[k]));
        free(cfg);
    }
    /* load_weights into a model of the same shape, and refusal for another shape */
    krait_model *b = krait_model_init(&c, be);
    char dir[600];
    snprintf(dir, sizeof dir, "%s/rt-F32-%d", root, tied);
    tu_check(krait_model_load_weights(b, dir) == 0 && same_weights(m, h, b), "load_weights bit-exact");
    krait_model_free(b);
    krait_config c2 = small_config(32, tied);
    b = krait_model_init(&c2, be);
    expect_bad("load_weights into another vocab", krait_model_load_weights(b, dir), "config.json", "vocab_size");
    krait_model_free(b);
    krait_config c3 = small_config(24, tied);
    c3.dt_rank_set = 1, c3.dt_rank = 2;
    krait_config_finalize(&c3, "test");
    b = krait_model_init(&c3, be);
    expect_bad("load_weights into another dt rank", krait_model_load_weights(b, dir), "config.json", "time_step_rank");
    krait_model_free(b);
    krait_config c4 = small_config(24, tied);
    c4.norm_eps = 1e-6f;
    b = krait_model_init(&c4, be);
    expect_bad("load_weights into another norm epsilon", krait_model_load_weights(b, dir), "config.json",
               "layer_norm_epsilon");
    krait_model_free(b);
    krait_status ls;
    b = krait_model_load(io_path(dir, "config.json"), be, &ls);
    expect_bad("a config.json path", ls, "config.json", "a JSON file, not a model");
    tu_check(!b, "a config.json path: no model");
    tu_check(cap.errors == 0 && cap.warnings == 0, "no stray log lines (%d errors, %d warnings)", cap.errors,
             cap.warnings);
    free(want);
    free(h);
    krait_model_free(m);
}

/* ---- HF-style folders built by hand --------------------------------------------------------- */

typedef struct hf_opts {
    const char *emb_name;   /* name to store the embedding under */
    int emb_rows;           /* rows stored (<= V) */
    int head;               /* 0 no lm_head, 1 lm_head = embedding, 2 lm_head perturbed */
    const char *drop;       /* a table tensor to leave out */
    const char *extra;      /* an extra tensor name to add (shape [E]) */
    const char *bad_shape;  /* a table tensor stored with one more row */
    const char *as_i32;     /* a table tensor stored as I32 */
    int conv_2d;            /* conv1d.weight stored [E, K] */
    const char *nonfinite;  /* a table tensor with one NaN (or, dtype F16, one Inf) in it */
    int nonfinite_last;     /* ... as its last element rather than its middle one */
    krait_st_dtype dtype;   /* of the stored floats */
    uint64_t shard;         /* > 0: sharded with this many bytes per shard */
    int head_rows;          /* rows stored for a table lm_head.weight (0: emb_rows) */
} hf_opts;

/* Write config text and m's weights (host h) into dir as opts say. */
static void write_hf(const char *dir, const char *config, const krait_model *m, const float *h,
                     const hf_opts *o)
{
    krait_fs_mkdirs(dir);
    io_write(io_path(dir, "config.json"), config, strlen(config));
    krait_st_writer *w = krait_st_writer_init();
    const int E = m->cfg.d_inner;
    static float zeros[4096];
    static int32_t izeros[4096];
    static float head[1 << 20];
    for (int i = 0; i < m->n_tensors; i++) {
        const krait_tensor_info *t = &m->tensors[i];
        if (o->drop && !strcmp(t->name, o->drop)) continue;
        int64_t shape[4];
        memcpy(shape, t->shape, sizeof shape);
        const char *name = t->name;
        if (t->offset == m->emb) {
            name = o->emb_name;
            shape[0] = o->emb_rows;
        }
        if (!strcmp(t->name, "lm_head.weight")) shape[0] = o->head_rows ? o->head_rows : o->emb_rows;
        int rank = t->ndim;
        if (o->conv_2d && strstr(t->name, "conv1d.weight")) {
            shape[1] = shape[2];
            rank = 2;
        }
        const float *src = h + t->offset;
        if (o->bad_shape && !strcmp(t->name, o->bad_shape)) {
            shape[0] += 1;
            src = zeros;   /* large enough for the small tensors this is used on */
        }
        static float damaged[1 << 16];
        if (o->nonfinite && !strcmp(t->name, o->nonfinite)) {
            memcpy(damaged, src, t->numel * sizeof *damaged); /* small tensors only */
            damaged[o->nonfinite_last ? t->numel - 1 : t->numel / 2] = o->dtype == KRAIT_ST_DTYPE_F16 ? INFINITY : NAN;
            src = damaged;
        }
        if (o->as_i32 && !strcmp(t->name, o->as_i32))
            krait_st_writer_add_raw(w, name, KRAIT_ST_DTYPE_I32, izeros, shape, rank);
        else
            krait_st_writer_add_f32(w, name, o->dtype, src, shape, rank);
    }
    if (o->head) {
        int64_t shape[2] = { o->emb_rows, m->cfg.d_model };
        size_t n = (size_t)o->emb_rows * m->cfg.d_model;
        memcpy(head, h + m->emb, n * sizeof(float));
        if (o->head == 2) head[n / 2] += 0.5f;
        krait_st_writer_add_f32(w, "lm_head.weight", o->dtype, head, shape, 2);
    }
    if (o->extra) {
        int64_t shape[1] = { E };
        krait_st_writer_add_f32(w, o->extra, o->dtype, zeros, shape, 1);
    }
    if (o->shard)
        krait_st_writer_write_sharded(w, dir, o->shard);
    else
        krait_st_writer_write(w, io_path(dir, "model.safetensors"));
    krait_st_writer_free(w);
}

/* HF keys as transformers writes them, with keys krait does not know. vocab 24, tied. */
static const char *hf_config =
    "{\"architectures\": [\"MambaForCausalLM\"], \"model_type\": \"mamba\", \"hidden_size\": 8,"
    " \"num_hidden_layers\": 2, \"vocab_size\": 24, \"state_size\": 4, \"expand\": 2,"
    " \"conv_kernel\": 4, \"time_step_rank\": \"auto\", \"use_bias\": false, \"use_conv_bias\": true,"
    " \"layer_norm_epsilon\": 1e-05, \"hidden_act\": \"silu\", \"dtype\": \"float32\","
    " \"transformers_version\": \"5.0.0\", \"output_attentions\": false, \"initializer_range\": 0.1}";

static void test_hf_folders(const char *root)
{
    krait_config c;
    krait_config_default(&c);
    tu_check(krait_config_parse(&c, NULL, hf_config, "hf") == 0 && c.vocab_size == 24 && c.dt_rank == 1 &&
                 c.tie_embeddings, "HF config parses (tied, vocab 24)");
    tu_check(cap.warnings == 1, "one warning for HF keys krait does not use");
    io_cap_reset(&cap);
    krait_model *m = random_model(&c);
    float *h = host_params(m);
    char dir[600];
    struct { const char *what; hf_opts o; } ok_cases[] = {
        { "embeddings, no lm_head", { "backbone.embeddings.weight", 24, 0, .dtype = KRAIT_ST_DTYPE_F32 } },
        { "embedding (original name)", { "backbone.embedding.weight", 24, 0, .dtype = KRAIT_ST_DTYPE_F32 } },
        { "tied with lm_head stored", { "backbone.embeddings.weight", 24, 1, .dtype = KRAIT_ST_DTYPE_F32 } },
        { "sharded", { "backbone.embeddings.weight", 24, 1, .dtype = KRAIT_ST_DTYPE_F32, .shard = 700 } },
    };
    for (size_t i = 0; i < sizeof ok_cases / sizeof ok_cases[0]; i++) {
        snprintf(dir, sizeof dir, "%s/hf-ok-%zu", root, i);
        write_hf(dir, hf_config, m, h, &ok_cases[i].o);
        krait_status s;
        krait_model *b = krait_model_load(dir, be, &s);
        tu_check(b && s == 0 && same_weights(m, h, b) && cap.errors == 0, "HF folder loads: %s",
                 ok_cases[i].what);
        krait_model_free(b);
        io_cap_reset(&cap);
    }
    /* BF16 file: loads as the rounding */
    hf_opts ob = { "backbone.embeddings.weight", 24, 1, .dtype = KRAIT_ST_DTYPE_BF16 };
    snprintf(dir, sizeof dir, "%s/hf-bf16", root);
    write_hf(dir, hf_config, m, h, &ob);
    float *want = malloc(m->n_params * sizeof *want);
    for (size_t i = 0; i < m->n_params; i++) want[i] = krait_bf16_to_f32(krait_f32_to_bf16(h[i]));
    krait_status s;
    krait_model *b = krait_model_load(dir, be, &s);
    tu_check(b && same_weights(m, want, b), "HF BF16 folder loads as bf16 rounding");
    krait_model_free(b);
    /* a .safetensors path with config.json beside it */
    snprintf(dir, sizeof dir, "%s/hf-ok-0/model.safetensors", root);
    b = krait_model_load(dir, be, &s);
    tu_check(b && same_weights(m, h, b), "a model.safetensors path loads");
    krait_model_free(b);
    io_cap_reset(&cap);

    /* malformed: each fails with one line naming the file and the tensor */
    struct { const char *what; hf_opts o; const char *frag; } bad[] = {
        { "tied lm_head differs", { "backbone.embeddings.weight", 24, 2, .dtype = KRAIT_ST_DTYPE_F32 }, "lm_head.weight" },
        { "missing tensor", { "backbone.embeddings.weight", 24, 0, .drop = "backbone.layers.1.mixer.D",
                              .dtype = KRAIT_ST_DTYPE_F32 }, "backbone.layers.1.mixer.D" },
        { "missing embedding", { "backbone.embeddings.weight", 24, 0, .drop = "backbone.embeddings.weight",
                                 .dtype = KRAIT_ST_DTYPE_F32 }, "backbone.embeddings.weight" },
        { "unused bias", { "backbone.embeddings.weight", 24, 0, .extra = "backbone.layers.0.mixer.in_proj.bias",
                           .dtype = KRAIT_ST_DTYPE_F32 }, "backbone.layers.0.mixer.in_proj.bias" },
        { "unknown tensor", { "backbone.embeddings.weight", 24, 0, .extra = "backbone.layers.2.norm.weight",
                              .dtype = KRAIT_ST_DTYPE_F32 }, "backbone.layers.2.norm.weight" },
        { "both embedding names", { "backbone.embeddings.weight", 24, 0, .extra = "backbone.embedding.weight",
                                    .dtype = KRAIT_ST_DTYPE_F32 }, "a model has one embedding" },
        { "wrong shape", { "backbone.embeddings.weight", 24, 0, .bad_shape = "backbone.layers.0.mixer.D",
                           .dtype = KRAIT_ST_DTYPE_F32 }, "backbone.layers.0.mixer.D" },
        { "wrong vocab rows", { "backbone.embeddings.weight", 23, 0, .dtype = KRAIT_ST_DTYPE_F32 },
          "backbone.embeddings.weight" },
        { "conv1d as [E, K]", { "backbone.embeddings.weight", 24, 0, .conv_2d = 1, .dtype = KRAIT_ST_DTYPE_F32 },
          "backbone.layers.0.mixer.conv1d.weight" },
        { "I32 tensor", { "backbone.embeddings.weight", 24, 0, .as_i32 = "backbone.norm_f.weight",
                          .dtype = KRAIT_ST_DTYPE_F32 }, "backbone.norm_f.weight" },
        { "a NaN weight", { "backbone.embeddings.weight", 24, 0, .nonfinite = "backbone.layers.0.mixer.in_proj.weight",
                            .dtype = KRAIT_ST_DTYPE_F32 }, "in_proj.weight' holds a non-finite value" },
        { "an Inf weight (F16)", { "backbone.embeddings.weight", 24, 0, .nonfinite = "backbone.layers.1.mixer.D",
                                   .dtype = KRAIT_ST_DTYPE_F16 }, "mixer.D' holds a non-finite value" },
        { "a NaN as the last weight", { "backbone.embeddings.weight", 24, 0, .nonfinite = "backbone.norm_f.weight",
                                        .nonfinite_last = 1, .dtype = KRAIT_ST_DTYPE_F32 },
          "norm_f.weight' holds a non-finite value (nan at element 7)" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(dir, sizeof dir, "%s/hf-bad-%zu", root, i);
        write_hf(dir, hf_config, m, h, &bad[i].o);
        io_cap_reset(&cap);
        b = krait_model_load(dir, be, &s);
        expect_bad(bad[i].what, s, dir, bad[i].frag);
        tu_check(!b, "%s: no model", bad[i].what);
        krait_model_file_info info;
        if (bad[i].o.head != 2 && !bad[i].o.nonfinite) /* inspect checks names, shapes and dtypes, not values */
            expect_bad("  (inspect)", krait_model_inspect(&info, dir), dir, bad[i].frag);
    }
    /* an untied config without lm_head; no config at all; no folder */
    snprintf(dir, sizeof dir, "%s/hf-untied-nohead", root);
    char untied[1024];
    snprintf(untied, sizeof untied, "%.*s, \"tie_word_embeddings\": false}", (int)strlen(hf_config) - 1, hf_config);
    hf_opts on = { "backbone.embeddings.weight", 24, 0, .dtype = KRAIT_ST_DTYPE_F32 };
    write_hf(dir, untied, m, h, &on);
    io_cap_reset(&cap);
    b = krait_model_load(dir, be, &s);
    expect_bad("untied config, no lm_head", s, dir, "lm_head.weight");
    /* a classifier with an lm_head.weight in its file (a feature-input one used to crash): refused */
    for (int feat = 0; feat < 2; feat++) {
        krait_config cc;
        krait_config_default(&cc);
        const char *cj = feat ? "{\"hidden_size\": 8, \"num_hidden_layers\": 1, \"state_size\": 4, "
                                "\"krait\": {\"head\": \"classify\", \"classes\": 2, \"input_dim\": 5}}"
                              : "{\"hidden_size\": 8, \"num_hidden_layers\": 1, \"vocab_size\": 24, \"state_size\": 4, "
                                "\"krait\": {\"head\": \"classify\", \"classes\": 2}}";
        tu_check(krait_config_parse(&cc, NULL, cj, "cls") == 0, "classifier config %d parses", feat);
        krait_model *mc = random_model(&cc);
        float *hc = host_params(mc);
        hf_opts oc = { "backbone.embeddings.weight", 24, feat ? 0 : 1, .dtype = KRAIT_ST_DTYPE_F32,
                       .extra = feat ? "lm_head.weight" : NULL };
        snprintf(dir, sizeof dir, "%s/cls-with-head-%d", root, feat);
        write_hf(dir, cj, mc, hc, &oc);
        io_cap_reset(&cap);
        b = krait_model_load(dir, be, &s);
        expect_bad(feat ? "feature classifier with lm_head.weight" : "token classifier with lm_head.weight", s, dir,
                   "'lm_head.weight' is not part of");
        free(hc);
        krait_model_free(mc);
    }
    /* a classifier's folder must say how many classes (a training config may leave it out) */
    char nocls[1024];
    snprintf(nocls, sizeof nocls, "%.*s, \"krait\": {\"head\": \"classify\"}}", (int)strlen(hf_config) - 1, hf_config);
    write_hf(dir, nocls, m, h, &on);
    io_cap_reset(&cap);
    b = krait_model_load(dir, be, &s);
    expect_bad("classifier config without classes", s, "config.json", "classes");
    krait_model_file_info ci;
    expect_bad("  (inspect)", krait_model_inspect(&ci, dir), "config.json", "classes");
    unlink(io_path(dir, "config.json"));
    b = krait_model_load(dir, be, &s);
    expect_bad("no config.json", s, "config.json", NULL);
    b = krait_model_load(io_path(root, "nothing-here"), be, &s);
    expect_bad("no such folder", s, "nothing-here", NULL);
    free(want);
    free(h);
    krait_model_free(m);
}

/* The original state-spaces config: vocab 50277 padded to 50280; pad rows zero. */
static void test_original_config(const char *root)
{
    const char *orig = "{\"d_model\": 8, \"d_intermediate\": 0, \"n_layer\": 2, \"vocab_size\": 50277,"
                       " \"ssm_cfg\": {\"d_state\": 4}, \"attn_layer_idx\": [], \"attn_cfg\": {},"
                       " \"rms_norm\": true, \"residual_in_fp32\": true, \"fused_add_norm\": true,"
                       " \"pad_vocab_size_multiple\": 8, \"tie_embeddings\": true}";
    krait_config c;
    krait_config_default(&c);
    tu_check(krait_config_parse(&c, NULL, orig, "orig") == 0 && c.vocab_size == 50280 && c.vocab_size_raw == 50277,
             "original config: vocab 50277 -> 50280");
    krait_model *m = random_model(&c);
    float *h = host_params(m), *want = malloc(m->n_params * sizeof *want);
    memcpy(want, h, m->n_params * sizeof *want);
    for (size_t i = (size_t)50277 * 8; i < (size_t)50280 * 8; i++) want[m->emb + i] = 0.0f;
    char dir[600];
    snprintf(dir, sizeof dir, "%s/orig-raw", root);
    hf_opts o = { "backbone.embedding.weight", 50277, 0, .dtype = KRAIT_ST_DTYPE_F32 };
    write_hf(dir, orig, m, h, &o);
    krait_status s;
    krait_model *b = krait_model_load(dir, be, &s);
    tu_check(b && b->cfg.vocab_size == 50280 && same_weights(m, want, b),
             "50277 embedding rows load with 3 zero pad rows");
    krait_model_free(b);
    krait_model_file_info info;
    tu_check(krait_model_inspect(&info, dir) == 0 && info.embedding_rows == 50277 &&
                 !strcmp(info.embedding, "backbone.embedding.weight"), "inspect: 50277 rows, original name");
    snprintf(dir, sizeof dir, "%s/orig-short", root);
    hf_opts o1 = { "backbone.embedding.weight", 50276, 0, .dtype = KRAIT_ST_DTYPE_F32 };
    write_hf(dir, orig, m, h, &o1);
    io_cap_reset(&cap);
    b = krait_model_load(dir, be, &s);
    expect_bad("50276 embedding rows (fewer than vocab_size)", s, "backbone.embedding.weight", "unpadded vocab_size rows");
    tu_check(!b, "50276 rows: no model");
    snprintf(dir, sizeof dir, "%s/orig-padded", root);
    hf_opts o2 = { "backbone.embedding.weight", 50280, 1, .dtype = KRAIT_ST_DTYPE_F32 };
    write_hf(dir, orig, m, h, &o2);
    b = krait_model_load(dir, be, &s);
    tu_check(b && same_weights(m, h, b), "50280 stored rows (and a stored lm_head) load as stored");
    krait_model_free(b);
    tu_check(cap.errors == 0, "no errors");
    io_cap_reset(&cap);
    free(want);
    free(h);
    krait_model_free(m);

    /* untied: the head's pad rows are zeroed too (its 50277 rows stored, like the embedding's) */
    char untied[1024];
    snprintf(untied, sizeof untied, "%.*s false}", (int)(strlen(orig) - strlen("true}")), orig);
    krait_config_default(&c);
    tu_check(krait_config_parse(&c, NULL, untied, "untied") == 0 && !c.tie_embeddings, "untied config");
    m = random_model(&c);
    h = host_params(m);
    tu_check(m->lm_head != m->emb, "an untied head of its own");
    for (size_t i = (size_t)50277 * 8; i < (size_t)50280 * 8; i++) h[m->emb + i] = h[m->lm_head + i] = 1.0f;
    want = malloc(m->n_params * sizeof *want);
    memcpy(want, h, m->n_params * sizeof *want);
    for (size_t i = (size_t)50277 * 8; i < (size_t)50280 * 8; i++) want[m->emb + i] = want[m->lm_head + i] = 0.0f;
    snprintf(dir, sizeof dir, "%s/untied-raw", root);
    write_hf(dir, untied, m, h, &o);
    b = krait_model_load(dir, be, &s);
    tu_check(b && same_weights(m, want, b), "untied: 50277 embedding and lm_head rows load with 3 zero pad rows each");
    krait_model_free(b);
    /* the head's pad rows are zeroed, not left as they were in the staging buffer: the embedding
     * (before lm_head in the table) stored with all 50280 rows, its pad rows 1, loads as stored
     * and leaves them in the buffer just where the head's 50277 stored rows end */
    tu_check(m->emb < m->lm_head && !strcmp(m->tensors[m->n_tensors - 1].name, "lm_head.weight"),
             "untied: lm_head is read after the embedding");
    memcpy(want, h, m->n_params * sizeof *want);
    for (size_t i = (size_t)50277 * 8; i < (size_t)50280 * 8; i++) want[m->lm_head + i] = 0.0f;
    snprintf(dir, sizeof dir, "%s/untied-head-raw", root);
    hf_opts o3 = { "backbone.embedding.weight", 50280, 0, .head_rows = 50277, .dtype = KRAIT_ST_DTYPE_F32 };
    write_hf(dir, untied, m, h, &o3);
    b = krait_model_load(dir, be, &s);
    tu_check(b && same_weights(m, want, b),
             "untied: 50280 embedding rows load as stored (pad rows 1), 50277 lm_head rows with 3 zero pad rows");
    krait_model_free(b);
    tu_check(cap.errors == 0, "untied: no errors (%s)", cap.last_error);
    io_cap_reset(&cap);
    free(want);
    free(h);
    krait_model_free(m);
}

/* f16 ends at 65504: a weight beyond it is refused before anything is written (it was saved as
 * inf, and every loader then refused the folder); bf16 holds it */
static void test_f16_range(const char *root)
{
    krait_config c = small_config(24, 1);
    krait_model *m = random_model(&c);
    float *h = host_params(m);
    const krait_tensor_info *d = krait_model_find(m, "backbone.layers.1.mixer.D");
    h[d->offset + 2] = 1e5f;
    be->upload(be, m->params, h, m->n_params * sizeof *h);
    char dir[600];
    snprintf(dir, sizeof dir, "%s/over16", root);
    expect_bad("a weight of 1e5 saved as f16", krait_model_save(m, dir, KRAIT_DTYPE_F16),
               "tensor 'backbone.layers.1.mixer.D' holds 100000 (element 2), beyond the range of f16", "bf16 or f32");
    tu_check(!krait_fs_is_dir(dir), "... and no folder made");
    snprintf(dir, sizeof dir, "%s/over16-bf16", root);
    tu_check(krait_model_save(m, dir, KRAIT_DTYPE_BF16) == KRAIT_STATUS_OK, "the same model saved as bf16");
    free(h);
    krait_model_free(m);
}

/* A config built by hand without krait_config_finalize (d_inner, dt_rank still 0) is refused
 * with one line, not made into a model of zero-width layers whose every logit is 0. */
static void test_unfinalised_config(void)
{
    krait_config c;
    krait_config_default(&c);
    c.d_model = 32, c.n_layer = 1, c.vocab_size = c.vocab_size_raw = 16;
    io_cap_reset(&cap);
    krait_model *m = krait_model_init(&c, be);
    tu_check(!m && io_cap_one_error(&cap, "unfinalised config", "call krait_config_finalize first"),
             "krait_model_init of an unfinalised config: refused with one line");
    krait_model_free(m);
    krait_config_finalize(&c, "test");
    m = krait_model_init(&c, be);
    tu_check(m != NULL, "krait_model_init of the same config finalised");
    krait_model_free(m);
}

int main(void)
{
    tu_init("test_model_io");
    be = krait_backend_cpu_ref_init();
    const char *root = io_tmpdir("model-io");
    io_cap_begin(&cap);
    test_round_trip(root, 1);
    test_round_trip(root, 0);
    test_hf_folders(root);
    test_original_config(root);
    test_f16_range(root);
    test_unfinalised_config();
    io_cap_end();
    krait_fs_remove_tree(root);
    krait_backend_destroy(be);
    return tu_finish();
}
