/* core/classify.h — the classification head, generic over modalities (DNA, audio clips, text).
 *
 * A classifier is a krait model whose config says "krait": {"head": "classify", "classes": C}:
 * the backbone's final normed hidden states hf (B, L, D) are pooled per sequence — "mean" over
 * its positions or its "last" position — and classifier.weight (C, D) + classifier.bias (C) give
 * C logits; the loss is softmax cross-entropy. With "bidirectional" the sequence and its reverse
 * go through the same weights (Caduceus' BiMamba idea) and the two pooled vectors are averaged,
 * so every position sees context from both sides. Inputs are token ids through the embedding, or
 * with "input_dim": F float feature vectors (e.g. log-mel frames) through backbone.input_proj.
 *
 * Variable lengths without padding artefacts: sequences are right-padded to L; the backbone is
 * causal, so the pad positions never reach positions 0..len-1, pooling reads only those, and the
 * reverse pass reverses only 0..len-1. A sequence's result does not depend on L or on the
 * (valid) pad values or on what else is in the batch (tested).
 *
 * Training uses the ordinary trainer (train.h): a classification batch is ids (or features)
 * (B, L) plus targets (B, L) where targets[b*L + t] is row b's label for t < len_b and -1 for the
 * padding positions t >= len_b. A row of all -1 is skipped.
 *
 * Long sequences (a 100 kb genomic region, a long recording) are classified in chunks with the
 * recurrent state carried and the pooling accumulated (krait_cls_stream_*): memory depends on
 * the chunk, not on the length, and the result equals one whole pass. The head itself is tiny and
 * runs on the host; the backbone runs on the model's backend.
 *
 * This file does not read files or compute metrics (metrics.h). */
#ifndef KRAIT_CLASSIFY_H
#define KRAIT_CLASSIFY_H

#include <stdint.h>

#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Rows of training activations a classifier needs for batches of B sequences (2B when it is
 * bidirectional: the reversed sequences ride in the same forward/backward pass). */
int krait_cls_rows(const krait_model *m, int B);

/* Whether label can be a class name. A class name becomes a TSV column and field, a line of a
 * classes file and a JSON string: it must be non-empty, hold no tab, newline or other control
 * character, and not begin or end with white space ("pos " beside "pos" would be two classes).
 * 1 if so; else 0 and what is wrong, for one error line, in why (the label shown with ? for each
 * control character, cut to 48 bytes). */
int krait_class_name_ok(const char *label, char *why, size_t n);

/* Put class names in the order their ids follow, one rule for every modality: when every name is
 * an integer ("-3", "+1", "0", "17": an optional sign and digits, within a long long) by number,
 * equal numbers ("1", "01", "+1") then by text; else by text (strcmp). The order never depends on
 * the input's. */
void krait_class_names_sort(char **names, int n);

/* One training micro-step on B = krait's batch (a->B / krait_cls_rows(m, 1)) sequences of a->L
 * positions: ids (B, L) or feats (B, L, F) — whichever the model reads, the other NULL — and
 * targets (B, L) as above. *loss = mean cross-entropy over the scored rows, *n_rows their count.
 * With grads (zeroed by the caller) the gradients of every parameter are accumulated into it; with
 * grads == NULL only the loss is computed. A loss that is not finite is KRAIT_STATUS_NUMERIC
 * (logged) without grads; with grads it is returned as it is (the trainer names the step). */
krait_status krait_cls_forward_backward(const krait_model *m, krait_acts *a, float *grads,
                                        const int32_t *ids, const float *feats,
                                        const int32_t *targets, double *loss, long *n_rows);

/* Class probabilities (B, C) for B sequences of lengths lens[b] (1 <= lens[b] <= a->L_max),
 * given as ids (B, Lp) or feats (B, Lp, F) rows padded to Lp = max lens (the pads run through
 * the model and their outputs are ignored, so they must still be valid: ids in [0, V), finite
 * features; 0 will do). a: inference activations (krait_acts_init(m, B_max, L_max, 0)) with
 * B <= B_max. */
krait_status krait_classify(const krait_model *m, krait_acts *a, const int32_t *ids, const float *feats,
                            const int32_t *lens, int B, float *probs);

/* ---- one long sequence in bounded memory ------------------------------------------------------ */
typedef struct krait_cls_stream krait_cls_stream;

/* Chunks of up to `chunk` positions; NULL (and one logged line) on failure. */
krait_cls_stream *krait_cls_stream_init(const krait_model *m, int chunk);
/* The next n positions of the sequence (reverse = 0), or of the REVERSED sequence (reverse = 1,
 * in order: first the last positions, reversed). A bidirectional model needs both passes over
 * the same length; a one-directional model takes only reverse = 0. */
krait_status krait_cls_stream_feed(krait_cls_stream *s, const int32_t *ids, const float *feats, long n,
                                   int reverse);
/* probs (C) for the sequence fed so far; then the stream is ready for the next sequence. */
krait_status krait_cls_stream_finish(krait_cls_stream *s, float *probs);
void krait_cls_stream_free(krait_cls_stream *s);

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_CLASSIFY_H */
