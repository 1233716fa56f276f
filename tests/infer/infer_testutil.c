/* tests/infer/infer_testutil.c — see infer_testutil.h. */
#include "infer_testutil.h"

#include <math.h>
#include <stdlib.h>

#include "testutil.h"

krait_model *it_tiny_model(krait_backend *be, int D, int NL, int V, uint64_t seed)
{
    return it_tiny_model_dt(be, D, NL, V, seed, 0.05f, 0.5f);
}

krait_model *it_tiny_model_dt(krait_backend *be, int D, int NL, int V, uint64_t seed, float dt_min, float dt_max)
{
    krait_config c;
    krait_config_default(&c);
    c.d_model = D;
    c.n_layer = NL;
    c.vocab_size_raw = V;
    c.d_state = D >= 16 ? 8 : 4;
    c.init_std = 0.5f;
    c.dt_min = dt_min;
    c.dt_max = dt_max;
    c.dt_init_floor = dt_min < 1e-4f ? dt_min : 1e-4f;
    if (krait_config_finalize(&c, "tiny")) return NULL;
    krait_model *m = krait_model_init(&c, be);
    if (!m) return NULL;
    krait_rng rng;
    krait_rng_init(&rng, seed);
    if (krait_model_init_weights(m, &rng)) {
        krait_model_free(m);
        return NULL;
    }
    float *h = malloc(m->n_params * sizeof *h);
    be->download(be, h, m->params, m->n_params * sizeof *h);
    for (size_t i = 0; i < m->n_params; i++) h[i] += (float)(0.05 * krait_rng_normal(&rng));
    be->upload(be, m->params, h, m->n_params * sizeof *h);
    free(h);
    krait_model_sync_act(m);
    return m;
}

void it_amplify_mixer(krait_model *m, float f)
{
    krait_backend *be = m->be;
    size_t n = (size_t)m->cfg.d_model * m->cfg.d_inner;
    float *h = malloc(n * sizeof *h);
    for (int l = 0; l < m->cfg.n_layer; l++) {
        float *w = m->params + m->layers[l].out_w;
        be->download(be, h, w, n * sizeof *h);
        for (size_t i = 0; i < n; i++) h[i] *= f;
        be->upload(be, w, h, n * sizeof *h);
    }
    free(h);
    krait_model_sync_act(m);
}

void it_tiny_model_free(krait_model *m) { krait_model_free(m); }

krait_backend *it_backend(int i) { return i == 0 ? krait_backend_cpu_ref_init() : krait_backend_cpu_init(0); }
const char *it_backend_name(int i) { return i == 0 ? "cpu-ref" : "cpu"; }

int32_t it_argmax(const float *x, int n)
{
    int32_t a = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[a]) a = i;
    return a;
}

double it_scaled_err(const float *a, const float *b, size_t n)
{
    double scale = 0, err = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(b[i]));
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= err)) err = isnan(d) ? INFINITY : d;
    }
    return err / (scale + 1e-30);
}
