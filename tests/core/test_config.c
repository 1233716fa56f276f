/* tests/core/test_config.c — config parsing: the pretrained HF and state-spaces key families,
 * derived sizes, overrides, the round trip through krait_config_to_json, and bad configs that
 * must fail with one line naming the source and the problem. */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "testutil.h"

static char last_msg[1024];
static int n_msgs;

static void capture(krait_log_level level, const char *msg, void *user)
{
    (void)level;
    (void)user;
    snprintf(last_msg, sizeof last_msg, "%s", msg);
    n_msgs++;
}

/* The state-spaces/mamba-130m-hf config.json as published (keys and values). */
static const char *hf_130m =
    "{\"architectures\":[\"MambaForCausalLM\"],\"bos_token_id\":0,\"conv_kernel\":4,\"d_inner\":1536,"
    "\"d_model\":768,\"eos_token_id\":0,\"expand\":2,\"fused_add_norm\":true,\"hidden_act\":\"silu\","
    "\"hidden_size\":768,\"initializer_range\":0.1,\"intermediate_size\":1536,\"layer_norm_epsilon\":1e-05,"
    "\"model_type\":\"mamba\",\"n_layer\":24,\"num_hidden_layers\":24,\"pad_token_id\":0,"
    "\"pad_vocab_size_multiple\":8,\"rescale_prenorm_residual\":false,\"residual_in_fp32\":true,"
    "\"rms_norm\":true,\"ssm_cfg\":{},\"state_size\":16,\"time_step_floor\":0.0001,"
    "\"time_step_init_scheme\":\"random\",\"time_step_max\":0.1,\"time_step_min\":0.001,"
    "\"time_step_rank\":48,\"time_step_scale\":1.0,\"torch_dtype\":\"float32\","
    "\"transformers_version\":\"4.39.0.dev0\",\"use_bias\":false,\"use_cache\":true,"
    "\"use_conv_bias\":true,\"vocab_size\":50280}";

/* The original state-spaces/mamba-370m config.json. */
static const char *orig_370m =
    "{\"d_model\": 1024, \"n_layer\": 48, \"vocab_size\": 50277, \"ssm_cfg\": {}, \"rms_norm\": true,"
    " \"residual_in_fp32\": true, \"fused_add_norm\": true, \"pad_vocab_size_multiple\": 8}";

static void expect_ok(const char *what, const char *json, krait_config *c, krait_train_config *t)
{
    krait_config_default(c);
    if (t) krait_train_default(t);
    n_msgs = 0;
    krait_status s = krait_config_parse(c, t, json, what);
    tu_check(s == KRAIT_STATUS_OK, "%s: parse failed (%s)", what, last_msg);
}

static void expect_bad(const char *what, const char *json, const char *fragment)
{
    krait_config c;
    krait_train_config t;
    krait_config_default(&c);
    krait_train_default(&t);
    n_msgs = 0;
    last_msg[0] = 0;
    krait_status s = krait_config_parse(&c, &t, json, "bad.json");
    int ok = (s == KRAIT_STATUS_BAD_INPUT || s == KRAIT_STATUS_UNSUPPORTED) && n_msgs == 1 &&
             strstr(last_msg, "bad.json") && strstr(last_msg, fragment);
    tu_check(ok, "%s: status %d, %d messages, last '%s' (want '%s')", what, s, n_msgs, last_msg, fragment);
    if (ok) printf("  ok   %-28s -> %s\n", what, last_msg);
}

/* A locale whose decimal point is ',' for LC_NUMERIC: an installed one, else de_DE made by
 * localedef (the `locales` package's sources) into a temporary folder named by LOCPATH, which
 * setlocale reads. NULL when neither works (the check is then reported as not run). */
static char made_locale[] = "/tmp/krait-locale-XXXXXX";
static int made_locale_used;

static const char *comma_locale(void)
{
    static const char *names[] = { "de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8" };
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (setlocale(LC_NUMERIC, names[i]) && localeconv()->decimal_point[0] == ',') return names[i];
        if (pass) break;
        char cmd[256];
        if (!mkdtemp(made_locale)) break;
        made_locale_used = 1;
        snprintf(cmd, sizeof cmd, "localedef -i de_DE -f UTF-8 %s/de_DE.UTF-8 >/dev/null 2>&1", made_locale);
        if (system(cmd) != 0) break;
        setenv("LOCPATH", made_locale, 1);
    }
    setlocale(LC_NUMERIC, "C");
    return NULL;
}

int main(void)
{
    tu_init("test_config");
    krait_log_set(capture, NULL, KRAIT_LOG_DEBUG);
    krait_config c;
    krait_train_config t;

    expect_ok("mamba-130m-hf", hf_130m, &c, NULL);
    tu_check(c.d_model == 768 && c.n_layer == 24 && c.vocab_size == 50280 && c.d_inner == 1536 &&
                 c.dt_rank == 48 && c.d_state == 16 && c.d_conv == 4 && !c.use_bias && c.use_conv_bias &&
                 c.tie_embeddings,
             "130m-hf shape: D %d NL %d V %d E %d R %d", c.d_model, c.n_layer, c.vocab_size, c.d_inner, c.dt_rank);

    expect_ok("mamba-370m original keys", orig_370m, &c, NULL);
    tu_check(c.d_model == 1024 && c.n_layer == 48 && c.vocab_size_raw == 50277 && c.vocab_size == 50280 &&
                 c.d_inner == 2048 && c.dt_rank == 64,
             "370m shape: D %d NL %d V %d (raw %d) E %d R %d", c.d_model, c.n_layer, c.vocab_size,
             c.vocab_size_raw, c.d_inner, c.dt_rank);

    expect_ok("hf config with a new key", "{\"transformers_version\":\"9.9\",\"hidden_size\":64,"
              "\"num_hidden_layers\":2,\"vocab_size\":16,\"use_associative_scan\":true}", &c, NULL);
    tu_check(n_msgs == 1 && strstr(last_msg, "use_associative_scan"), "unknown HF key warned once: '%s'", last_msg);

    expect_ok("krait preset", "{\"hidden_size\":64,\"num_hidden_layers\":2,\"vocab_size\":16,"
              "\"krait\":{\"modality\":\"dna\",\"head\":\"classify\",\"classes\":2,\"pooling\":\"last\"},"
              "\"train\":{\"lr\":3e-4,\"batch\":32,\"seq_len\":512,\"minutes\":2.5,\"seed\":42}}", &c, &t);
    tu_check(t.lr > 2.99e-4f && t.lr < 3.01e-4f && t.batch == 32 && t.seq_len == 512 && t.minutes == 2.5 &&
                 t.seed == 42 && !strcmp(c.head, "classify") && c.n_classes == 2 && !strcmp(c.pooling, "last"),
             "preset values: lr %g batch %d head %s", t.lr, t.batch, c.head);

    /* overrides re-derive E and R from the new width */
    tu_check(krait_config_set(&c, &t, "hidden_size=128") == KRAIT_STATUS_OK && c.d_inner == 256 && c.dt_rank == 8,
             "override hidden_size: E %d R %d", c.d_inner, c.dt_rank);
    tu_check(krait_config_set(&c, &t, "train.lr=0.01") == KRAIT_STATUS_OK && t.lr == 0.01f, "override train.lr");
    tu_check(krait_config_set(&c, &t, "train.nope=1") == KRAIT_STATUS_BAD_INPUT, "override of an unknown key fails");
    /* the whole is checked once, after every override: a pair that is only valid together passes
     * in either order (one at a time, min 0.5 over the default max 0.1 was refused) */
    const char *pair[2] = { "time_step_min=0.5", "time_step_max=0.9" }, *swapped[2] = { pair[1], pair[0] };
    const krait_config base = c; /* the preset's, valid */
    tu_check(krait_config_set_many(&c, &t, pair, 2) == KRAIT_STATUS_OK && c.dt_min == 0.5f && c.dt_max == 0.9f,
             "--set time_step_min then time_step_max");
    c = base;
    tu_check(krait_config_set_many(&c, &t, swapped, 2) == KRAIT_STATUS_OK && c.dt_min == 0.5f && c.dt_max == 0.9f,
             "--set time_step_max then time_step_min");
    c = base;
    const char *bad_pair[2] = { "time_step_min=0.5", "hidden_size=64" };
    n_msgs = 0;
    tu_check(krait_config_set_many(&c, &t, bad_pair, 2) == KRAIT_STATUS_BAD_INPUT && n_msgs == 1 &&
                 strstr(last_msg, "--set time_step_min=0.5 --set hidden_size=64: time_step_min/max"),
             "an invalid whole names every --set: %s", last_msg);

    /* round trip */
    expect_ok("mamba-130m-hf", hf_130m, &c, NULL);
    char *j = krait_config_to_json(&c, "bfloat16");
    krait_config c2;
    expect_ok("round trip", j, &c2, NULL);
    tu_check(c2.d_model == c.d_model && c2.n_layer == c.n_layer && c2.vocab_size == c.vocab_size &&
                 c2.d_inner == c.d_inner && c2.dt_rank == c.dt_rank && c2.norm_eps == c.norm_eps &&
                 c2.dt_min == c.dt_min && c2.dt_init_floor == c.dt_init_floor && c2.tie_embeddings == c.tie_embeddings &&
                 !strcmp(c2.head, c.head),
             "config survives to_json -> parse");
    tu_check(strstr(j, "\"bfloat16\"") != NULL, "torch_dtype written");
    tu_check(strstr(j, "\"layer_norm_epsilon\":\t1e-05,") && strstr(j, "\"time_step_min\":\t0.001,") &&
                 strstr(j, "\"time_step_max\":\t0.1,") && strstr(j, "\"time_step_floor\":\t0.0001,"),
             "floats written as their shortest decimals (1e-05, 0.001, 0.1, 0.0001), as transformers does:\n%s", j);
    /* transformers 5 refuses an integer in a float field ("time_step_scale expected float, got
     * int"): a whole-valued float keeps its decimal point */
    tu_check(c.dt_scale == 1.0f && strstr(j, "\"time_step_scale\":\t1.0,") && strstr(j, "\"expand\":\t2,"),
             "a whole float is written 1.0, an integer field 2:\n%s", j);
    free(j);
    krait_train_config t3;
    krait_train_default(&t3);
    t3.lr = 3e-4f, t3.beta2 = 0.95f, t3.min_lr = 1.0f / 3, t3.grad_clip = 2.0f;
    j = krait_train_to_json(&t3);
    krait_train_config t4;
    krait_train_default(&t4);
    char train_json[2048];
    snprintf(train_json, sizeof train_json, "{\"hidden_size\": 64, \"num_hidden_layers\": 2, \"vocab_size\": 16, "
             "\"train\": %s}", j);
    expect_ok("train round trip", train_json, &c2, &t4);
    tu_check(strstr(j, "\"lr\":0.0003,") && strstr(j, "\"beta2\":0.95,") && strstr(j, "\"grad_clip\":2.0,") &&
                 t4.lr == t3.lr && t4.beta2 == t3.beta2 && t4.min_lr == t3.min_lr && t4.grad_clip == 2.0f, "train floats: shortest decimals that read back as the same floats: %s", j);
    free(j);

    /* in a locale that writes 0,001 (a program embedding krait may set one): the files keep '.',
     * and read back */
    const char *loc = comma_locale();
    if (loc) {
        char probe[16];
        snprintf(probe, sizeof probe, "%g", 0.5);
        expect_ok("mamba-130m-hf", hf_130m, &c, NULL);
        j = krait_config_to_json(&c, "float32");
        char *tj = krait_train_to_json(&t3);
        krait_config c3;
        krait_train_config t5;
        krait_train_default(&t5);
        snprintf(train_json, sizeof train_json, "{\"hidden_size\": 64, \"num_hidden_layers\": 2, \"vocab_size\": 16, "
                 "\"train\": %s}", tj);
        tu_check(!strcmp(probe, "0,5") && strstr(j, "\"time_step_min\":\t0.001,") && strstr(j, "\"time_step_scale\":\t1.0,") &&
                     strstr(tj, "\"beta2\":0.95,") && strstr(tj, "\"grad_clip\":2.0,"),
                 "under %s (printf writes %s) the JSON keeps '.':\n%s\n%s", loc, probe, j, tj);
        n_msgs = 0;
        krait_config_default(&c3);
        krait_status s1 = krait_config_parse(&c3, NULL, j, "comma locale");
        tu_check(s1 == KRAIT_STATUS_OK && c3.dt_min == c.dt_min && c3.norm_eps == c.norm_eps,
                 "under %s the config reads back (%s, %d messages: %s)", loc, krait_status_string(s1), n_msgs,
                 n_msgs ? last_msg : "");
        n_msgs = 0;
        krait_config_default(&c3);
        s1 = krait_config_parse(&c3, &t5, train_json, "comma locale train");
        tu_check(s1 == KRAIT_STATUS_OK && t5.beta2 == t3.beta2 && t5.min_lr == t3.min_lr && t5.grad_clip == t3.grad_clip,
                 "under %s the train settings read back (%s, %d messages: %s)", loc, krait_status_string(s1), n_msgs,
                 n_msgs ? last_msg : "");
        free(j);
        free(tj);
        setlocale(LC_NUMERIC, "C");
    }
    if (made_locale_used) {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "rm -rf %s", made_locale);
        tu_check(system(cmd) == 0, "removed %s", made_locale);
    }
    if (!loc) {
        printf("  --   no comma-decimal locale here (none installed, localedef could not make one): locale check not run\n");
    }

    /* edges of the accepted ranges and of the HF reading */
    expect_ok("defaults", "{\"hidden_size\": 64, \"num_hidden_layers\": 2, \"vocab_size\": 16}", &c, NULL);
    tu_check(c.dt_init_floor == 1e-4f && c.dt_min == 1e-3f && c.dt_max == 0.1f && c.d_conv == 4 && c.d_inner == 128,
             "mamba_ssm's defaults: dt floor %g, dt %g..%g, conv %d, E %d", c.dt_init_floor, c.dt_min, c.dt_max, c.d_conv,
             c.d_inner);
    expect_ok("conv_kernel 16", "{\"hidden_size\": 64, \"num_hidden_layers\": 2, \"vocab_size\": 16, "
              "\"conv_kernel\": 16}", &c, NULL);
    expect_ok("time_step_min == max", "{\"hidden_size\": 64, \"num_hidden_layers\": 2, \"vocab_size\": 16, "
              "\"time_step_min\": 0.01, \"time_step_max\": 0.01}", &c, NULL);
    expect_ok("krait's d_inner", "{\"hidden_size\": 64, \"num_hidden_layers\": 2, \"vocab_size\": 16, "
              "\"d_inner\": 200}", &c, NULL);
    tu_check(c.d_inner == 200, "d_inner given: %d (want 200, not expand * hidden_size)", c.d_inner);
    expect_ok("HF intermediate_size", "{\"transformers_version\": \"4.39\", \"hidden_size\": 64, "
              "\"num_hidden_layers\": 2, \"vocab_size\": 16, \"intermediate_size\": 96}", &c, NULL);
    tu_check(c.d_inner == 96 && n_msgs == 0, "intermediate_size is d_inner: %d (want 96), %d messages", c.d_inner, n_msgs);
    expect_bad("intermediate_size against d_inner", "{\"transformers_version\": \"4.39\", \"hidden_size\": 64, "
               "\"num_hidden_layers\": 2, \"vocab_size\": 16, \"intermediate_size\": 96, \"d_inner\": 128}", "disagree");
    expect_ok("HF vocab not padded", "{\"transformers_version\": \"4.39\", \"hidden_size\": 64, "
              "\"num_hidden_layers\": 2, \"vocab_size\": 50277, \"pad_vocab_size_multiple\": 8}", &c, NULL);
    tu_check(c.vocab_size == 50277, "transformers reads vocab_size as written: %d (want 50277)", c.vocab_size);
    expect_ok("HF by architectures", "{\"architectures\": [\"MambaForCausalLM\"], \"hidden_size\": 64, "
              "\"num_hidden_layers\": 2, \"vocab_size\": 16, \"a_new_key\": 1}", &c, NULL);
    tu_check(n_msgs == 1 && strstr(last_msg, "a_new_key"), "a config with architectures and no krait object is "
             "transformers': its unknown key warned (%s)", last_msg);
    expect_bad("krait's own config stays strict", "{\"architectures\": [\"MambaForCausalLM\"], "
               "\"krait\": {\"head\": \"lm\"}, \"hidden_size\": 64, \"num_hidden_layers\": 2, \"vocab_size\": 16, "
               "\"hidden_sizee\": 1}", "unknown key \"hidden_sizee\"");
    expect_bad("conv_kernel 17", "{\"hidden_size\": 64, \"num_hidden_layers\": 2, \"vocab_size\": 16, "
               "\"conv_kernel\": 17}", "\"conv_kernel\" must be in 1..16");
    expect_bad("time_step_max below min", "{\"hidden_size\": 64, \"num_hidden_layers\": 2, \"vocab_size\": 16, "
               "\"time_step_min\": 0.01, \"time_step_max\": 0.005}", "0 < min <= max");
    expect_bad("a size past int", "{\"hidden_size\": 3000000000, \"num_hidden_layers\": 2, \"vocab_size\": 16}",
               "\"hidden_size\" must be a positive integer");
    expect_bad("an infinite lr", "{\"hidden_size\":64,\"num_hidden_layers\":2,\"vocab_size\":16,\"train\":{\"lr\":1e999}}",
               "\"train.lr\" must be a positive number");
    expect_bad("embed dropout of 1", "{\"hidden_size\":64,\"num_hidden_layers\":2,\"vocab_size\":16,"
               "\"train\":{\"embed_dropout\":1}}", "\"train.embed_dropout\" must be below 1");
    n_msgs = 0;
    tu_check(krait_config_set(&c, &t, "=5") == KRAIT_STATUS_BAD_INPUT && n_msgs == 1 && strstr(last_msg, "key=value"),
             "--set without a key refused: %s", last_msg);

    printf("bad configs:\n");
    expect_bad("malformed JSON", "{\"hidden_size\": 64,\n \"num_hidden_layers\": }", "malformed JSON at line 2");
    expect_bad("not an object", "[1, 2]", "must be a JSON object");
    /* sizes that would overflow the tensor table's int arithmetic are bad input, not UB */
    expect_bad("200 million layers", "{\"hidden_size\": 64, \"num_hidden_layers\": 200000000, \"vocab_size\": 16}",
               "1..100000");
    expect_bad("a huge time_step_rank", "{\"hidden_size\": 64, \"num_hidden_layers\": 2, \"vocab_size\": 16, "
               "\"time_step_rank\": 2000000000}", "time_step_rank");
    expect_bad("unknown key", "{\"hidden_sizee\": 64, \"num_hidden_layers\": 2, \"vocab_size\": 16}",
               "unknown key \"hidden_sizee\"");
    expect_bad("a key twice", "{\"hidden_size\": 64, \"num_hidden_layers\": 2, \"vocab_size\": 16, \"hidden_size\": 32}",
               "key \"hidden_size\" is given twice");
    expect_bad("a train key twice", "{\"hidden_size\": 64, \"num_hidden_layers\": 2, \"vocab_size\": 16, "
               "\"train\": {\"lr\": 1e-3, \"lr\": 2e-3}}", "key \"train.lr\" is given twice");
    expect_bad("unknown krait key", "{\"hidden_size\":64,\"num_hidden_layers\":2,\"vocab_size\":16,\"krait\":{\"moda\":1}}",
               "unknown key \"krait.moda\"");
    expect_bad("unknown train key", "{\"hidden_size\":64,\"num_hidden_layers\":2,\"vocab_size\":16,\"train\":{\"lrr\":1}}",
               "unknown key \"train.lrr\"");
    expect_bad("zero size", "{\"hidden_size\": 0, \"num_hidden_layers\": 2, \"vocab_size\": 16}",
               "\"hidden_size\" must be a positive integer (got 0)");
    expect_bad("negative size", "{\"hidden_size\": 64, \"num_hidden_layers\": -3, \"vocab_size\": 16}",
               "\"num_hidden_layers\" must be a positive integer (got -3)");
    expect_bad("missing size", "{\"hidden_size\": 64, \"vocab_size\": 16}", "num_hidden_layers");
    expect_bad("fractional size", "{\"hidden_size\": 64.5, \"num_hidden_layers\": 2, \"vocab_size\": 16}",
               "\"hidden_size\" must be a positive integer");
    expect_bad("string size", "{\"hidden_size\": \"64\", \"num_hidden_layers\": 2, \"vocab_size\": 16}",
               "\"hidden_size\" must be a positive integer");
    expect_bad("zero batch", "{\"hidden_size\":64,\"num_hidden_layers\":2,\"vocab_size\":16,\"train\":{\"batch\":0}}",
               "\"train.batch\" must be a positive integer (got 0)");
    expect_bad("negative lr", "{\"hidden_size\":64,\"num_hidden_layers\":2,\"vocab_size\":16,\"train\":{\"lr\":-1}}",
               "\"train.lr\" must be a positive number");
    expect_bad("dropout of 1", "{\"hidden_size\":64,\"num_hidden_layers\":2,\"vocab_size\":16,\"train\":{\"resid_dropout\":1}}",
               "\"train.resid_dropout\" must be below 1");
    expect_bad("beta1 of 1", "{\"hidden_size\":64,\"num_hidden_layers\":2,\"vocab_size\":16,\"train\":{\"beta1\":1}}",
               "\"train.beta1\" must be below 1 (an AdamW decay rate");
    expect_bad("beta2 of 1.5", "{\"hidden_size\":64,\"num_hidden_layers\":2,\"vocab_size\":16,\"train\":{\"beta2\":1.5}}",
               "\"train.beta2\" must be below 1 (an AdamW decay rate");
    expect_bad("negative dropout", "{\"hidden_size\":64,\"num_hidden_layers\":2,\"vocab_size\":16,\"train\":{\"embed_dropout\":-0.1}}",
               "\"train.embed_dropout\" must be a non-negative number");
    expect_bad("boolean aliases disagree", "{\"hidden_size\": 16, \"num_hidden_layers\": 1, \"vocab_size\": 20, "
               "\"tie_word_embeddings\": true, \"tie_embeddings\": false}",
               "keys \"tie_word_embeddings\" (true) and \"tie_embeddings\" (false) disagree");
    expect_bad("a boolean and its ssm_cfg twin disagree", "{\"hidden_size\": 16, \"num_hidden_layers\": 1, "
               "\"vocab_size\": 20, \"use_conv_bias\": true, \"ssm_cfg\": {\"conv_bias\": false}}",
               "\"ssm_cfg.conv_bias\" (false) disagree");
    expect_ok("boolean aliases agree", "{\"hidden_size\": 16, \"num_hidden_layers\": 1, \"vocab_size\": 20, "
              "\"use_bias\": true, \"ssm_cfg\": {\"bias\": true}}", &c, NULL);
    tu_check(c.use_bias, "use_bias true under both names");
    expect_bad("alias disagreement", "{\"hidden_size\": 64, \"d_model\": 32, \"num_hidden_layers\": 2, \"vocab_size\": 16}",
               "disagree");
    expect_bad("mlp blocks", "{\"d_model\": 64, \"n_layer\": 2, \"vocab_size\": 16, \"d_intermediate\": 128}",
               "d_intermediate");
    expect_bad("mamba2 layer", "{\"d_model\": 64, \"n_layer\": 2, \"vocab_size\": 16, \"ssm_cfg\": {\"layer\": \"Mamba2\"}}",
               "Mamba1");
    /* other architectures share Mamba-1's key names: refused, not built as Mamba-1 */
    expect_bad("a Mamba-2 model_type", "{\"model_type\": \"mamba2\", \"hidden_size\": 64, \"num_hidden_layers\": 2, "
               "\"vocab_size\": 100, \"state_size\": 16, \"expand\": 2, \"conv_kernel\": 4}", "\"mamba2\": krait implements Mamba-1");
    expect_bad("Mamba-2 architectures", "{\"architectures\": [\"Mamba2ForCausalLM\"], \"transformers_version\": \"4.44\", "
               "\"hidden_size\": 64, \"num_hidden_layers\": 2, \"vocab_size\": 100, \"num_heads\": 8}",
               "\"Mamba2ForCausalLM\"");
    expect_bad("FalconMamba", "{\"model_type\": \"falcon_mamba\", \"hidden_size\": 64, \"num_hidden_layers\": 2, "
               "\"vocab_size\": 100}", "falcon_mamba");
    expect_bad("ssm_cfg.d_state against state_size", "{\"hidden_size\": 8, \"num_hidden_layers\": 1, \"vocab_size\": 20, "
               "\"state_size\": 4, \"ssm_cfg\": {\"d_state\": 7}}", "\"state_size\" (4) and \"ssm_cfg.d_state\" (7) disagree");
    expect_ok("ssm_cfg.d_state equal to state_size", "{\"hidden_size\": 8, \"num_hidden_layers\": 1, \"vocab_size\": 20, "
              "\"state_size\": 7, \"ssm_cfg\": {\"d_state\": 7}}", &c, NULL);
    tu_check(c.d_state == 7, "d_state %d", c.d_state);
    expect_ok("a 16-bit residual", "{\"hidden_size\": 8, \"num_hidden_layers\": 1, \"vocab_size\": 20, "
              "\"residual_in_fp32\": false}", &c, NULL);
    tu_check(n_msgs == 1 && strstr(last_msg, "residual stream in fp32"), "residual_in_fp32 false warns (%d: %s)", n_msgs,
             last_msg);
    expect_bad("vocab_size 1", "{\"hidden_size\": 8, \"num_hidden_layers\": 1, \"vocab_size\": 1}",
               "\"vocab_size\" must be an integer >= 2 (got 1)");
    expect_bad("bad head", "{\"hidden_size\":64,\"num_hidden_layers\":2,\"vocab_size\":16,\"krait\":{\"head\":\"mlp\"}}",
               "krait.head");
    expect_bad("classify with one class", "{\"hidden_size\":64,\"num_hidden_layers\":2,\"vocab_size\":16,"
               "\"krait\":{\"head\":\"classify\",\"classes\":1}}", "krait.classes");
    /* a training config may leave the count to the labels (model folders must name it: test_model_io) */
    expect_ok("classify without classes", "{\"hidden_size\":64,\"num_hidden_layers\":2,\"vocab_size\":16,"
              "\"krait\":{\"head\":\"classify\"}}", &c, NULL);
    tu_check(c.n_classes == 0, "classify without classes: n_classes %d (want 0: from the labels)", c.n_classes);
    expect_bad("state too large", "{\"hidden_size\":64,\"num_hidden_layers\":2,\"vocab_size\":16,\"state_size\":1000}",
               "state_size");
    expect_bad("empty file", "", "malformed JSON at line 1");
    return tu_finish();
}
