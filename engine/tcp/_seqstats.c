/*
 * Retransmitted and out-of-order segments and missing bytes per conversation, compiled: what
 * engine/tcp/seqstats.py computes with numpy (its docstring states the rules), for a batch of
 * conversations in one call with the GIL released.
 *
 * seqstats.py stays the reference (and what installs without a compiler use); this file gives
 * the same numbers bit for bit (tests/engine/test_seqstats_compiled.py compares the two on
 * random, hostile and real captures). Sums and differences wrap like numpy's int64 arithmetic.
 *
 * Per conversation, one pass over its rows classifies each side's segments against the side's
 * running high-water mark H and gathers what the missing bytes need. The bytes a segment below H
 * fills are the open-hole bytes it is the first to cover: a side keeps its open holes in a short
 * sorted list (holes only ever open at the top, and real traffic has few at a time). A side with
 * more (a hostile order) hands its later segments to one offline pass at the conversation's end:
 * a radix sort of their distinct sequence points, then union-find over the elementary intervals
 * between them, each covered once, so any order stays O(n log n).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../buffer_args.h"

/* TCP header flag bits (engine/packets.py) */
#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_ACK 0x10

#define FLOOR (-((int64_t)1 << 62)) /* "nothing before": H of a side's first segment */
#define SANE_ACK ((int64_t)1 << 30) /* an acknowledgement further ahead is no evidence */

static inline int64_t add64(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }
static inline int64_t sub64(int64_t a, int64_t b) { return (int64_t)((uint64_t)a - (uint64_t)b); }
static inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* growable scratch memory, kept across conversations */
typedef struct {
    void *data;
    size_t room; /* bytes */
} Scratch;

static void *scratch(Scratch *s, size_t bytes)
{
    if (bytes > s->room) {
        size_t room = s->room ? s->room : 4096;
        while (room < bytes)
            room *= 2;
        void *grown = realloc(s->data, room);
        if (!grown)
            return NULL;
        s->data = grown;
        s->room = room;
    }
    return s->data;
}

typedef struct {
    int64_t start, end; /* [start, end) */
} Range;

/* open holes a side keeps in a sorted list; with more, its later segments pend for the
 * offline pass (a hostile order opens thousands, and the list would cost O(holes) a segment) */
#define LISTED_HOLES 32

/* a segment from the side's switch to the offline pass on */
typedef struct {
    int64_t row;
    int64_t start, end; /* sequence range [start, end) */
    int64_t high;       /* H before it */
    int64_t fresh;      /* the bytes it adds above H ("new" in seqstats.py) */
    unsigned char todo; /* below H or a hole: the bytes it fills decide what it is */
    unsigned char below, syn, fin;
} Pending;

/* what one side of one conversation has shown so far */
typedef struct {
    /* classification */
    Py_ssize_t count;    /* segments */
    int64_t first_start; /* where the first segment starts */
    int64_t high;        /* H: the highest segment end */
    int64_t prev_start;  /* the previous segment's start and whether it was a probe */
    int prev_probe;
    int64_t covered; /* data bytes of the segments (union of nominal payload ranges) */
    int exact;       /* a segment below everything before it: count the union instead */
    /* the open holes (bytes of [first start, H) no segment covered yet) are holes[:nholes] */
    Py_ssize_t nholes;
    /* past LISTED_HOLES: the holes and H then, and every later segment, for fill_holes */
    int offline;
    int64_t offline_high;
    Pending *pending;
    Py_ssize_t npending;
    /* missing bytes */
    int64_t data_lo, data_hi; /* lowest data start, highest data end */
    int has_syn;
    int64_t syn_start; /* just after the first SYN */
    int64_t fin_at;    /* lowest FIN position */
    int64_t acked;     /* highest acknowledgement from the other side */
    int cut;           /* payload cut by the snaplen */
    /* kept from one conversation to the next: the list's room, the pending segments' memory */
    Range holes[LISTED_HOLES];
    Scratch pending_mem;
} Side;

static void side_reset(Side *s)
{
    memset(s, 0, offsetof(Side, holes)); /* a scan's million one-packet conversations */
    s->pending = s->pending_mem.data;
    s->high = FLOOR;
    s->data_lo = INT64_MAX;
    s->data_hi = INT64_MIN;
    s->fin_at = INT64_MAX;
    s->acked = INT64_MIN;
}

/* the payload bytes of a segment, not its SYN or FIN */
static int64_t data_bytes(int64_t fresh, int64_t start, int64_t end, int64_t high, int syn,
                          int fin, int first)
{
    int64_t n = fresh - (syn && start >= high) - (fin && (end > high || first));
    return n > 0 ? n : 0;
}

/* shared by every conversation of the call */
typedef struct {
    uint8_t *retransmitted, *reordered;
    Scratch sorted, values, ranks, parents, ranges;
    int failed; /* out of memory */
} Work;

/* the first listed hole that ends after at */
static Py_ssize_t hole_after(const Side *s, int64_t at)
{
    Py_ssize_t lo = 0, hi = s->nholes;
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (s->holes[mid].end <= at)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* whether the listed holes have room for what [start, end) does to them (hole: it opens one
 * below it; else it may split one in two) */
static int room_for(const Side *s, int64_t start, int64_t end, int hole)
{
    if (s->nholes < LISTED_HOLES)
        return 1;
    if (hole)
        return 0;
    Py_ssize_t j = hole_after(s, start);
    return !(j < s->nholes && s->holes[j].start < start && end < s->holes[j].end);
}

/* the listed holes' bytes [start, end) covers, which stop being holes */
static int64_t fill_listed(Side *s, int64_t start, int64_t end)
{
    int64_t filled = 0;
    Py_ssize_t j = hole_after(s, start);
    while (j < s->nholes && s->holes[j].start < end) {
        Range *h = &s->holes[j];
        int64_t lo = max64(h->start, start), hi = min64(h->end, end);
        filled = add64(filled, sub64(hi, lo));
        if (lo == h->start && hi == h->end) {
            memmove(h, h + 1, (size_t)(s->nholes - j - 1) * sizeof(Range));
            s->nholes--;
            continue;
        }
        if (lo == h->start) {
            h->start = hi;
        } else if (hi == h->end) {
            h->end = lo;
        } else { /* inside the hole: two holes remain */
            memmove(h + 2, h + 1, (size_t)(s->nholes - j - 1) * sizeof(Range));
            h[1] = (Range){hi, h->end};
            h->end = lo;
            s->nholes++;
        }
        j++;
    }
    return filled;
}

static void mark(Work *w, int64_t row, int below, int64_t filled)
{
    if (filled > 0)
        w->reordered[row] = 1;
    else if (below)
        w->retransmitted[row] = 1;
}

/* classify one segment of side s (seqstats._classify's rules, in capture order) */
static void segment(Side *s, Work *w, int64_t row, int64_t start, int64_t seglen, int syn,
                    int fin, int win_zero)
{
    int64_t end = add64(start, seglen);
    int first = s->count == 0;
    int64_t high = first ? FLOOR : s->high;
    int plain = !syn && !fin;
    int at_high = start == high, just_below = start == sub64(high, 1);
    int probe = plain && seglen == 1 && win_zero && (at_high || just_below);
    int keepalive = plain && seglen <= 1 && just_below && !first;
    int after_probe = !first && s->prev_probe && plain && seglen > 1 && s->prev_start == start &&
                      just_below;
    int below = start < high && !first && !keepalive && !after_probe;
    int hole = start > high && !first;
    int64_t fresh;
    if (first)
        fresh = seglen;
    else if (keepalive)
        fresh = 0;
    else if (start >= high)
        fresh = sub64(end, start);
    else
        fresh = max64(sub64(end, high), 0);
    if (first)
        s->first_start = start;
    else if (end <= s->first_start)
        s->exact = 1;
    if (!s->offline && (below || hole) && !room_for(s, start, end, hole)) {
        s->offline = 1;
        s->offline_high = high;
    }
    if (s->offline) {
        Pending *p = scratch(&s->pending_mem, (size_t)(s->npending + 1) * sizeof(Pending));
        if (!p) {
            w->failed = 1;
        } else {
            s->pending = p;
            p += s->npending++;
            *p = (Pending){.row = row, .start = start, .end = end, .high = high, .fresh = fresh,
                           .todo = (unsigned char)(below || hole), .below = (unsigned char)below,
                           .syn = (unsigned char)syn, .fin = (unsigned char)fin};
        }
    } else {
        /* only a segment below H can fill a hole: every byte of a keep-alive or of the data
         * after a probe below H was covered by the segment that set H */
        int64_t filled = 0;
        if (below && s->nholes)
            filled = fill_listed(s, start, end);
        else if (hole)
            s->holes[s->nholes++] = (Range){high, start};
        mark(w, row, below, filled);
        s->covered = add64(s->covered,
                           data_bytes(add64(fresh, filled), start, end, high, syn, fin, first));
    }
    s->high = first ? end : max64(s->high, end);
    s->prev_start = start;
    s->prev_probe = probe;
    s->count++;
}

/* a sequence point to sort: its distance above the side's first start, and which point it is */
typedef struct {
    uint64_t key;
    Py_ssize_t slot;
} Point;

/* LSD radix sort by key, 11 bits a pass (passes where every key has the same digit are skipped);
 * returns whichever of the two buffers holds the sorted points */
static Point *radix_sort(Point *points, Point *spare, Py_ssize_t n)
{
    uint64_t bits = 0;
    for (Py_ssize_t i = 0; i < n; i++)
        bits |= points[i].key;
    for (int shift = 0; shift < 64 && (bits >> shift); shift += 11) {
        Py_ssize_t at[2048] = {0};
        for (Py_ssize_t i = 0; i < n; i++)
            at[(points[i].key >> shift) & 2047]++;
        if (at[(points[0].key >> shift) & 2047] == n)
            continue;
        Py_ssize_t total = 0;
        for (int d = 0; d < 2048; d++) {
            Py_ssize_t count = at[d];
            at[d] = total;
            total += count;
        }
        for (Py_ssize_t i = 0; i < n; i++)
            spare[at[(points[i].key >> shift) & 2047]++] = points[i];
        Point *swap = points;
        points = spare;
        spare = swap;
    }
    return points;
}

/* the first uncovered elementary interval at or after x (path halving) */
static Py_ssize_t uncovered(Py_ssize_t *parent, Py_ssize_t x)
{
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    return x;
}

/* slots of the points fill_holes sorts: the first start, H at the switch, then two per listed
 * hole and two per pending segment (its start, cut at the first start, and its end) */
#define SLOT_FIRST 0
#define SLOT_HIGH 1
#define SLOT_HOLES 2

/* The pending segments of a side, in order: each fills the bytes of [first start, H) in its
 * range that no earlier segment covered. When the side went offline, [first start, H then)
 * was covered but for the listed holes; bytes below the first start never count, so ranges are
 * cut there. Elementary interval i runs from the i-th distinct point to the next; union-find
 * finds the next one not covered yet, so each is covered once: O(n) after the sort. */
static void fill_holes(Side *s, Work *w)
{
    int64_t floor_at = s->first_start;
    Py_ssize_t pending_slots = SLOT_HOLES + 2 * s->nholes;
    Py_ssize_t room = pending_slots + 2 * s->npending;
    Point *sorted = scratch(&w->sorted, 2 * (size_t)room * sizeof(Point));
    int64_t *value = scratch(&w->values, (size_t)room * sizeof(int64_t));
    Py_ssize_t *rank = scratch(&w->ranks, (size_t)room * sizeof(Py_ssize_t));
    Py_ssize_t *parent = scratch(&w->parents, (size_t)room * sizeof(Py_ssize_t));
    if (!sorted || !value || !rank || !parent) {
        w->failed = 1;
        return;
    }
    /* every point is at or above the first start, so its distance from it sorts it */
    Py_ssize_t n = 0;
#define ADD_POINT(at, which) \
    (sorted[n++] = (Point){(uint64_t)(at) - (uint64_t)floor_at, (which)})
    ADD_POINT(floor_at, SLOT_FIRST);
    ADD_POINT(s->offline_high, SLOT_HIGH);
    for (Py_ssize_t j = 0; j < s->nholes; j++) {
        ADD_POINT(s->holes[j].start, SLOT_HOLES + 2 * j);
        ADD_POINT(s->holes[j].end, SLOT_HOLES + 2 * j + 1);
    }
    for (Py_ssize_t j = 0; j < s->npending; j++) {
        const Pending *p = &s->pending[j];
        if (p->end > floor_at) {
            ADD_POINT(max64(p->start, floor_at), pending_slots + 2 * j);
            ADD_POINT(p->end, pending_slots + 2 * j + 1);
        }
    }
#undef ADD_POINT
    Point *order = radix_sort(sorted, sorted + room, n);
    Py_ssize_t distinct = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (i == 0 || order[i].key != order[i - 1].key) {
            value[distinct] = (int64_t)((uint64_t)floor_at + order[i].key);
            parent[distinct] = distinct; /* the last point starts no interval: walks stop */
            distinct++;
        }
        rank[order[i].slot] = distinct - 1;
    }
    Py_ssize_t x = rank[SLOT_FIRST];
    for (Py_ssize_t j = 0; j <= s->nholes; j++) {
        Py_ssize_t to = j < s->nholes ? rank[SLOT_HOLES + 2 * j] : rank[SLOT_HIGH];
        for (; x < to; x++)
            parent[x] = x + 1;
        if (j < s->nholes)
            x = rank[SLOT_HOLES + 2 * j + 1];
    }
    for (Py_ssize_t j = 0; j < s->npending; j++) {
        const Pending *p = &s->pending[j];
        int64_t filled = 0;
        if (p->end > floor_at) {
            Py_ssize_t stop = rank[pending_slots + 2 * j + 1];
            x = uncovered(parent, rank[pending_slots + 2 * j]);
            while (x < stop) {
                if (value[x] < p->high)
                    filled = add64(filled, sub64(value[x + 1], value[x]));
                parent[x] = x + 1;
                x = uncovered(parent, x + 1);
            }
        }
        if (p->todo)
            mark(w, p->row, p->below, filled);
        else
            filled = 0; /* as numpy: only a segment below H or a hole counts what it fills */
        s->covered = add64(s->covered, data_bytes(add64(p->fresh, filled), p->start, p->end,
                                                  p->high, p->syn, p->fin, 0));
    }
}

/* the columns of the batch */
typedef struct {
    const uint8_t *lane;
    const uint16_t *flags, *win;
    const int64_t *rel, *plen, *cap, *ack_rel, *base;
} Columns;

static int compare_ranges(const void *a, const void *b)
{
    int64_t x = ((const Range *)a)->start, y = ((const Range *)b)->start;
    return (x > y) - (x < y);
}

/* bytes of [start, end) covered by the captured payload of lane's data (seqstats._union) */
static int64_t captured_union(const Columns *c, Work *w, Py_ssize_t from, Py_ssize_t to,
                              int lane, int64_t start, int64_t end)
{
    Range *ranges = scratch(&w->ranges, (size_t)(to - from) * sizeof(Range));
    if (!ranges && to > from) {
        w->failed = 1;
        return 0;
    }
    Py_ssize_t n = 0;
    for (Py_ssize_t i = from; i < to; i++) {
        if (c->lane[i] != lane || c->plen[i] <= 0 || (c->flags[i] & TH_RST))
            continue;
        int64_t at = add64(c->rel[i], (c->flags[i] & TH_SYN) != 0);
        int64_t lo = max64(at, start), hi = min64(add64(at, c->cap[i]), end);
        if (hi > lo)
            ranges[n++] = (Range){lo, hi};
    }
    if (n > 1)
        qsort(ranges, (size_t)n, sizeof(Range), compare_ranges);
    int64_t covered = 0, reach = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        int64_t before = i == 0 ? FLOOR : reach;
        covered = add64(covered, max64(sub64(ranges[i].end, max64(ranges[i].start, before)), 0));
        reach = i == 0 ? ranges[i].end : max64(reach, ranges[i].end);
    }
    return covered;
}

/* bytes of one side's stream never captured (seqstats._missing) */
static int64_t missing(const Side *s, const Columns *c, Work *w, Py_ssize_t from, Py_ssize_t to,
                       int lane)
{
    int64_t start = s->has_syn ? s->syn_start : s->data_lo;
    int64_t acked = min64(s->acked, s->fin_at);
    int64_t seen_high = s->data_hi > INT64_MIN ? s->data_hi : start;
    int sane = sub64(acked, seen_high) < SANE_ACK;
    int64_t end = max64(seen_high, sane ? acked : seen_high);
    if (!(start < INT64_MAX && end > start))
        return 0;
    int64_t covered = s->covered;
    if (s->exact || s->cut)
        covered = captured_union(c, w, from, to, lane, start, end);
    return max64(sub64(sub64(end, start), covered), 0);
}

/* the missing-bytes evidence of row i for both sides */
static void evidence(Side *sides, const Columns *c, Py_ssize_t i, Py_ssize_t conv)
{
    unsigned f = c->flags[i];
    int syn = (f & TH_SYN) != 0, rst = (f & TH_RST) != 0;
    for (int lane = 0; lane < 2; lane++) {
        Side *s = &sides[lane];
        if (c->lane[i] != lane) {
            if ((f & TH_ACK) && !rst && c->base[2 * conv + lane] >= 0)
                s->acked = max64(s->acked, c->ack_rel[i]);
            continue;
        }
        int64_t plen = c->plen[i];
        if (plen > 0 && !rst) {
            int64_t at = add64(c->rel[i], syn);
            s->data_lo = min64(s->data_lo, at);
            s->data_hi = max64(s->data_hi, add64(at, plen));
            if (c->cap[i] < plen)
                s->cut = 1;
        }
        if (syn && !s->has_syn) {
            s->has_syn = 1;
            s->syn_start = add64(c->rel[i], 1);
        }
        if (f & TH_FIN)
            s->fin_at = min64(s->fin_at, add64(add64(c->rel[i], syn), plen));
    }
}

/* every row of conversation conv (rows from..to) */
static void conversation(Side *sides, const Columns *c, Work *w, Py_ssize_t conv,
                         Py_ssize_t from, Py_ssize_t to, int64_t *missing_side)
{
    side_reset(&sides[0]);
    side_reset(&sides[1]);
    int win_zero = 0; /* the other side's last window before this run of packets was 0 */
    for (Py_ssize_t i = from; i < to && !w->failed; i++) {
        if (i == from)
            win_zero = 0;
        else if (c->lane[i] != c->lane[i - 1])
            win_zero = c->win[i - 1] == 0;
        evidence(sides, c, i, conv);
        unsigned f = c->flags[i];
        int lane = c->lane[i];
        int syn = (f & TH_SYN) != 0, fin = (f & TH_FIN) != 0;
        int64_t seglen = add64(c->plen[i], syn + fin);
        if (lane < 2 && seglen > 0 && !(f & TH_RST))
            segment(&sides[lane], w, i, c->rel[i], seglen, syn, fin, win_zero);
    }
    for (int lane = 0; lane < 2 && !w->failed; lane++) {
        if (sides[lane].offline)
            fill_holes(&sides[lane], w);
        missing_side[2 * conv + lane] = missing(&sides[lane], c, w, from, to, lane);
    }
}

enum { LANE, FLAGS, REL, PLEN, CAP, WIN, ACK_REL, BASE, BOUNDS, RETRANSMITTED, REORDERED,
       RETRANSMISSIONS, OUT_OF_ORDER, MISSING_SIDE, NARGS };

static const Spec specs[NARGS] = {
    {"lane", 'u', 1, 0},         {"flags", 'u', 2, 0},         {"rel", 'i', 8, 0},
    {"plen", 'i', 8, 0},         {"cap", 'i', 8, 0},           {"win", 'u', 2, 0},
    {"ack_rel", 'i', 8, 0},      {"base", 'i', 8, 0},          {"bounds", 'i', 8, 0},
    {"retransmitted", 'b', 1, 1}, {"reordered", 'b', 1, 1},    {"retransmissions", 'i', 8, 1},
    {"out_of_order", 'i', 8, 1}, {"missing_side", 'i', 8, 1},
};

/* sequence_stats(lane, flags, rel, plen, cap, win, ack_rel, base, bounds,
 *                retransmitted, reordered, retransmissions, out_of_order, missing_side)
 * Rows are grouped by conversation: conversation k is rows bounds[k]:bounds[k+1]. */
static PyObject *sequence_stats(PyObject *module, PyObject *args)
{
    (void)module;
    PyObject *obj[NARGS];
    Py_buffer view[NARGS];
    PyObject *result = NULL;
    memset(view, 0, sizeof(view));
    if (!PyArg_UnpackTuple(args, "sequence_stats", NARGS, NARGS, &obj[0], &obj[1], &obj[2],
                           &obj[3], &obj[4], &obj[5], &obj[6], &obj[7], &obj[8], &obj[9],
                           &obj[10], &obj[11], &obj[12], &obj[13]))
        return NULL;
    /* the batch's sizes come from lane (one item a row) and bounds (one more than conversations) */
    if (!take(obj[LANE], &specs[LANE], -1, &view[LANE]) ||
        !take(obj[BOUNDS], &specs[BOUNDS], -1, &view[BOUNDS]))
        goto done;
    Py_ssize_t n = view[LANE].len, nconv = view[BOUNDS].len / 8 - 1;
    if (nconv < 0) {
        PyErr_SetString(PyExc_ValueError, "bounds: at least one item expected");
        goto done;
    }
    for (int k = 0; k < NARGS; k++) {
        Py_ssize_t items = k == BOUNDS ? nconv + 1
                         : k == BASE || k == MISSING_SIDE ? 2 * nconv
                         : k >= RETRANSMISSIONS ? nconv
                         : n;
        if (k != LANE && k != BOUNDS && !take(obj[k], &specs[k], items, &view[k]))
            goto done;
    }
    const int64_t *bounds = view[BOUNDS].buf;
    if (!grouping(bounds, nconv, n)) {
        PyErr_SetString(PyExc_ValueError, "bounds: not a grouping of the rows");
        goto done;
    }
    Columns c = {
        .lane = view[LANE].buf, .flags = view[FLAGS].buf, .win = view[WIN].buf,
        .rel = view[REL].buf, .plen = view[PLEN].buf, .cap = view[CAP].buf,
        .ack_rel = view[ACK_REL].buf, .base = view[BASE].buf,
    };
    Work w = {.retransmitted = view[RETRANSMITTED].buf, .reordered = view[REORDERED].buf};
    int64_t *retransmissions = view[RETRANSMISSIONS].buf, *out_of_order = view[OUT_OF_ORDER].buf;
    int64_t *missing_side = view[MISSING_SIDE].buf;
    Side sides[2];
    memset(sides, 0, sizeof(sides));
    Py_BEGIN_ALLOW_THREADS
    memset(w.retransmitted, 0, (size_t)n);
    memset(w.reordered, 0, (size_t)n);
    for (Py_ssize_t k = 0; k < nconv && !w.failed; k++) {
        conversation(sides, &c, &w, k, bounds[k], bounds[k + 1], missing_side);
        int64_t retx = 0, ooo = 0;
        for (Py_ssize_t i = bounds[k]; i < bounds[k + 1]; i++) {
            retx += w.retransmitted[i];
            ooo += w.reordered[i];
        }
        retransmissions[k] = retx;
        out_of_order[k] = ooo;
    }
    Py_END_ALLOW_THREADS
    free(sides[0].pending_mem.data);
    free(sides[1].pending_mem.data);
    free(w.sorted.data);
    free(w.values.data);
    free(w.ranks.data);
    free(w.parents.data);
    free(w.ranges.data);
    if (w.failed) {
        PyErr_NoMemory();
    } else {
        Py_INCREF(Py_None);
        result = Py_None;
    }
done:
    release_all(view, NARGS);
    return result;
}

static PyMethodDef methods[] = {
    {"sequence_stats", sequence_stats, METH_VARARGS,
     "sequence_stats(lane, flags, rel, plen, cap, win, ack_rel, base, bounds, retransmitted,"
     " reordered, retransmissions, out_of_order, missing_side) -> None\n"
     "Retransmissions, out-of-order segments and missing bytes of a batch of conversations"
     " (see engine/tcp/seqstats.py)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_seqstats",
    "Retransmissions, out-of-order segments and missing bytes, compiled (engine/tcp/seqstats.py's"
    " rules).",
    -1, methods,
};

PyMODINIT_FUNC PyInit__seqstats(void) { return PyModule_Create(&module); }
