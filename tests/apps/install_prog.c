/* tests/apps/install_prog.c FASTA WAV — a program built against an installed krait through
 * pkg-config alone (tests/apps/install.sh): the headers as <krait/NAME.h>, the static libraries
 * and every dependency they need from the .pc files. It tokenizes a string, reads the FASTA
 * (htslib) and the WAV (libsndfile), and builds a small model on the CPU backend (OpenBLAS,
 * OpenMP) whose next-token logits it checks for finiteness; prints one line per part. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <krait/audio_io.h>
#include <krait/dna_read.h>
#include <krait/infer.h>
#include <krait/krait_version.h>
#include <krait/model.h>
#include <krait/state.h>
#include <krait/synthetic.h>
#include <krait/tokenizer.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: install_prog FASTA WAV\n");
        return 2;
    }
    printf("krait %s\n", krait_version());

    krait_tokenizer *tok = NULL;
    int32_t *ids = NULL;
    size_t n = 0, cap = 0;
    if (krait_tokenizer_bytes(NULL, 0, &tok) || krait_tokenizer_encode(tok, "krait", 5, "text", &ids, &n, &cap))
        return 1;
    printf("text: %zu tokens\n", n);
    free(ids);
    krait_tokenizer_free(tok);

    krait_status st = KRAIT_STATUS_OK;
    krait_dna_read_opts o;
    memset(&o, 0, sizeof o);
    krait_dna_reader *r = krait_dna_reader_open(argv[1], &o, &st);
    krait_dna_rec rec;
    if (!r || krait_dna_reader_next(r, &rec) != 1) return 1;
    printf("dna: %s, %zu bases\n", rec.name, rec.len);
    krait_dna_reader_close(r);

    krait_audio_reader *a = krait_audio_reader_open(argv[2], 0, &st);
    if (!a) return 1;
    float x[64];
    printf("audio: %ld samples read\n", krait_audio_reader_read(a, x, 64));
    krait_audio_reader_close(a);

    printf("synthetic: %s\n", krait_synth_task_name((krait_synth_task)krait_synth_task_from_name("induction")));

    krait_config c;
    krait_config_default(&c);
    c.d_model = 32, c.n_layer = 2, c.vocab_size_raw = 256;
    krait_backend *be = krait_backend_cpu_init(1);
    if (!be || krait_config_finalize(&c, "install_prog")) return 1;
    krait_model *m = krait_model_init(&c, be);
    krait_rng rng;
    krait_rng_init(&rng, 1);
    if (!m || krait_model_init_weights(m, &rng)) return 1;
    krait_infer *inf = krait_infer_init(m, 1, 8);
    krait_state *s = krait_state_init(m, 1);
    int32_t prompt[3] = { 'a', 'b', 'c' };
    float *logits = malloc((size_t)c.vocab_size * sizeof *logits);
    if (!inf || !s || !logits || krait_prefill(inf, logits, s, prompt, 1, 3)) return 1;
    int finite = 1;
    for (int i = 0; i < c.vocab_size; i++) finite &= isfinite(logits[i]) != 0;
    printf("model: %d logits, %s\n", c.vocab_size, finite ? "finite" : "NOT FINITE");
    free(logits);
    krait_state_free(m, s);
    krait_infer_free(inf);
    krait_model_free(m);
    krait_backend_destroy(be);
    return finite ? 0 : 1;
}
