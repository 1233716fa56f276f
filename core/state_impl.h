/* core/state_impl.h — what core/state.c lends the rest of the core: a view not yet pointed at
 * any rows, for scratch that is allocated before its parent exists (infer.c's one-row prefill
 * view). Private to core/. */
#ifndef KRAIT_STATE_IMPL_H
#define KRAIT_STATE_IMPL_H

#include "state.h"

/* A view of no rows (B = 0, buf == NULL): point it with krait_state_view_set, free it with
 * krait_state_free. NULL (not logged) when out of memory. */
krait_state *krait_state_view_alloc(const krait_model *m);

#endif /* KRAIT_STATE_IMPL_H */
