/*
 * Wireshark's TCP sequence analysis (tcp.analysis.*), compiled: the rules of
 * engine/tcp/expert_exact.py, one packet at a time, for a whole batch of conversations in one
 * call with the GIL released.
 *
 * expert_exact.py is the readable statement of the rules (checked against tshark); this file
 * computes exactly what it computes (tests/engine/test_tcp_expert_compiled.py compares the two
 * on random, awkward and real captures). The numpy analysis (expert_seq.py, expert_acks.py)
 * stays for installs without a compiler.
 *
 * Per direction the state is what the sender has shown so far; all sequence arithmetic is on
 * raw 32-bit numbers with TCP's wrap-aware comparisons, and "unset" is 0, as in Wireshark.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* TCP header flag bits (engine/packets.py) */
#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_ACK 0x10

/* analysis flag bits (engine/tcp/expert_flags.py: Wireshark's TCP_A_* values) */
#define F_RETRANSMISSION 0x0001
#define F_LOST_SEGMENT 0x0002
#define F_ACK_LOST_SEGMENT 0x0004
#define F_KEEP_ALIVE 0x0008
#define F_DUPLICATE_ACK 0x0010
#define F_ZERO_WINDOW 0x0020
#define F_ZERO_WINDOW_PROBE 0x0040
#define F_ZERO_WINDOW_PROBE_ACK 0x0080
#define F_KEEP_ALIVE_ACK 0x0100
#define F_OUT_OF_ORDER 0x0200
#define F_FAST_RETRANSMISSION 0x0400
#define F_WINDOW_UPDATE 0x0800
#define F_WINDOW_FULL 0x1000
#define F_REUSED_PORTS 0x2000
#define F_SPURIOUS_RETRANSMISSION 0x4000
#define F_HAS_RECORD 0x8000

#define MAX_UNACKED 10000 /* Wireshark stops listing unacknowledged segments past this many */
#define FAST_RETRANS_NS 20000000ULL
#define OOO_DEFAULT_NS 3000000ULL
#define UNKNOWN_SCALE (-1)
#define NO_SCALE (-2)
#define NO_IRTT INT64_MIN

static inline int gt(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }
static inline int lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline int le(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }

typedef struct {
    int64_t row; /* batch row of the segment */
    uint32_t seq, nextseq;
} Segment;

typedef struct {
    int base_set;
    uint32_t base;
    uint32_t nextseq;
    int64_t nextseq_ts;
    uint32_t maxseqtobeacked;
    uint32_t lastack;
    int64_t lastack_ts;
    uint32_t window;
    int win_scale;
    int is_first_ack;
    unsigned lastsegmentflags;
    uint32_t dupacknum;
    int64_t lastnondupack;
    int valid_bif;
    uint32_t sack;
    int sack_count;
    Segment *segs; /* MAX_UNACKED of them, oldest first */
    Py_ssize_t nsegs;
    /* the listed segments' lowest start and highest end relative to base, when span_ok */
    int span_ok;
    uint32_t span_lo, span_hi;
    /* the list was last walked for this ACK number and nothing was added since: walking it
     * again for the same number changes nothing (a run of duplicate ACKs costs no walk) */
    int walked;
    uint32_t walked_ack;
} Flow;

static void flow_reset(Flow *f)
{
    Segment *segs = f->segs;
    memset(f, 0, sizeof(*f));
    f->segs = segs;
    f->window = 0xFFFFFFFFu;
    f->win_scale = UNKNOWN_SCALE;
    f->lastnondupack = -1;
    f->valid_bif = 1;
}

typedef struct {
    /* inputs, one per batch row */
    const int64_t *ts;
    const uint8_t *lane;
    const uint32_t *seq, *ack;
    const uint16_t *flags, *win;
    const int64_t *seglen;
    const int8_t *wscale;
    const uint32_t *sack;
    const uint8_t *sack_count;
    /* outputs, one per batch row */
    uint16_t *out_flags;
    int64_t *acked, *dup_num, *dup_of, *bif;
    /* base changes after the first setting: (row, conversation, lane, base) quads */
    int64_t *changes;
    Py_ssize_t nchanges, changes_room;
    int failed; /* out of memory */
} Batch;

/* one conversation's base bookkeeping: the first setting per lane is its base, later ones are
 * changes (as the exact pass's caller, expert._exact_one, records them) */
typedef struct {
    int64_t base[2];
    int changed[2];
    Py_ssize_t conv;
} Bases;

static void base_event(Batch *b, Bases *bs, int64_t row, int lane, int64_t base)
{
    if (bs->base[lane] == -1 && !bs->changed[lane]) {
        bs->base[lane] = base;
        return;
    }
    bs->changed[lane] = 1;
    if (b->nchanges == b->changes_room) {
        Py_ssize_t room = b->changes_room ? 2 * b->changes_room : 64;
        int64_t *grown = realloc(b->changes, (size_t)room * 4 * sizeof(int64_t));
        if (!grown) {
            b->failed = 1;
            return;
        }
        b->changes = grown;
        b->changes_room = room;
    }
    int64_t *c = b->changes + 4 * b->nchanges++;
    c[0] = row;
    c[1] = bs->conv;
    c[2] = lane;
    c[3] = base;
}

/* retransmission, fast or spurious retransmission, or out-of-order (one of them) */
static unsigned retransmission(int64_t ts, uint32_t seq, int64_t seglen, unsigned tf,
                               const Flow *fwd, const Flow *rev, unsigned f, int has_irtt,
                               int64_t irtt)
{
    int not_advanced = fwd->nextseq != 0 && lt(seq, fwd->nextseq);
    if (seglen > 1 && fwd->nextseq - 1 == seq)
        not_advanced = 0;
    if (seglen > 0 && rev->lastack && le((uint32_t)(seq + seglen), rev->lastack))
        return f | F_SPURIOUS_RETRANSMISSION;
    uint64_t since_ack = (uint64_t)ts - (uint64_t)rev->lastack_ts;
    if (not_advanced && rev->dupacknum >= 2 && rev->lastack == seq && since_ack < FAST_RETRANS_NS)
        return f | F_FAST_RETRANSMISSION;
    uint64_t since_next = (uint64_t)ts - (uint64_t)fwd->nextseq_ts;
    uint64_t threshold = has_irtt ? (uint64_t)irtt : OOO_DEFAULT_NS;
    uint32_t end = (uint32_t)(seq + seglen + ((tf & (TH_SYN | TH_FIN)) ? 1 : 0));
    if (not_advanced && since_next < threshold && fwd->nextseq != end)
        return f | F_OUT_OF_ORDER;
    if (not_advanced)
        return f | F_RETRANSMISSION;
    return f;
}

/* tshark's tcp_analyze_sequence_number for batch row i; returns the flags, sets *record */
static unsigned analyse_packet(Batch *b, Py_ssize_t i, Flow *fwd, Flow *rev, unsigned f,
                               int *record, int has_irtt, int64_t irtt)
{
    int64_t ts = b->ts[i];
    uint32_t seq = b->seq[i], ack = b->ack[i];
    unsigned tf = b->flags[i];
    uint32_t win = b->win[i];
    int64_t seglen = b->seglen[i];
    if (!fwd->base_set) {
        fwd->base = (tf & TH_SYN) ? seq : seq - 1;
        fwd->base_set = 1;
    }
    if (!rev->base_set && (tf & TH_ACK)) {
        rev->base = ack - 1;
        rev->base_set = 1;
    }
    if (tf & TH_ACK)
        rev->valid_bif = 1;
    unsigned sfr = tf & (TH_SYN | TH_FIN | TH_RST);
    int zwp = seglen == 1 && seq == fwd->nextseq && rev->window == 0;
    if (zwp) {
        f |= F_ZERO_WINDOW_PROBE;
    } else {
        if (win == 0 && !sfr)
            f |= F_ZERO_WINDOW;
        if (fwd->nextseq && gt(seq, fwd->nextseq) && !(tf & TH_RST)) {
            f |= F_LOST_SEGMENT;
            fwd->valid_bif = 0;
        }
        if (seglen <= 1 && seq == fwd->nextseq - 1 && !sfr)
            f |= F_KEEP_ALIVE;
        int same = seq == fwd->nextseq && ack == fwd->lastack && !sfr && seglen == 0;
        if (same && win && win != fwd->window)
            f |= F_WINDOW_UPDATE;
        if (seglen > 0 && rev->win_scale != UNKNOWN_SCALE && !sfr) {
            int shift = (rev->is_first_ack || rev->win_scale == NO_SCALE) ? 0 : rev->win_scale;
            uint32_t scaled = shift >= 32 ? 0 : (uint32_t)((uint64_t)rev->window << shift);
            uint32_t edge = rev->lastack + scaled;
            if ((uint32_t)(seq + seglen) == edge)
                f |= F_WINDOW_FULL;
        }
        if (same && win && win == fwd->window && (rev->lastsegmentflags & F_KEEP_ALIVE)) {
            f |= F_KEEP_ALIVE_ACK;
        } else if (same && win == 0 && fwd->window == 0 &&
                   (rev->lastsegmentflags & F_ZERO_WINDOW_PROBE)) {
            f |= F_ZERO_WINDOW_PROBE_ACK;
        } else if (same && win && win == fwd->window) {
            fwd->dupacknum = fwd->dupacknum == 0xFFFFFFFFu ? 1 : fwd->dupacknum + 1;
            f |= F_DUPLICATE_ACK;
            b->dup_num[i] = fwd->dupacknum;
            b->dup_of[i] = fwd->lastnondupack;
        }
    }
    /* finished_fwd */
    if (ack != fwd->lastack) {
        fwd->lastnondupack = i;
        fwd->dupacknum = 0;
    }
    if (rev->maxseqtobeacked && gt(ack, rev->maxseqtobeacked) && (tf & TH_ACK)) {
        *record = 1;
        if (lt(rev->maxseqtobeacked, rev->nextseq)) {
            rev->maxseqtobeacked = rev->nextseq;
            f |= F_ACK_LOST_SEGMENT;
        } else { /* flagged once until the other side's ACK number moves */
            if (rev->dupacknum == 0)
                f |= F_ACK_LOST_SEGMENT;
            rev->dupacknum = 0xFFFFFFFFu; /* Wireshark's unsigned -1 */
        }
    }
    if ((seglen > 0 || (tf & (TH_SYN | TH_FIN))) && !(f & F_KEEP_ALIVE))
        f = retransmission(ts, seq, seglen, tf, fwd, rev, f, has_irtt, irtt);
    uint32_t nextseq = (uint32_t)(seq + seglen);
    if ((seglen || (tf & (TH_SYN | TH_FIN))) && fwd->nsegs < MAX_UNACKED) {
        if (tf & (TH_SYN | TH_FIN))
            nextseq += 1;
        Segment *s = fwd->segs + fwd->nsegs++;
        s->row = i;
        s->seq = seq;
        s->nextseq = nextseq;
        fwd->walked = 0;
        if (fwd->span_ok) {
            uint32_t lo = seq - fwd->base, hi = nextseq - fwd->base;
            if (lo < fwd->span_lo)
                fwd->span_lo = lo;
            if (hi > fwd->span_hi)
                fwd->span_hi = hi;
        }
    }
    if ((gt(nextseq, fwd->nextseq) || !fwd->nextseq) && !(f & F_ZERO_WINDOW_PROBE)) {
        fwd->nextseq = nextseq;
        fwd->nextseq_ts = ts;
    }
    if ((seq == fwd->maxseqtobeacked || !fwd->maxseqtobeacked) && !(f & F_ZERO_WINDOW_PROBE))
        fwd->maxseqtobeacked = fwd->nextseq;
    fwd->window = win;
    fwd->lastack = ack;
    fwd->lastack_ts = ts;
    if (f)
        *record = 1;
    fwd->lastsegmentflags = f;
    /* the segments of the other direction this acknowledges: the oldest whose end it is,
     * the ones it covers leave the list, one it reaches into is trimmed */
    int64_t match = -1;
    if (!(rev->walked && rev->walked_ack == ack)) {
        int changed = 0;
        Py_ssize_t kept = 0;
        for (Py_ssize_t j = 0; j < rev->nsegs; j++) {
            Segment s = rev->segs[j];
            if (ack == s.nextseq) {
                if (match < 0)
                    match = s.row;
                changed = 1;
                continue;
            }
            if (gt(ack, s.seq) && le(ack, s.nextseq)) {
                s.seq = ack;
                changed = 1;
            }
            if (gt(s.nextseq, ack))
                rev->segs[kept++] = s;
            else
                changed = 1;
        }
        rev->nsegs = kept;
        if (changed)
            rev->span_ok = 0;
        rev->walked = 1;
        rev->walked_ack = ack;
    }
    if (match >= 0) {
        *record = 1;
        b->acked[i] = match;
    }
    if (seglen && fwd->nsegs && fwd->valid_bif) {
        *record = 1;
        if (!fwd->span_ok) {
            uint32_t lo = 0xFFFFFFFFu, hi = 0;
            for (Py_ssize_t j = 0; j < fwd->nsegs; j++) {
                uint32_t a = fwd->segs[j].seq - fwd->base, z = fwd->segs[j].nextseq - fwd->base;
                if (a < lo)
                    lo = a;
                if (z > hi)
                    hi = z;
            }
            fwd->span_lo = lo;
            fwd->span_hi = hi;
            fwd->span_ok = 1;
        }
        uint32_t in_flight = fwd->span_hi - fwd->span_lo;
        if (rev->sack_count)
            in_flight -= rev->sack;
        if (in_flight > 0 && in_flight < 2000000000u)
            b->bif[i] = (int64_t)in_flight - ((tf & (TH_SYN | TH_FIN)) ? 1 : 0);
    }
    return f;
}

static void verify_window_scaling(int synack, Flow *fwd, Flow *rev)
{
    if (fwd->win_scale == UNKNOWN_SCALE)
        fwd->win_scale = rev->win_scale = NO_SCALE;
    else if (synack && rev->win_scale == NO_SCALE)
        fwd->win_scale = NO_SCALE;
}

/* every packet of one conversation (batch rows start..end) */
static void analyse_conversation(Batch *b, Flow *flows, Py_ssize_t start, Py_ssize_t end,
                                 int reused, Bases *bs, int64_t *irtt_out, int64_t *irtt_row_out)
{
    flow_reset(&flows[0]);
    flow_reset(&flows[1]);
    int64_t mru_syn = 0, irtt = 0, irtt_row = -1;
    int has_irtt = 0;
    for (Py_ssize_t i = start; i < end; i++) {
        int lane = b->lane[i] ? 1 : 0;
        Flow *fwd = &flows[lane], *rev = &flows[1 - lane];
        int64_t ts = b->ts[i];
        uint32_t seq = b->seq[i], ack = b->ack[i];
        unsigned tf = b->flags[i];
        unsigned f = (i == start && reused) ? F_REUSED_PORTS : 0;
        int record = f != 0;
        b->acked[i] = -1;
        b->dup_num[i] = 0;
        b->dup_of[i] = -1;
        b->bif[i] = 0;
        if ((tf & (TH_SYN | TH_ACK)) == TH_SYN && fwd->base_set) {
            if (seq != fwd->base) { /* Wireshark starts a new conversation here */
                flow_reset(&flows[0]);
                flow_reset(&flows[1]);
                base_event(b, bs, i, 1 - lane, -1);
                mru_syn = 0;
                has_irtt = 0;
                f |= F_REUSED_PORTS;
            } else { /* a repeated SYN: back to where the contiguous stream was */
                fwd->nextseq = fwd->maxseqtobeacked;
            }
            record = 1;
        }
        if ((tf & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK) && fwd->base_set && seq != fwd->base) {
            fwd->base = seq; /* a SYN-ACK with a sequence number the server never used */
            fwd->span_ok = 0;
            base_event(b, bs, i, lane, seq);
            f |= F_REUSED_PORTS;
            record = 1;
        }
        fwd->sack = 0;
        fwd->sack_count = 0;
        if (b->seglen[i] >= 0) {
            if (!fwd->base_set)
                base_event(b, bs, i, lane, (tf & TH_SYN) ? seq : (uint32_t)(seq - 1));
            if (!rev->base_set && (tf & TH_ACK))
                base_event(b, bs, i, 1 - lane, (uint32_t)(ack - 1));
            f = analyse_packet(b, i, fwd, rev, f, &record, has_irtt, irtt);
        }
        /* after the sequence analysis: the handshake's times and window-scale bookkeeping */
        if (tf & TH_SYN) {
            if (!(tf & TH_ACK))
                mru_syn = ts;
            fwd->is_first_ack = 1;
        }
        if ((tf & (TH_SYN | TH_ACK)) == TH_ACK && mru_syn != 0 && !has_irtt && ts != mru_syn) {
            irtt = ts - mru_syn;
            has_irtt = 1;
            irtt_row = i;
        }
        if ((tf & (TH_SYN | TH_ACK)) == TH_ACK)
            fwd->is_first_ack = 0;
        if (b->wscale[i] >= 0)
            fwd->win_scale = b->wscale[i];
        if (b->sack_count[i]) {
            fwd->sack = b->sack[i];
            fwd->sack_count = b->sack_count[i];
        }
        b->out_flags[i] = (uint16_t)(f | (record ? F_HAS_RECORD : 0));
        if (tf & TH_SYN)
            verify_window_scaling((tf & TH_ACK) != 0, fwd, rev);
    }
    *irtt_out = has_irtt ? irtt : NO_IRTT;
    *irtt_row_out = has_irtt ? irtt_row : -1;
}

static int column(Py_buffer *b, Py_ssize_t n, Py_ssize_t itemsize, const char *what)
{
    if (b->len != n * itemsize) {
        PyErr_Format(PyExc_ValueError, "%s: expected %zd items of %zd bytes", what, n, itemsize);
        return 0;
    }
    return 1;
}

#define N_IN 12
#define N_OUT 8

/* analyse(ts, lane, seq, ack, flags, win, seglen, wscale, sack, sack_count, bounds, reused,
 *         flags_out, acked, dup_num, dup_of, bytes_in_flight, base, irtt_ns, irtt_row)
 *     -> bytes: the base changes, int64 quads (row, conversation, lane, base or -1)
 * Rows are grouped by conversation: conversation k is rows bounds[k]:bounds[k+1]. Row numbers
 * in the outputs (acked, dup_of, irtt_row, changes) are batch rows, -1 for none. */
static PyObject *analyse(PyObject *module, PyObject *args)
{
    (void)module;
    Py_buffer in[N_IN], out[N_OUT];
    PyObject *result = NULL;
    memset(in, 0, sizeof(in));
    memset(out, 0, sizeof(out));
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*y*y*y*y*y*y*w*w*w*w*w*w*w*w*", &in[0], &in[1],
                          &in[2], &in[3], &in[4], &in[5], &in[6], &in[7], &in[8], &in[9],
                          &in[10], &in[11], &out[0], &out[1], &out[2], &out[3], &out[4],
                          &out[5], &out[6], &out[7]))
        return NULL;
    Py_ssize_t n = in[0].len / (Py_ssize_t)sizeof(int64_t);
    Py_ssize_t nconv = in[10].len / (Py_ssize_t)sizeof(int64_t) - 1;
    if (nconv < 0) {
        PyErr_SetString(PyExc_ValueError, "bounds: at least one item expected");
        goto done;
    }
    static const Py_ssize_t in_size[N_IN] = {8, 1, 4, 4, 2, 2, 8, 1, 4, 1, 8, 1};
    static const char *in_name[N_IN] = {"ts", "lane", "seq", "ack", "flags", "win", "seglen",
                                        "wscale", "sack", "sack_count", "bounds", "reused"};
    static const Py_ssize_t out_size[N_OUT] = {2, 8, 8, 8, 8, 16, 8, 8};
    static const char *out_name[N_OUT] = {"flags_out", "acked", "dup_num", "dup_of",
                                          "bytes_in_flight", "base", "irtt_ns", "irtt_row"};
    for (int k = 0; k < N_IN; k++) {
        Py_ssize_t items = k == 10 ? nconv + 1 : k == 11 ? nconv : n;
        if (!column(&in[k], items, in_size[k], in_name[k]))
            goto done;
    }
    for (int k = 0; k < N_OUT; k++)
        if (!column(&out[k], k >= 5 ? nconv : n, out_size[k], out_name[k]))
            goto done;
    const int64_t *bounds = in[10].buf;
    const uint8_t *reused = in[11].buf;
    for (Py_ssize_t k = 0; k < nconv; k++)
        if (bounds[k] < 0 || bounds[k] > bounds[k + 1] || bounds[k + 1] > n) {
            PyErr_SetString(PyExc_ValueError, "bounds: not a grouping of the rows");
            goto done;
        }
    if (nconv && bounds[0] != 0) {
        PyErr_SetString(PyExc_ValueError, "bounds: not a grouping of the rows");
        goto done;
    }
    Batch b = {
        .ts = in[0].buf, .lane = in[1].buf, .seq = in[2].buf, .ack = in[3].buf,
        .flags = in[4].buf, .win = in[5].buf, .seglen = in[6].buf, .wscale = in[7].buf,
        .sack = in[8].buf, .sack_count = in[9].buf,
        .out_flags = out[0].buf, .acked = out[1].buf, .dup_num = out[2].buf,
        .dup_of = out[3].buf, .bif = out[4].buf,
    };
    int64_t *base = out[5].buf, *irtt = out[6].buf, *irtt_row = out[7].buf;
    Flow flows[2];
    memset(flows, 0, sizeof(flows));
    flows[0].segs = malloc(MAX_UNACKED * sizeof(Segment));
    flows[1].segs = malloc(MAX_UNACKED * sizeof(Segment));
    if (!flows[0].segs || !flows[1].segs) {
        free(flows[0].segs);
        free(flows[1].segs);
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t k = 0; k < nconv && !b.failed; k++) {
        Bases bs = {.base = {-1, -1}, .changed = {0, 0}, .conv = k};
        analyse_conversation(&b, flows, bounds[k], bounds[k + 1], reused[k] != 0, &bs, &irtt[k],
                             &irtt_row[k]);
        base[2 * k] = bs.base[0];
        base[2 * k + 1] = bs.base[1];
    }
    Py_END_ALLOW_THREADS
    free(flows[0].segs);
    free(flows[1].segs);
    if (b.failed)
        PyErr_NoMemory();
    else
        result = PyBytes_FromStringAndSize((const char *)b.changes,
                                           b.nchanges * 4 * (Py_ssize_t)sizeof(int64_t));
    free(b.changes);
done:
    for (int k = 0; k < N_IN; k++)
        if (in[k].obj)
            PyBuffer_Release(&in[k]);
    for (int k = 0; k < N_OUT; k++)
        if (out[k].obj)
            PyBuffer_Release(&out[k]);
    return result;
}

static PyMethodDef methods[] = {
    {"analyse", analyse, METH_VARARGS,
     "analyse(ts, lane, seq, ack, flags, win, seglen, wscale, sack, sack_count, bounds, reused,"
     " flags_out, acked, dup_num, dup_of, bytes_in_flight, base, irtt_ns, irtt_row) -> bytes\n"
     "Wireshark's TCP sequence analysis of a batch of conversations (see expert_exact.py)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_expert",
    "Wireshark's TCP sequence analysis, compiled (engine/tcp/expert_exact.py's rules).", -1,
    methods,
};

PyMODINIT_FUNC PyInit__expert(void) { return PyModule_Create(&module); }
