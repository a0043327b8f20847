/*
 * ring.h: the C side of the off-heap MPMC ring drawn in spindle_sched.h. The Java side
 * (io.spindle.scheduler.internal.OffHeapRing) is the same algorithm, line for line, over
 * VarHandles; both follow JCTools' MpmcArrayQueue.offer/poll.
 */
#ifndef SPINDLE_RING_H
#define SPINDLE_RING_H

#include "spindle_sched.h"

#include <stdatomic.h>
#include <stddef.h>

#define lv_i64(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define lp_i64(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define so_i64(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define cas_i64(p, expect, v) \
    __atomic_compare_exchange_n((p), &(int64_t){(expect)}, (v), 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)

static inline struct spn_ring_slot *ring_slot(struct spn_ring *r, int64_t index)
{
    return &r->slots[index & r->mask];
}

/* 1 if offered, 0 if full or closed. e must be non-zero (0 means "empty" to poll). */
static inline int ring_offer(struct spn_ring *r, int64_t e)
{
    const int64_t capacity = r->capacity;
    int64_t c_index = INT64_MIN; /* consumer index cached across retries, as JCTools does */
    for (;;) {
        const int64_t p_index = lv_i64(&r->producer_index);
        if (p_index & SPN_RING_CLOSED)
            return 0;
        struct spn_ring_slot *slot = ring_slot(r, p_index);
        const int64_t seq = lv_i64(&slot->sequence);
        if (seq < p_index) {
            /* The slot still holds the element from one lap ago: full, unless the consumer
             * moved on since we last looked. */
            if (p_index - capacity >= c_index
                && p_index - capacity >= (c_index = lv_i64(&r->consumer_index)))
                return 0;
            continue;
        }
        if (seq > p_index)
            continue; /* another producer claimed this index: read again */
        if (cas_i64(&r->producer_index, p_index, p_index + 1)) {
            so_i64(&slot->element, e);
            so_i64(&slot->sequence, p_index + 1); /* publishes the element */
            return 1;
        }
    }
}

/* The element, or 0 when there is none to take *now*: the ring is empty, or the producer that
 * claimed the head slot has not published it yet. A consumer never waits for a producer
 * mid-offer (JCTools' relaxedPoll): a producer descheduled or stopped at a safepoint between
 * its cas and its publish would otherwise hold every worker in this loop. The producer wakes
 * a worker after it publishes (Spindle.signalWork), so nothing waits for ever.
 *
 * holding (an isolated pool's workers; NULL otherwise): the element goes there before the
 * slot is given back, so that if this process dies at any point, the element is either still
 * in its slot (claimed, not released: the JVM finds it there) or in *holding. */
static inline int64_t ring_poll_holding(struct spn_ring *r, void *_Atomic *holding)
{
    for (;;) {
        const int64_t c_index = lv_i64(&r->consumer_index);
        struct spn_ring_slot *slot = ring_slot(r, c_index);
        const int64_t seq = lv_i64(&slot->sequence);
        const int64_t expected = c_index + 1;
        if (seq < expected)
            return 0; /* empty, or claimed but not yet published */
        if (seq > expected)
            continue; /* another consumer took it: read again */
        if (cas_i64(&r->consumer_index, c_index, c_index + 1)) {
            const int64_t e = lp_i64(&slot->element); /* ordered by the acquire of seq */
            if (holding)
                __atomic_store_n(holding, (void *) e, __ATOMIC_SEQ_CST);
            so_i64(&slot->sequence, c_index + r->capacity); /* hand the slot to the next lap */
            return e;
        }
    }
}

static inline int64_t ring_poll(struct spn_ring *r)
{
    return ring_poll_holding(r, NULL);
}

/* 1 if the head slot holds a published element: what ring_poll could take now. Racy. */
static inline int ring_has_published(struct spn_ring *r)
{
    const int64_t c_index = lv_i64(&r->consumer_index);
    return lv_i64(&ring_slot(r, c_index)->sequence) >= c_index + 1;
}

/* 1 if no element is published or claimed: exact when no offer or poll is in flight. For
 * shutdown, which must also wait for an offer a producer has claimed but not finished. */
static inline int ring_is_drained(struct spn_ring *r)
{
    return lv_i64(&r->consumer_index) >= (lv_i64(&r->producer_index) & ~SPN_RING_CLOSED);
}

#endif /* SPINDLE_RING_H */
